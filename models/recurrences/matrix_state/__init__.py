"""The matrix-state recurrence of UniMatrix: naive.py defines it, chunk.py is its PyTorch fast form,
triton.py (with triton_guarded.py) its CUDA kernels, each as a `matrix_state` with naive.py's
signature. `form` picks one by the run's Acceleration record; nothing here looks at the device or
the dtype."""

from types import ModuleType

from models.acceleration import Acceleration
from models.recurrences.forms import pick


def form(acceleration: Acceleration = Acceleration()) -> ModuleType:
    """The module whose matrix_state the run uses."""
    return pick(__name__, acceleration)
