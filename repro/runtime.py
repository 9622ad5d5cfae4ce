"""What every training and evaluation job does first, given how the run is accelerated
(repro/acceleration.py, resolved once per job): configure torch, and build the run's model seeded by
the run seed (spec §1.3)."""
import math

import torch

from models import build_model
from models.acceleration import Acceleration
from repro.settings import TrainSettings
from repro.tasks import TASKS


class NonFiniteLoss(RuntimeError):
    """Training diverged; no checkpoint is written."""


def configure_cpu(acceleration: Acceleration) -> None:
    """Threads and denormals of the CPU ops. Flushing denormals (config `flush_denormals`, as
    TensorFlow does on CPU by default): results below 1.2e-38 become 0, and inputs that small are
    read as 0. Without it, the tiny products of the decays and saturated gates arrive as
    denormals, which x86 CPUs handle in microcode, up to twice as slowly
    (benchmarks/measured/PERFORMANCE.md). Threads that torch starts later inherit the setting."""
    if acceleration.threads is not None:
        torch.set_num_threads(acceleration.threads)
    torch.set_flush_denormal(acceleration.flush_denormals)


def configure_torch(acceleration: Acceleration) -> None:
    configure_cpu(acceleration)
    torch.use_deterministic_algorithms(True, warn_only=True)
    # With deterministic algorithms on, torch also fills every new tensor from empty() with NaN, a
    # guard against reading memory never written that costs a few percent of a CPU training step
    # and a kernel per buffer in a replayed CUDA graph. Nothing here reads such memory: the runs
    # are bit-reproducible without the fill (tests/test_training.py).
    torch.utils.deterministic.fill_uninitialized_memory = False


def build(settings: TrainSettings, device: torch.device, acceleration: Acceleration) -> torch.nn.Module:
    """The run's model, seeded by the run seed (initialisation and dropout, spec §1.3)."""
    task = TASKS[settings.task]
    torch.manual_seed(settings.seed)
    model = build_model(settings.architecture, vocab_size=task.VOCAB_SIZE, max_seq_len=settings.seq_len,
                        pad_id=task.PAD_ID, mode=settings.mode, dropout=settings.dropout,
                        acceleration=acceleration, **task.MODEL_KWARGS)
    return model.to(device)


def optimisation_settings(settings: TrainSettings, acceleration: Acceleration) -> dict:
    """OptimisationStep's keywords for a run: AdamW and clipping (spec §1.2), and whether the step is
    replayed as a CUDA graph (config `cuda_graphs`, CUDA only)."""
    return {"lr": settings.lr, "weight_decay": settings.weight_decay, "clip_norm": settings.clip_norm,
            "graph": acceleration.cuda_graphs}


class LossRecord:
    """A run's per-step losses, kept on the device and read back every READ_BACK_EVERY steps: reading
    each step's loss (loss.item()) would wait for that step, and on a GPU the host could then not
    prepare the next batch while the step runs. A NaN or infinite loss raises NonFiniteLoss naming
    its step, at the read-back that sees it (no checkpoint is written either way)."""

    READ_BACK_EVERY = 50

    def __init__(self, run: str):
        self.run = run
        self.values: list[float] = []  # read back: values[i] is step i + 1's loss
        self.pending: list[torch.Tensor] = []

    def add(self, loss: torch.Tensor) -> None:
        self.pending.append(loss.detach().clone())  # a CUDA graph's loss buffer is overwritten next step
        if len(self.pending) == self.READ_BACK_EVERY:
            self.read_back()

    def read_back(self) -> list[float]:
        """Every loss so far, as floats; raises on the first non-finite one."""
        if self.pending:
            values, self.pending = torch.stack(self.pending).tolist(), []
            for step, value in enumerate(values, start=len(self.values) + 1):
                if not math.isfinite(value):
                    raise NonFiniteLoss(f"run {self.run}: loss is {value} at step {step}; no checkpoint written")
            self.values += values
        return self.values
