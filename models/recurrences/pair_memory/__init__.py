"""The three recurrences of a triple-latent layer: naive.py defines them, chunk.py is their fast
form on the shared decayed sum and triton.py on its CUDA kernels, with the same signatures (both
written on the primitive by reads.py). `form` picks one by the run's Acceleration record."""

from types import ModuleType

from models.acceleration import Acceleration
from models.recurrences.forms import pick


def form(acceleration: Acceleration = Acceleration()) -> ModuleType:
    """The module whose running_state, dense_memory and slot_memory the run uses."""
    return pick(__name__, acceleration)
