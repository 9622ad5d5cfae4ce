"""Scoring shared by the tasks that grade only the final position (recall, signal-vs-noise):
the answer is predicted at the last input position."""
import hashlib
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from repro.cuda_graph import replayed_forward


@dataclass(frozen=True)
class Score:
    loss: float          # mean cross-entropy of the final position (float64 sums)
    accuracy_pct: float  # argmax over the full vocabulary equals the answer
    sha256: str          # of the evaluated inputs and answers


def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits[:, -1], targets)


@torch.no_grad()
def score(model, batches, device: torch.device, cuda_graphs: bool) -> Score:
    """batches: an iterable of (inputs (B, T), answers (B,)) on the CPU; cuda_graphs: replay the
    forward passes on CUDA (repro/cuda_graph.py)."""
    model.eval()
    forward = replayed_forward(model, cuda_graphs)
    total_loss, correct, count = 0.0, 0, 0
    digest = hashlib.sha256()
    for inputs, answers in batches:
        digest.update(torch.cat([inputs, answers[:, None]], 1).numpy().tobytes())
        final_logits = forward(inputs.to(device))[:, -1].double()
        answers = answers.to(device)
        total_loss += F.cross_entropy(final_logits, answers, reduction="sum").item()
        correct += int((final_logits.argmax(-1) == answers).sum())
        count += answers.numel()
    return Score(total_loss / count, 100.0 * correct / count, digest.hexdigest())
