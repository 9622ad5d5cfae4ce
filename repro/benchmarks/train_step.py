"""Time of one training step of one untrained model in one recurrence form: forward in train mode,
cross-entropy against random targets (next-token ids; classes for a sequence classifier) plus the
model's own loss term where it has one (ACT's ponder cost), backward,
global-norm clipping and an AdamW step (spec §1.2), with warm-up steps, then timed steps between
device synchronisations. The position table is as long as the step's sequence (P = T, as in the
LM recipes). One row. On CUDA also the whole step replayed as a CUDA graph (ms_per_step_graph), as
training runs it (repro/optimisation_step.py).

Run by repro/benchmarks/run.py, with the variant's other measurements.
"""
import math

import torch
import torch.nn.functional as F

from models import count_params, with_auxiliary_loss
from repro.benchmarks import harness
from repro.optimisation_step import WARMUP_STEPS, OptimisationStep
from repro.tasks import triple

CLIP_NORM = 1.0  # every recipe's (spec §1.2); the learning rate and weight decay do not change the time
LR, WEIGHT_DECAY = 1e-3, 1e-2  # AdamW's defaults
PROTOCOL = ("forward (train mode) + cross-entropy on random targets + backward + clip 1.0 + AdamW step; "
            "warmup steps, sync, repeats timed steps, sync; memory on CUDA only")


def measure(settings: dict, triton: bool = True) -> tuple[torch.device, list]:
    device, acceleration = harness.setup(settings, triton)
    batch, T, seed = settings["batch"], settings["seq_len"], settings["seed"]
    classifier = harness.is_classifier(settings)
    model = harness.build(settings, T, device, acceleration).train()
    x = harness.random_ids(batch, T, seed).to(device)
    targets = (harness.random_ids(batch, 1, seed + 1, high=triple.N_CLASSES) if classifier
               else harness.random_ids(batch, T, seed + 1)).to(device)

    def loss_fn(x, targets):
        output = model(x)
        logits = output[0] if classifier else output  # a classifier returns (logits, representation)
        return (with_auxiliary_loss(model, F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))),)

    def timed_steps(graph: bool):
        step = OptimisationStep(loss_fn, [model.parameters()], lr=LR, weight_decay=WEIGHT_DECAY, clip_norm=CLIP_NORM,
                                graph=graph)
        for _ in range(WARMUP_STEPS * graph):  # the eager steps before capture; the first timed warm-up captures
            step(x, targets)
        return harness.timed(lambda: step(x, targets), device, settings["warmup"], settings["repeats"])

    seconds, memory = timed_steps(graph=False)
    graph_ms = 1000 * timed_steps(graph=True)[0] / settings["repeats"] if device.type == "cuda" else math.nan
    return device, [harness.row(
        settings, device, PROTOCOL, batch=batch, seq_len=T, max_seq_len=T, warmup=settings["warmup"],
        repeats=settings["repeats"], seed=seed, params=count_params(model), seconds=seconds,
        ms_per_step=1000 * seconds / settings["repeats"], **memory, ms_per_step_graph=graph_ms)]
