"""Depth diagnostics of a shared-depth model, after MeSH's diagnosis of recursive Transformers
(skewed computation, representational stagnation, loop representational collapse): for the token
states h_0 (the shared block's first input) and h_1 … h_K (its output at each depth step) on
validation windows of a trained byte LM, per step l,

- relative_update: ‖h_l − h_{l−1}‖ / ‖h_{l−1}‖ per token, averaged over tokens;
- cosine: the cosine similarity of h_l and h_{l−1} per token, averaged over tokens;
- effective_rank: exp of the entropy of the normalised singular values of the (tokens × d) matrix
  of h_l (Roy & Vetterli, 2007), the number of directions the token states spread over.

A step that barely moves the states (update → 0, cosine → 1) is stagnation; a falling effective
rank is collapse. A model with Adaptive Computation Time adds, per step l, halted_pct: the share of
token positions (%) that halt at step l, the distribution of its halting steps over positions. The states are read with a hook on the model's shared block, so a model is
measured as it computes, with nothing added to its forward.

    python -m repro.depth.measure --checkpoint results/runs/lm/unimatrix_core/faithful/seed7/model.pt \
        --data valid=data/wikitext2/valid_stream.pt --windows 16 --out depth.json
"""
import argparse

import torch

from repro import device as devices
from repro.artifacts import load_data, write_json_atomically
from repro.evaluate import load_checkpoint, trained_model
from repro.provenance import code_version, library_versions
from repro.config import parse_run
from repro.settings import TrainSettings
from repro.tasks.lm import validation_chunks

METRICS = ("relative_update", "cosine", "effective_rank")
HALTING = "halted_pct"  # ACT models only


def states_per_step(model: torch.nn.Module, idx: torch.Tensor) -> list[torch.Tensor]:
    """[h_0, h_1, …, h_K], each (B, T, d): the shared block's first input, then its output at each
    step (the first element where the block returns a tuple, as UniMatrix's carries its state)."""
    if not isinstance(getattr(model, "block", None), torch.nn.Module):
        raise ValueError(f"{type(model).__name__} has no shared block (`block`) applied at every depth step")
    states = []

    def record(module, args, output):
        if not states:
            states.append(args[0].detach())
        states.append((output[0] if isinstance(output, tuple) else output).detach())

    handle = model.block.register_forward_hook(record)
    try:
        with torch.no_grad():
            model(idx)
    finally:
        handle.remove()
    return states


def relative_update(before: torch.Tensor, after: torch.Tensor) -> float:
    return ((after - before).norm(dim=-1) / before.norm(dim=-1)).mean().item()


def cosine(before: torch.Tensor, after: torch.Tensor) -> float:
    return torch.nn.functional.cosine_similarity(after, before, dim=-1).mean().item()


def effective_rank(states: torch.Tensor) -> float:
    """Of the (tokens × d) matrix of `states` (any leading shape); float64 for the SVD's sake."""
    singular = torch.linalg.svdvals(states.reshape(-1, states.size(-1)).double())
    p = singular / singular.sum()
    p = p[p > 0]
    return torch.exp(-(p * p.log()).sum()).item()


def halted_shares(steps: torch.Tensor, max_steps: int) -> list[float]:
    """Of the halting steps N (any shape, values 1 … max_steps): the % of positions halting at each step."""
    counts = torch.bincount(steps.reshape(-1).long(), minlength=max_steps + 1)[1:]
    return (100 * counts.double() / steps.numel()).tolist()


def diagnose(states: list[torch.Tensor], halting_steps: torch.Tensor | None = None) -> list[dict]:
    """One row per depth step 1 … K; with the halting steps N (B, T) of an ACT model, each row's halted_pct."""
    rows = [{"step": step, "relative_update": relative_update(before, after), "cosine": cosine(before, after),
             "effective_rank": effective_rank(after)}
            for step, (before, after) in enumerate(zip(states, states[1:]), start=1)]
    if halting_steps is not None:
        for row, share in zip(rows, halted_shares(halting_steps, len(rows))):
            row[HALTING] = share
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a trained byte LM's model.pt")
    parser.add_argument("--trained-with", help="settings hash the checkpoint must have been trained with (refuses a stale one)")
    parser.add_argument("--run", type=parse_run, help="the run the results belong to (default: the checkpoint's own)")
    parser.add_argument("--data", action="append", required=True, metavar="valid=PATH", help="the validation stream")
    parser.add_argument("--windows", type=int, required=True, help="the first N validation windows of the model's length")
    parser.add_argument("--out", required=True, help="the JSON to write")
    args = parser.parse_args(argv)
    if args.windows < 1:
        parser.error(f"--windows {args.windows}: must be at least 1")
    checkpoint = load_checkpoint(args.checkpoint, args.trained_with)
    trained = TrainSettings.from_dict(checkpoint["settings"])
    run = args.run or parse_run(trained.run)
    model, device, _ = trained_model(checkpoint, trained)
    inputs, _ = validation_chunks(load_data(args.data)["valid"], trained.seq_len)
    if args.windows > inputs.size(0):
        parser.error(f"--windows {args.windows}: the validation stream has {inputs.size(0)} windows of {trained.seq_len}")
    try:
        states = states_per_step(model.eval(), inputs[:args.windows].to(device))
        halting = getattr(model, "halting", None)  # the Halting record of that pass, with ACT
        rows = diagnose(states, halting.steps if halting is not None else None)
    except ValueError as error:
        parser.error(str(error))
    write_json_atomically({
        "experiment": run.experiment, "variant": run.variant, "mode": run.mode, "seed": run.seed,
        "trained_as": trained.run, "windows": args.windows, "steps": rows,
        "provenance": {"code_version": code_version(), "library_versions": library_versions(),
                       "device": devices.describe(device)},
    }, args.out)
    for row in rows:
        print(", ".join(f"{key} {value:.4g}" for key, value in row.items()))


if __name__ == "__main__":
    main()
