"""The Recurrent-FFN's gated recurrence: naive.py defines it, chunk.py is its fast form, with the
same signature. `form` picks one by the run's Acceleration record."""

from types import ModuleType

from models.acceleration import Acceleration
from models.recurrences.gated import chunk, naive


def form(acceleration: Acceleration = Acceleration()) -> ModuleType:
    """The module whose gated_recurrence the run uses."""
    return naive if acceleration.recurrence == "naive" else chunk
