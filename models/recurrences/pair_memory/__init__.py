"""The three recurrences of a triple-latent layer: naive.py defines them, chunk.py is their fast
form on the shared decayed sum, with the same signatures. `form` picks one by the run's
Acceleration record."""

from types import ModuleType

from models.acceleration import Acceleration
from models.recurrences.pair_memory import chunk, naive


def form(acceleration: Acceleration = Acceleration()) -> ModuleType:
    """The module whose running_state, dense_memory and slot_memory the run uses."""
    return naive if acceleration.recurrence == "naive" else chunk
