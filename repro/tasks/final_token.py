"""Scoring shared by the tasks that grade only the final position (recall, signal-vs-noise):
the answer is predicted at the last input position."""
import hashlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from repro.cuda_graph import replayed_forward
from repro.curriculum import SinglePhase
from repro.device import transfer


@dataclass(frozen=True)
class Score:
    loss: float          # mean cross-entropy of the final position (float64 sums)
    accuracy_pct: float  # argmax over the full vocabulary equals the answer
    sha256: str          # of the evaluated inputs and answers
    correct: torch.Tensor  # (examples,) bool on the CPU, in batch order: accuracy per slice of the data


def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits[:, -1], targets)


@torch.no_grad()
def curriculum(training_batches):
    """The curriculum of a task scored at its final token: one phase over the run's batches
    (`training_batches(settings, data)`), with this loss."""
    def single_phase(model, settings, data: dict, device, acceleration) -> SinglePhase:
        return SinglePhase(model, training_batches, loss, settings, data)

    return single_phase


def score(model, batches, device: torch.device, cuda_graphs: bool) -> Score:
    """batches: an iterable of (inputs (B, T), answers (B,)) on the CPU; cuda_graphs: replay the
    forward passes on CUDA (repro/cuda_graph.py)."""
    model.eval()
    forward = replayed_forward(model, cuda_graphs)
    # Summed on the device (float64, in batch order) and read once: no wait for the GPU per batch.
    total_loss = torch.zeros((), dtype=torch.float64, device=device)
    hits = []
    digest = hashlib.sha256()
    for inputs, answers in batches:
        digest.update(torch.cat([inputs, answers[:, None]], 1).numpy().tobytes())
        final_logits = forward(transfer(inputs, device))[:, -1].double()
        answers = transfer(answers, device)
        total_loss += F.cross_entropy(final_logits, answers, reduction="sum")
        hits.append(final_logits.argmax(-1) == answers)
    correct = torch.cat(hits).cpu()
    return Score(total_loss.item() / correct.numel(), 100.0 * correct.sum().item() / correct.numel(), digest.hexdigest(), correct)
