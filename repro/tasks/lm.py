"""Byte-level language modelling on WikiText-2 (spec §2.2, §2.3)."""
import hashlib
import math

import torch
import torch.nn.functional as F

from repro.cuda_graph import replayed_forward
from repro.curriculum import SinglePhase
from repro.data.wikitext import PAD_ID, VOCAB_SIZE  # noqa: F401  (part of the task interface)
from repro.device import transfer
from repro.settings import TrainSettings

DEFECTS: tuple = ()  # defects of spec §8 that `mode` switches in this task: none
MODEL_KWARGS: dict = {}  # a language model needs nothing beyond the vocabulary


def training_batches(settings: TrainSettings, data: dict):
    """The run's batches, in order, from a generator seeded by the run seed (spec §1.3): each B
    independent windows of T + 1 tokens, starts uniform in {0 .. N - T - 2} (spec §2.2)."""
    stream, length = data["train"], settings.seq_len
    generator = torch.Generator().manual_seed(settings.seed)
    for _ in range(settings.steps):
        starts = torch.randint(0, stream.numel() - length - 1, (settings.batch_size,), generator=generator)
        windows = stream[starts[:, None] + torch.arange(length + 1)]
        yield windows[:, :-1], windows[:, 1:]


def recipe_problems(recipe: dict, data: dict):
    """(key, problem) of each setting of an LM recipe the task or the data cannot meet; data holds
    the token counts of the prepared streams where they are known before training."""
    spec = recipe["eval"]
    if spec["compare_batches"] not in spec["batches"]:
        yield "eval.compare_batches", f"{spec['compare_batches']} is not one of the recorded counts {spec['batches']}"
    if "valid" in data:
        chunks = (data["valid"] - 1) // recipe["seq_len"]
        if max(spec["batches"]) * spec["batch_size"] > chunks:
            yield "eval.batches", (f"{max(spec['batches'])} batches of {spec['batch_size']} need "
                                   f"{max(spec['batches']) * spec['batch_size']} chunks of {recipe['seq_len']} tokens; "
                                   f"the validation stream has {chunks}; valid: at most {chunks // spec['batch_size']} batches")
    if "train" in data and recipe["seq_len"] + 2 > data["train"]:
        yield "seq_len", f"{recipe['seq_len']}; valid: below the training stream's {data['train'] - 1} tokens"


def curriculum(model, settings: TrainSettings, data: dict, device, acceleration) -> SinglePhase:
    return SinglePhase(model, training_batches, loss, settings, data)


def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


def validation_chunks(stream: torch.Tensor, seq_len: int):
    """Consecutive non-overlapping (input, target) chunks of the validation stream (spec §2.3)."""
    usable = (stream.numel() - 1) // seq_len * seq_len
    return stream[:usable].view(-1, seq_len), stream[1:usable + 1].view(-1, seq_len)


def halting_step_sums(inputs: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """ACT's steps N (B, T) where the input byte is a space (the next word's first byte is predicted:
    hard) and where it is a letter (the word goes on: easy, Graves 2016): [Σ N, count] of each (4,)."""
    letter = ((inputs >= ord("A")) & (inputs <= ord("Z"))) | ((inputs >= ord("a")) & (inputs <= ord("z")))
    space = inputs == ord(" ")
    return torch.stack([(steps * space).sum(), space.sum(), (steps * letter).sum(), letter.sum()]).double()


@torch.no_grad()
def evaluate(model, settings: TrainSettings, data: dict, device: torch.device, acceleration) -> dict:
    """One pass over the first max(batches) validation batches; loss (nats), BPB and PPL after
    each recorded count. The plain keys hold the count the paper compared at (D7). A model that
    halts each position by ACT (its `halting`, models/universal_transformer.py) also gets the mean
    steps after a space and after a letter, over every batch, and their difference.
    Returns (metrics, a description of the evaluation data with its hash)."""
    spec = settings.eval
    inputs, targets = validation_chunks(data["valid"], settings.seq_len)
    batch_size, counts = spec["batch_size"], sorted(spec["batches"])
    if counts[-1] * batch_size > inputs.size(0):
        raise ValueError(f"eval.batches={counts[-1]} needs {counts[-1] * batch_size} chunks; the validation stream has {inputs.size(0)}")
    model.eval()
    forward = replayed_forward(model, acceleration.cuda_graphs)
    # Summed on the device (float64, in batch order), read at each recorded count only.
    total, n_targets, metrics = torch.zeros((), dtype=torch.float64, device=device), 0, {}
    halting_sums = torch.zeros(4, dtype=torch.float64, device=device)
    for batch in range(counts[-1]):
        rows = slice(batch * batch_size, (batch + 1) * batch_size)
        batch_inputs = transfer(inputs[rows], device)
        logits = forward(batch_inputs)
        if getattr(model, "halting", None) is not None:
            halting_sums += halting_step_sums(batch_inputs, model.halting.steps)
        total += F.cross_entropy(logits.reshape(-1, logits.size(-1)).double(), transfer(targets[rows].reshape(-1), device), reduction="sum")
        n_targets += targets[rows].numel()
        if batch + 1 in counts:
            mean = total.item() / n_targets
            metrics.update({f"val_loss_{batch + 1}batches": mean, f"val_bpb_{batch + 1}batches": mean / math.log(2),
                            f"val_ppl_{batch + 1}batches": math.exp(mean)})
    for name in ("val_loss", "val_bpb", "val_ppl"):
        metrics[name] = metrics[f"{name}_{spec['compare_batches']}batches"]
    if halting_sums.any():
        word_start, in_word = (halting_sums[0] / halting_sums[1]).item(), (halting_sums[2] / halting_sums[3]).item()
        metrics.update({"act_steps_word_start": word_start, "act_steps_in_word": in_word,
                        "act_extra_steps_word_start": word_start - in_word})
    scored = targets[:counts[-1] * batch_size]
    return metrics, {"valid_targets_scored": scored.numel(),
                     "valid_targets_sha256": hashlib.sha256(scored.to(torch.int16).numpy().tobytes()).hexdigest()}
