"""How a run is accelerated: one record, resolved once from the config and the device by
repro/runtime.py and handed to the model's constructor. Its defaults switch everything off, and a
model built with them is plain PyTorch: every recurrence in its per-token definition, torch's
dropout. What it switches changes speed only; the tests hold every fast form to its definition."""

from dataclasses import dataclass

RECURRENCE_FORMS = ("naive", "chunk")


@dataclass(frozen=True)
class Acceleration:
    recurrence: str = "naive"  # "naive": the per-token definition; "chunk": the PyTorch chunked form
    triton: bool = False  # the CUDA kernels of the recurrences that have one (CUDA float32 runs)
    numpy_dropout: bool = False  # CPU dropout masks drawn with NumPy (models/dropout.py)
    cuda_graphs: bool = False  # training steps and evaluation forwards replayed as CUDA graphs
    flush_denormals: bool = False  # CPU: floats below 1.2e-38 become 0 (repro/runtime.py says why)
    threads: int | None = None  # torch's CPU threads; None keeps torch's default

    def __post_init__(self):
        if self.recurrence not in RECURRENCE_FORMS:
            raise ValueError(f"acceleration recurrence={self.recurrence!r}; valid: {', '.join(RECURRENCE_FORMS)}")
