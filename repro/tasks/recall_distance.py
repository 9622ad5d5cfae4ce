"""Associative recall over distance: OUR extension, not the paper's task. Spec §5.1's recall at
growing sequence lengths T, with the pairs spread over the sequence, so that accuracy can be read
by how far the queried pair lies behind its query.

Vocabulary (V = 143): recall's specials (0 PAD, 1 BOS, 2 SEP, 3 QUERY, 4 ANSWER), 5-68 keys (64),
69-132 values (64), 133-142 filler (10). The recipe's `tokens_per_pair` sets the pair count at
length T: n = T / tokens_per_pair (4 pairs at T = 128 with 32 tokens per pair, doubling with T).

One example, input length T; full sequence T + 1 tokens:

1. Keys k_1 ... k_n and values v_1 ... v_n: the first n of a random permutation of the 64 key
   ids and of the 64 value ids (distinct, so the answer never follows by elimination from few ids).
2. Query index q uniform in {1 ... n}.
3. Body, T - 4 tokens: the n triples (k_i, v_i, SEP), in order, and F = T - 4 - 3n filler tokens,
   interleaved uniformly at random (of the n + F items, the triples take the places that the first n
   entries of a random permutation name), so filler lies between pairs and a pair may sit anywhere.
4. Sequence = [BOS] + body + [QUERY, k_q, ANSWER] + [v_q]. Input = the first T tokens; only the
   last target, v_q (predicted at the ANSWER position), is scored.

Distance of an example = position of QUERY - position of k_q: from 3 (the queried triple ends the
body) to T - 4 (it opens it). Evaluation reports accuracy per power-of-two bucket [lo, 2 lo) of it.

RNG order (one torch.Generator, examples one after another): key permutation, value permutation,
query index, placement permutation, filler draws.
"""
import torch

from repro.settings import TrainSettings
from repro.tasks import final_token, streams
from repro.tasks.recall import ANSWER, BOS, PAD, QUERY, SEP

KEYS = torch.arange(5, 69)
VALUES = torch.arange(69, 133)
FILLER_LOW, FILLER_HIGH = 133, 143  # filler ids are drawn from [133, 143)
VOCAB_SIZE = FILLER_HIGH
MAX_PAIRS = len(KEYS)
CHANCE_PCT = 100.0 / len(VALUES)  # the accuracy of a guess among the value ids: what a model that reads no pair scores
AROUND_THE_PAIRS = 4  # tokens outside the body: BOS, and QUERY, key, ANSWER at its end


def pairs_at(seq_len: int, tokens_per_pair: int) -> int:
    """The pair count at length T (module docstring)."""
    return seq_len // tokens_per_pair


def recall_distance_example(pairs: int, seq_len: int, generator: torch.Generator) -> tuple:
    """(one sequence of seq_len + 1 token ids, its distance) as the module docstring lays it out."""
    if not 1 <= pairs <= MAX_PAIRS:
        raise ValueError(f"pairs={pairs}: must be in 1..{MAX_PAIRS}")
    fillers = seq_len - AROUND_THE_PAIRS - 3 * pairs
    if fillers < 0:
        raise ValueError(f"seq_len={seq_len} is too short for {pairs} pairs (minimum {AROUND_THE_PAIRS + 3 * pairs})")
    keys = KEYS[torch.randperm(MAX_PAIRS, generator=generator)[:pairs]].tolist()
    values = VALUES[torch.randperm(MAX_PAIRS, generator=generator)[:pairs]].tolist()
    query = int(torch.randint(0, pairs, (1,), generator=generator))
    is_pair = torch.zeros(pairs + fillers, dtype=torch.bool)
    is_pair[torch.randperm(pairs + fillers, generator=generator)[:pairs]] = True
    filler = iter(torch.randint(FILLER_LOW, FILLER_HIGH, (fillers,), generator=generator).tolist())
    triples = iter(zip(keys, values))
    body, queried_at = [], None
    for pair in is_pair.tolist():
        if not pair:
            body.append(next(filler))
            continue
        key, value = next(triples)
        if key == keys[query]:
            queried_at = 1 + len(body)  # after BOS
        body += [key, value, SEP]
    query_at = 1 + len(body)
    return [BOS, *body, QUERY, keys[query], ANSWER, values[query]], query_at - queried_at


def recall_distance_batch(batch_size: int, pairs: int, seq_len: int, generator: torch.Generator):
    """(inputs (B, T), answers (B,), distances (B,))."""
    examples = [recall_distance_example(pairs, seq_len, generator) for _ in range(batch_size)]
    sequences = torch.tensor([sequence for sequence, _ in examples])
    return sequences[:, :-1], sequences[:, -1], torch.tensor([distance for _, distance in examples])


def distance_bucket(distance: int) -> tuple:
    """The power-of-two bucket [lo, 2 lo) that holds a distance (≥ 1)."""
    lo = 1 << (int(distance).bit_length() - 1)
    return lo, 2 * lo


def accuracy_by_distance(distances: torch.Tensor, correct: torch.Tensor) -> dict:
    """{(lo, hi): (examples, accuracy %)} over the buckets that hold an example, in order."""
    buckets = {}
    for distance, hit in zip(distances.tolist(), correct.tolist()):
        examples, hits = buckets.get(distance_bucket(distance), (0, 0))
        buckets[distance_bucket(distance)] = (examples + 1, hits + hit)
    return {bucket: (examples, 100.0 * hits / examples) for bucket, (examples, hits) in sorted(buckets.items())}


PAD_ID = PAD
DEFECTS: tuple = ()  # defects of spec §8 that `mode` switches in this task: none
MODEL_KWARGS: dict = {}  # next-token models over the task vocabulary


def _batches(count: int, seed: int, batch_size: int, pairs: int, seq_len: int) -> tuple:
    return streams.drawn(recall_distance_batch, count, seed, batch_size, pairs, seq_len)


def training_batches(settings: TrainSettings, data: dict) -> tuple:
    """The run's (inputs, answers) batches, in order, from a generator seeded by the run seed (spec §1.3)."""
    return tuple((inputs, answers) for inputs, answers, _ in
                 _batches(settings.steps, settings.seed, settings.batch_size, settings.pairs, settings.seq_len))


def fitting_tokens_per_pair(seq_len: int) -> list:
    """The tokens_per_pair values that give length seq_len a whole number of pairs the task can lay out."""
    return [tokens for tokens in range(1, seq_len + 1) if seq_len % tokens == 0
            and pairs_at(seq_len, tokens) <= MAX_PAIRS and AROUND_THE_PAIRS + 3 * pairs_at(seq_len, tokens) <= seq_len]


def recipe_problems(recipe: dict, data: dict):
    """(key, problem) of each setting of a recipe this task cannot generate."""
    seq_len, tokens = recipe["seq_len"], recipe["tokens_per_pair"]
    pairs = pairs_at(seq_len, tokens)
    if seq_len % tokens:
        reason = "does not divide it"
    elif pairs > MAX_PAIRS:
        reason = f"{pairs} pairs, more than the task's {MAX_PAIRS} keys"
    else:
        reason = f"{pairs} pairs of 3 tokens and {AROUND_THE_PAIRS} tokens around them do not fit"
    if tokens not in fitting_tokens_per_pair(seq_len):
        yield "tokens_per_pair", f"{tokens} at seq_len {seq_len}: {reason}; valid: one of {fitting_tokens_per_pair(seq_len)}"
    if problem := streams.shared_seeds(recipe["seeds"], [recipe["eval"]["seed"]]):
        yield "seeds", problem


curriculum = final_token.curriculum(training_batches)  # only the final position is scored


def evaluate(model, settings: TrainSettings, data: dict, device: torch.device, acceleration) -> dict:
    """settings.eval = {"batch_size", "batches", "seed"}: final-token loss and accuracy over
    batches × batch_size sequences from the data seed, and per distance bucket its examples and
    accuracy. Returns (metrics, a description of the evaluation data with its hashes)."""
    spec = settings.eval
    drawn = _batches(spec["batches"], spec["seed"], spec["batch_size"], settings.pairs, settings.seq_len)
    found = final_token.score(model, [(inputs, answers) for inputs, answers, _ in drawn], device, acceleration.cuda_graphs)
    metrics = {"eval_loss": found.loss, "accuracy_pct": found.accuracy_pct}
    distances = torch.cat([batch_distances for _, _, batch_distances in drawn])
    for (lo, hi), (examples, accuracy) in accuracy_by_distance(distances, found.correct).items():
        metrics[f"examples_dist_{lo}_{hi}"] = examples
        metrics[f"acc_dist_{lo}_{hi}_pct"] = accuracy
    return metrics, {"source": "synthetic (repro.tasks.recall_distance, our extension), training stream seeded by the run seed",
                     f"eval_seed{spec['seed']}_sha256": found.sha256}
