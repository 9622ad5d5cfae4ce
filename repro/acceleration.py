"""How a run is accelerated: resolved once per job (repro/train.py, repro/evaluate.py, the timing
harness) from its settings and its device, and handed to everything that computes."""
import importlib.util

import torch

from models.acceleration import Acceleration

RECURRENCES = {"fast": "chunk", "reference": "naive"}  # config `recurrence` -> Acceleration.recurrence


def acceleration_for(device: torch.device, *, recurrence: str, cuda_graphs: bool, flush_denormals: bool,
                     threads: int) -> Acceleration:
    """The job's Acceleration record, from its config keys (`recurrence`, `cuda_graphs`,
    `flush_denormals`, `torch_threads`) and its device: the only place that looks at the device to
    choose how the models compute. Triton kernels run where they are exact and compiled, on CUDA in
    float32 with Triton installed; NumPy's dropout masks on the CPU, where torch's are slow; CUDA
    graphs on CUDA only."""
    if recurrence not in RECURRENCES:
        raise ValueError(f"recurrence={recurrence!r}; valid: {', '.join(RECURRENCES)}")
    cuda = device.type == "cuda"
    return Acceleration(
        recurrence=RECURRENCES[recurrence],
        triton=(recurrence == "fast" and cuda and torch.get_default_dtype() == torch.float32
                and importlib.util.find_spec("triton") is not None),
        numpy_dropout=device.type == "cpu",
        cuda_graphs=cuda_graphs and cuda,
        flush_denormals=flush_denormals,
        threads=threads,
    )


def run_acceleration(settings, device: torch.device) -> Acceleration:
    """A run's record, from its settings (repro/settings.py)."""
    return acceleration_for(device, recurrence=settings.recurrence, cuda_graphs=settings.cuda_graphs,
                            flush_denormals=settings.flush_denormals, threads=settings.torch_threads)
