"""Mamba-2's SSD recurrence: naive.py defines it, chunk.py is its fast form on the shared decayed
sum and triton.py on its CUDA kernels, with the same signature. `form` picks one by the run's
Acceleration record."""

from types import ModuleType

from models.acceleration import Acceleration
from models.recurrences.forms import pick


def form(acceleration: Acceleration = Acceleration()) -> ModuleType:
    """The module whose ssd the run uses."""
    return pick(__name__, acceleration)
