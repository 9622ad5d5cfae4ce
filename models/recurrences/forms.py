"""How a recurrence folder with a Triton kernel picks its form from the run's Acceleration record:
one rule for all of them, so that the record means the same for every recurrence."""

import importlib
from types import ModuleType

from models.acceleration import Acceleration


def pick(package: str, acceleration: Acceleration) -> ModuleType:
    """The folder's naive.py for the definition, its triton.py where the record asks for the kernels,
    else its chunk.py. triton.py is imported only when picked: it imports Triton, which only a run
    whose runtime found it may need."""
    name = "naive" if acceleration.recurrence == "naive" else "triton" if acceleration.triton else "chunk"
    return importlib.import_module(f"{package}.{name}")
