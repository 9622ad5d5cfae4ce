"""Associative recall (spec §5.1): bind n keys to n values, fill, then query one key.

Vocabulary (V = 64): 0 PAD, 1 BOS, 2 SEP, 3 QUERY, 4 ANSWER, 5-12 keys, 13-20 values,
21-30 filler. One example is T + 1 tokens; the model reads the first T and is scored only on
the last target (the value bound to the queried key), predicted at the ANSWER position.
"""
import torch

from repro.settings import TrainSettings
from repro.tasks import final_token, streams

VOCAB_SIZE = 64
PAD, BOS, SEP, QUERY, ANSWER = 0, 1, 2, 3, 4
KEYS = torch.arange(5, 13)
VALUES = torch.arange(13, 21)
FILLER_LOW, FILLER_HIGH = 21, 31  # filler ids are drawn from [21, 31)
MAX_PAIRS = len(KEYS)


def min_seq_len(pairs: int) -> int:
    """Shortest input length that holds n pairs, the query and the answer position."""
    return 1 + 3 * pairs + 3


def recall_example(pairs: int, seq_len: int, generator: torch.Generator) -> list:
    """One sequence of seq_len + 1 token ids. RNG order (spec §5.1): key permutation, value
    permutation, query index, filler draws."""
    if not 1 <= pairs <= MAX_PAIRS:
        raise ValueError(f"pairs={pairs}: must be in 1..{MAX_PAIRS}")
    if seq_len < min_seq_len(pairs):
        raise ValueError(f"seq_len={seq_len} is too short for {pairs} pairs (minimum {min_seq_len(pairs)})")
    keys = KEYS[torch.randperm(MAX_PAIRS, generator=generator)[:pairs]].tolist()
    values = VALUES[torch.randperm(MAX_PAIRS, generator=generator)[:pairs]].tolist()
    query = int(torch.randint(0, pairs, (1,), generator=generator))
    filler = torch.randint(FILLER_LOW, FILLER_HIGH, (seq_len - min_seq_len(pairs),), generator=generator).tolist()
    triples = [token for key, value in zip(keys, values) for token in (key, value, SEP)]
    return [BOS, *triples, *filler, QUERY, keys[query], ANSWER, values[query]]


def recall_batch(batch_size: int, pairs: int, seq_len: int, generator: torch.Generator):
    """(inputs, targets): inputs (B, T); targets (B,) = the answer for the last position."""
    sequences = torch.tensor([recall_example(pairs, seq_len, generator) for _ in range(batch_size)])
    return sequences[:, :-1], sequences[:, -1]


PAD_ID = PAD
DEFECTS: tuple = ()  # defects of spec §8 that `mode` switches in this task: none
MODEL_KWARGS: dict = {}  # next-token models over the task vocabulary


def training_batches(settings: TrainSettings, data: dict) -> tuple:
    """The run's batches, in order, from a generator seeded by the run seed (spec §1.3)."""
    return streams.drawn(recall_batch, settings.steps, settings.seed, settings.batch_size, settings.pairs,
                         settings.seq_len)


def recipe_problems(recipe: dict, data: dict):
    """(key, problem) of each setting of a recall recipe this task cannot generate."""
    for key, pairs in [("pairs", recipe["pairs"]), *((f"eval.sets.{i}.pairs", s["pairs"]) for i, s in enumerate(recipe["eval"]["sets"]))]:
        if not 1 <= pairs <= MAX_PAIRS:
            yield key, f"{pairs}; valid: 1..{MAX_PAIRS} (the task has {MAX_PAIRS} keys)"
        elif recipe["seq_len"] < min_seq_len(pairs):
            yield "seq_len", f"{recipe['seq_len']} cannot hold {pairs} pairs; valid: at least {min_seq_len(pairs)}"
    if problem := streams.shared_seeds(recipe["seeds"], [s["seed"] for s in recipe["eval"]["sets"]]):
        yield "seeds", problem


curriculum = final_token.curriculum(training_batches)  # only the final position is scored


def evaluate(model, settings: TrainSettings, data: dict, device: torch.device, acceleration) -> dict:
    """Per evaluation set (pair count n, data seed): final-token loss and accuracy over
    batches x batch_size sequences. The plain keys hold the set of the training pair count.
    Returns (metrics, a description of the evaluation data with its hashes)."""
    spec, metrics, hashes = settings.eval, {}, {}
    for eval_set in spec["sets"]:
        n = eval_set["pairs"]
        batches = streams.drawn(recall_batch, spec["batches"], eval_set["seed"], spec["batch_size"], n, settings.seq_len)
        found = final_token.score(model, batches, device, acceleration.cuda_graphs)
        hashes[f"eval_{n}pairs_seed{eval_set['seed']}_sha256"] = found.sha256
        metrics[f"eval_loss_{n}pairs"] = found.loss
        metrics[f"acc_{n}pairs_pct"] = found.accuracy_pct
    if f"acc_{settings.pairs}pairs_pct" in metrics:
        metrics["eval_loss"] = metrics[f"eval_loss_{settings.pairs}pairs"]
        metrics["accuracy_pct"] = metrics[f"acc_{settings.pairs}pairs_pct"]
    return metrics, {"source": "synthetic (repro.tasks.recall), training stream seeded by the run seed", **hashes}
