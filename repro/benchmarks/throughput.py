"""Forward-pass throughput of one untrained model in one recurrence form (spec §5.5, R-TP): eval
mode, no gradients, per sequence length T a fixed batch of random byte ids, warm-up passes, then
timed passes between device synchronisations. Per sweep the position table is as long as its
longest length (P = 512 at the paper's lengths). One row per (sweep, T).

On CUDA the fast forms are also timed as a replayed CUDA graph of the same forward (same kernels,
no Python launch cost: repro/cuda_graph.py): columns *_graph, with the largest difference
between the replayed and the eager output as a check; empty elsewhere, or where capture fails.

Run by repro/benchmarks/run.py, with the variant's other measurements.
"""
import math

import torch

from models import count_params
from repro.benchmarks import harness
from repro.cuda_graph import capture_forward

PROTOCOL = ("forward only, eval mode, no grad; batch rows of uniform random ids; warmup passes, sync, "
            "repeats timed passes, sync; tokens/s = batch*T*repeats/seconds; memory on CUDA only")
NO_GRAPH = {"ms_per_iter_graph": math.nan, "graph_max_abs_diff": math.nan}


def measure(settings: dict) -> tuple[torch.device, list]:
    device, acceleration = harness.setup(settings)
    rows = []
    for sweep in settings["sweeps"]:
        longest = max(sweep["lengths"])
        model = harness.build(settings, longest, device, acceleration).eval()
        for T in sweep["lengths"]:
            x = harness.random_ids(settings["batch"], T, settings["seed"]).to(device)
            with torch.no_grad():
                seconds, memory = harness.timed(lambda: model(x), device, sweep["warmup"], sweep["repeats"])
                graph = graph_timing(model, x, sweep) if device.type == "cuda" and settings["form"] == "fast" else NO_GRAPH
            rows.append(harness.row(
                settings, device, PROTOCOL, sweep=sweep["sweep"], seq_len=T, batch=settings["batch"], max_seq_len=longest,
                warmup=sweep["warmup"], repeats=sweep["repeats"], seed=settings["seed"], params=count_params(model),
                seconds=seconds, ms_per_iter=1000 * seconds / sweep["repeats"],
                tokens_per_s=settings["batch"] * T * sweep["repeats"] / seconds, **memory, **graph,
                tokens_per_s_graph=settings["batch"] * T * 1000 / graph["ms_per_iter_graph"]))
    return device, rows


def graph_timing(model, x, sweep) -> dict:
    """The forward replayed as a CUDA graph: ms per replay, and the largest absolute difference of
    its output from the eager one. NaN where the forward cannot be captured."""
    try:
        replay = capture_forward(model, x)
    except RuntimeError:
        return NO_GRAPH
    logits = lambda output: output[0] if isinstance(output, tuple) else output  # a classifier returns (logits, representation)
    difference = (logits(replay()) - logits(model(x))).abs().max().item()
    seconds, _ = harness.timed(replay, x.device, sweep["warmup"], sweep["repeats"])
    return {"ms_per_iter_graph": 1000 * seconds / sweep["repeats"], "graph_max_abs_diff": difference}
