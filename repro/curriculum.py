"""What the training loop (repro/train.py) asks of a task: a Curriculum, the phases a run trains in
and what it measures between them. Most tasks train in one phase on their own batches with their
own loss (SinglePhase); the triple benchmark trains in stages, with auxiliary heads, evaluating
every task before the first stage and after each (repro/tasks/triple.py)."""
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import torch.nn as nn


@dataclass(frozen=True)
class Phase:
    name: str  # shown beside the run's name in the progress bar; "" for a single phase
    batches: Iterable  # in order; each a tuple of CPU tensors, the arguments of the curriculum's loss


class Curriculum(Protocol):
    modules: list  # what is trained: the model, then any heads; each module's gradient is clipped apart

    def loss(self, *batch) -> tuple:
        """(loss, *outputs) of one training batch (on the device)."""

    def phases(self) -> Iterable[Phase]:
        """The phases, in order; the modules are in training mode at the start of each."""

    def before_training(self) -> dict:
        """Metrics measured before the first step."""

    def after_step(self, batch: tuple, outputs: tuple) -> None:
        """Sees each step's batch and outputs (on the device; read them now, a CUDA graph reuses them)."""

    def after_phase(self) -> dict:
        """Metrics measured at the end of the phase just trained."""


class SinglePhase:
    """One phase: `batches(settings, data)` in order, `loss(model(inputs), targets)` per step."""

    def __init__(self, model: nn.Module, batches: Callable, loss: Callable, settings: dict, data: dict):
        self.modules = [model]
        self._batches, self._loss, self._settings, self._data = batches, loss, settings, data

    def loss(self, inputs, targets):
        return (self._loss(self.modules[0](inputs), targets),)

    def phases(self):
        yield Phase("", self._batches(self._settings, self._data))

    def before_training(self) -> dict:
        return {}

    def after_step(self, batch, outputs) -> None:
        pass

    def after_phase(self) -> dict:
        return {}
