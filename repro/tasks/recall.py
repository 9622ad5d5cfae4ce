"""Associative recall (spec §5.1): bind n keys to n values, fill, then query one key.

Vocabulary (V = 64): 0 PAD, 1 BOS, 2 SEP, 3 QUERY, 4 ANSWER, 5-12 keys, 13-20 values,
21-30 filler. One example is T + 1 tokens; the model reads the first T and is scored only on
the last target (the value bound to the queried key), predicted at the ANSWER position.
"""
import hashlib

import torch
import torch.nn.functional as F

VOCAB_SIZE = 64
PAD, BOS, SEP, QUERY, ANSWER = 0, 1, 2, 3, 4
KEYS = torch.arange(5, 13)
VALUES = torch.arange(13, 21)
FILLER_LOW, FILLER_HIGH = 21, 31  # filler ids are drawn from [21, 31)
MAX_PAIRS = len(KEYS)


def min_seq_len(pairs: int) -> int:
    """Shortest input length that holds n pairs, the query and the answer position."""
    return 1 + 3 * pairs + 3


def recall_example(pairs: int, seq_len: int, generator: torch.Generator) -> torch.Tensor:
    """One sequence of seq_len + 1 tokens. RNG order (spec §5.1): key permutation, value
    permutation, query index, filler draws."""
    if not 1 <= pairs <= MAX_PAIRS:
        raise ValueError(f"pairs={pairs}: must be in 1..{MAX_PAIRS}")
    if seq_len < min_seq_len(pairs):
        raise ValueError(f"seq_len={seq_len} is too short for {pairs} pairs (minimum {min_seq_len(pairs)})")
    keys = KEYS[torch.randperm(MAX_PAIRS, generator=generator)[:pairs]]
    values = VALUES[torch.randperm(MAX_PAIRS, generator=generator)[:pairs]]
    query = int(torch.randint(0, pairs, (1,), generator=generator))
    n_filler = seq_len - min_seq_len(pairs)
    filler = torch.randint(FILLER_LOW, FILLER_HIGH, (n_filler,), generator=generator)
    triples = torch.stack([keys, values, torch.full((pairs,), SEP)], dim=1).flatten()
    return torch.cat([
        torch.tensor([BOS]), triples, filler,
        torch.tensor([QUERY, int(keys[query]), ANSWER, int(values[query])]),
    ])


def recall_batch(batch_size: int, pairs: int, seq_len: int, generator: torch.Generator):
    """(inputs, targets): inputs (B, T); targets (B,) = the answer for the last position."""
    sequences = torch.stack([recall_example(pairs, seq_len, generator) for _ in range(batch_size)])
    return sequences[:, :-1], sequences[:, -1]


PAD_ID = PAD
MODEL_KWARGS: dict = {}  # next-token models over the task vocabulary


def sample_batch(settings: dict, data: dict, generator: torch.Generator):
    return recall_batch(settings["batch_size"], settings["pairs"], settings["seq_len"], generator)


def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Only the final position is scored: the answer predicted at the ANSWER token."""
    return F.cross_entropy(logits[:, -1], targets)


@torch.no_grad()
def evaluate(model, settings: dict, data: dict, device: torch.device) -> dict:
    """Per evaluation set (pair count n, data seed): final-token loss and accuracy over
    batches x batch_size sequences. The plain keys hold the set of the training pair count.
    Returns (metrics, a description of the evaluation data with its hashes)."""
    spec, metrics, hashes = settings["eval"], {}, {}
    model.eval()
    for eval_set in spec["sets"]:
        generator = torch.Generator().manual_seed(eval_set["seed"])
        total_loss, correct, count = 0.0, 0, 0
        digest = hashlib.sha256()
        for _ in range(spec["batches"]):
            inputs, answers = recall_batch(spec["batch_size"], eval_set["pairs"], settings["seq_len"], generator)
            digest.update(torch.cat([inputs, answers[:, None]], 1).numpy().tobytes())
            final_logits = model(inputs.to(device))[:, -1].double()
            answers = answers.to(device)
            total_loss += F.cross_entropy(final_logits, answers, reduction="sum").item()
            correct += int((final_logits.argmax(-1) == answers).sum())
            count += answers.numel()
        n = eval_set["pairs"]
        hashes[f"eval_{n}pairs_seed{eval_set['seed']}_sha256"] = digest.hexdigest()
        metrics[f"eval_loss_{n}pairs"] = total_loss / count
        metrics[f"acc_{n}pairs_pct"] = 100.0 * correct / count
    if f"acc_{settings['pairs']}pairs_pct" in metrics:
        metrics["eval_loss"] = metrics[f"eval_loss_{settings['pairs']}pairs"]
        metrics["accuracy_pct"] = metrics[f"acc_{settings['pairs']}pairs_pct"]
    return metrics, {"source": "synthetic (repro.tasks.recall), training stream seeded by the run seed", **hashes}
