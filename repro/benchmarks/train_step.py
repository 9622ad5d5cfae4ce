"""Time of one training step of one untrained model in one recurrence form: forward in train mode,
cross-entropy against random targets (next-token ids; classes for a sequence classifier), backward,
global-norm clipping and an AdamW step (spec §1.2), with warm-up steps, then timed steps between
device synchronisations. The position table is as long as the step's sequence (P = T, as in the
LM recipes). One row. On CUDA also the whole step replayed as a CUDA graph (ms_per_step_graph).

One job of the pipeline; by hand, through Snakemake (the settings come from the config):
  snakemake --cores 1 results/benchmarks/unimatrix_core/reference/train_step.json
"""
import math

import torch
import torch.nn.functional as F

from models import count_params
from repro.benchmarks import harness
from repro.tasks import triple

CLIP_NORM = 1.0  # every recipe's (spec §1.2); the learning rate and weight decay do not change the time
PROTOCOL = ("forward (train mode) + cross-entropy on random targets + backward + clip 1.0 + AdamW step; "
            "warmup steps, sync, repeats timed steps, sync; memory on CUDA only")


def measure(settings: dict) -> tuple[torch.device, list]:
    device = harness.setup(settings)
    batch, T, seed = settings["batch"], settings["seq_len"], settings["seed"]
    classifier = harness.is_classifier(settings)
    model = harness.build(settings, T, device).train()
    optimiser = torch.optim.AdamW(model.parameters())
    x = harness.random_ids(batch, T, seed).to(device)
    targets = (harness.random_ids(batch, 1, seed + 1, high=triple.N_CLASSES) if classifier
               else harness.random_ids(batch, T, seed + 1)).to(device)

    def update(optimiser):  # the step after zero_grad
        output = model(x)
        logits = output[0] if classifier else output  # a classifier returns (logits, representation)
        loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP_NORM)
        optimiser.step()

    def step():
        optimiser.zero_grad(set_to_none=True)
        update(optimiser)

    seconds, memory = harness.timed(step, device, settings["warmup"], settings["repeats"])
    graph_ms = graph_step_ms(model, update, device, settings) if device.type == "cuda" else math.nan
    return device, [harness.row(
        settings, device, PROTOCOL, batch=batch, seq_len=T, max_seq_len=T, warmup=settings["warmup"],
        repeats=settings["repeats"], seed=seed, params=count_params(model), seconds=seconds,
        ms_per_step=1000 * seconds / settings["repeats"], **memory, ms_per_step_graph=graph_ms)]


def graph_step_ms(model, update, device, settings) -> float:
    """ms per step of the whole step (forward, backward, clipping, AdamW) captured once as a CUDA
    graph and replayed, PyTorch's whole-network capture; NaN where it cannot be captured."""
    optimiser = torch.optim.AdamW(model.parameters(), capturable=True)
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # warm-up outside the graph, as capture requires
        for _ in range(3):
            optimiser.zero_grad(set_to_none=True)
            update(optimiser)
    torch.cuda.current_stream(device).wait_stream(side)
    optimiser.zero_grad(set_to_none=True)  # the captured backward allocates the gradients it then overwrites
    graph = torch.cuda.CUDAGraph()
    try:
        with torch.cuda.graph(graph):
            update(optimiser)
    except RuntimeError:
        return math.nan
    seconds, _ = harness.timed(graph.replay, device, settings["warmup"], settings["repeats"])
    return 1000 * seconds / settings["repeats"]


def main(argv=None) -> None:
    harness.main(__doc__, measure, argv)


if __name__ == "__main__":
    main()
