"""Signal-vs-noise interference: OUR definition, an approximate re-creation, not the paper's task.

The paper's task (Sec. 5.6) is not public (spec §5.3); only its numbers are known, and its eval
losses ≈ ln 16 suggest 16-way answers at sequence length 64. This task asks whether a memory keeps
a marked signal while the same keys are rewritten with distractors, so that "remember the latest
value of each key" fails and the write marker must decide what is stored.

Vocabulary (V = 30): 0 PAD (unused in sequences), 1 BOS, 2 SIGNAL, 3 NOISE, 4 QUERY, 5 ANSWER,
6-13 keys (8), 14-29 values (16).

One example, input length T (T ≡ 1 mod 3; 64 in the pilot), W = (T - 4) / 3 writes (20 at T = 64),
S = 4 signal keys; full sequence T + 1 tokens:

1. Signal keys k_1 ... k_S: the first S of a random permutation of the 8 key ids (distinct).
2. Signal values v_1 ... v_S: i.i.d. uniform over the 16 value ids (repeats allowed, so the answer
   is uniform over all 16 and never follows by elimination).
3. Query index q uniform in {1 ... S}.
4. Write order: writes 1 ... W-1 hold the S signal writes (SIGNAL, k_j, v_j) at the positions of a
   random permutation, the other W-1-S are noise writes; write W is a noise write to k_q. Noise
   writes are (NOISE, key, value) with the key i.i.d. uniform over the S signal keys (write W: k_q)
   and the value i.i.d. uniform over the 16 value ids. So every key is rewritten by noise, and the
   most recent write to the queried key is always noise.
5. Sequence = [BOS] + the W writes, 3 tokens each + [QUERY, k_q, ANSWER] + [v_q]. Input = the
   first T tokens; only the last target, v_q (predicted at the ANSWER position), is scored.

RNG order (one torch.Generator, examples one after another): key permutation, signal values, query
index, write-order permutation, noise keys (writes 1 ... W-1), noise values (all W - S noise writes,
in write order).

Reference levels: chance 1/16 = 6.25%; "last value written to the queried key" scores chance
(that value is independent noise); "the value of the SIGNAL write to the queried key" scores 100%.
"""
import torch

from repro.settings import TrainSettings
from repro.tasks import final_token, streams

VOCAB_SIZE = 30
PAD, BOS, SIGNAL, NOISE, QUERY, ANSWER = 0, 1, 2, 3, 4, 5
KEYS = torch.arange(6, 14)
VALUES = torch.arange(14, 30)
SIGNALS = 4  # S


LENGTH_RULE = f"seq_len = 4 + 3W with W ≥ {SIGNALS + 1} writes"


def n_writes(seq_len: int) -> int:
    writes, rest = divmod(seq_len - 4, 3)
    if rest or writes < SIGNALS + 1:
        raise ValueError(f"seq_len={seq_len}: need {LENGTH_RULE}")
    return writes


def signal_noise_example(seq_len: int, generator: torch.Generator) -> torch.Tensor:
    """One sequence of seq_len + 1 tokens (module docstring)."""
    W = n_writes(seq_len)
    keys = KEYS[torch.randperm(len(KEYS), generator=generator)[:SIGNALS]]
    values = VALUES[torch.randint(0, len(VALUES), (SIGNALS,), generator=generator)]
    query = int(torch.randint(0, SIGNALS, (1,), generator=generator))
    is_signal = torch.zeros(W, dtype=torch.bool)
    is_signal[torch.randperm(W - 1, generator=generator)[:SIGNALS]] = True
    noise_keys = keys[torch.randint(0, SIGNALS, (W - 1 - SIGNALS,), generator=generator)]
    noise_values = VALUES[torch.randint(0, len(VALUES), (W - SIGNALS,), generator=generator)]

    markers = torch.where(is_signal, SIGNAL, NOISE)
    write_keys = torch.empty(W, dtype=torch.long)
    write_values = torch.empty(W, dtype=torch.long)
    write_keys[is_signal], write_values[is_signal] = keys, values
    write_keys[~is_signal] = torch.cat([noise_keys, keys[query:query + 1]])
    write_values[~is_signal] = noise_values
    return torch.cat([
        torch.tensor([BOS]), torch.stack([markers, write_keys, write_values], 1).flatten(),
        torch.tensor([QUERY, int(keys[query]), ANSWER, int(values[query])]),
    ])


def signal_noise_batch(batch_size: int, seq_len: int, generator: torch.Generator):
    """(inputs, answers): inputs (B, T); answers (B,) = the target of the last position."""
    sequences = torch.stack([signal_noise_example(seq_len, generator) for _ in range(batch_size)])
    return sequences[:, :-1], sequences[:, -1]


PAD_ID = PAD
DEFECTS: tuple = ()  # defects of spec §8 that `mode` switches in this task: none
MODEL_KWARGS: dict = {}  # next-token models over the task vocabulary


def training_batches(settings: TrainSettings, data: dict) -> tuple:
    """The run's batches, in order, from a generator seeded by the run seed (spec §1.3)."""
    return streams.drawn(signal_noise_batch, settings.steps, settings.seed, settings.batch_size, settings.seq_len)


def recipe_problems(recipe: dict, data: dict):
    """(key, problem) of each setting of a recipe this task cannot generate."""
    try:
        n_writes(recipe["seq_len"])
    except ValueError:
        yield "seq_len", f"{recipe['seq_len']}; valid: {LENGTH_RULE}"
    if problem := streams.shared_seeds(recipe["seeds"], [s["seed"] for s in recipe["eval"]["sets"]]):
        yield "seeds", problem


curriculum = final_token.curriculum(training_batches)  # only the final position is scored


def evaluate(model, settings: TrainSettings, data: dict, device: torch.device, acceleration) -> dict:
    """settings.eval = {"batch_size", "batches", "sets": [{"seed": ...}, ...]}: per set (its own
    data seed) final-token loss and accuracy over batches × batch_size sequences; the
    signal_noise_* keys pool all sets. Returns (metrics, a description of the evaluation data with its hashes)."""
    spec, metrics, hashes = settings.eval, {}, {}
    for eval_set in spec["sets"]:
        batches = streams.drawn(signal_noise_batch, spec["batches"], eval_set["seed"], spec["batch_size"], settings.seq_len)
        found = final_token.score(model, batches, device, acceleration.cuda_graphs)
        seed = eval_set["seed"]
        hashes[f"eval_seed{seed}_sha256"] = found.sha256
        metrics[f"eval_loss_seed{seed}"] = found.loss
        metrics[f"acc_seed{seed}_pct"] = found.accuracy_pct
    sets = [eval_set["seed"] for eval_set in spec["sets"]]  # equal-sized sets: the pooled mean is the mean
    # named apart from recall's eval_loss / accuracy_pct, so both can stand in one table row
    metrics["signal_noise_eval_loss"] = sum(metrics[f"eval_loss_seed{seed}"] for seed in sets) / len(sets)
    metrics["signal_noise_accuracy_pct"] = sum(metrics[f"acc_seed{seed}_pct"] for seed in sets) / len(sets)
    return metrics, {"source": "synthetic (repro.tasks.signal_noise, our definition), training stream seeded by the run seed", **hashes}
