"""What every timing job shares (spec §5.5): the untrained model of a job's settings, fixed batches
of random byte ids, the clock between device synchronisations, and the piece of results it writes.

Memory is measured on CUDA only: `memory_mb` is the larger of the allocated memory before and after
(spec §5.5), `peak_memory_mb` the true peak (torch.cuda.max_memory_allocated after a reset). torch
counts no allocations on a CPU (and no peak on Apple MPS, whose current-allocation counter is not
read here), so off CUDA both stay empty (NaN) rather than being guessed."""
import math
import time
from collections.abc import Callable
from dataclasses import replace

import torch

from models import build_model
from models.acceleration import Acceleration
from models.registry import family_of
from repro.acceleration import acceleration_for
from repro.config import settings_hash
from repro.data.wikitext import PAD_ID, VOCAB_SIZE
from repro.device import describe, resolve
from repro.provenance import code_version, library_versions
from repro.runtime import configure_cpu
from repro.tasks import triple

DROPOUT = 0.1  # the paper's setting (spec §5.5); inactive in eval mode
NO_MEMORY = {"memory_mb": math.nan, "peak_memory_mb": math.nan}


def is_classifier(settings: dict) -> bool:
    """One prediction per sequence, over the triple task's classes."""
    return family_of(settings["architecture"]).classifier


def setup(settings: dict, triton: bool = True) -> tuple[torch.device, Acceleration]:
    """The job's device and Acceleration record, its recurrence `form` as a run's `recurrence`; the
    eager forward and step are what is timed (train_step.py and throughput.py time CUDA graphs on their own).
    triton=False keeps the PyTorch chunked forms where the Triton kernels would run (triton_gain.py)."""
    device = resolve(settings["device"])
    acceleration = acceleration_for(device, recurrence=settings["form"], cuda_graphs=False,
                                    flush_denormals=settings["flush_denormals"], threads=settings["torch_threads"])
    acceleration = replace(acceleration, triton=acceleration.triton and triton)
    configure_cpu(acceleration)
    return device, acceleration


def build(settings: dict, max_seq_len: int, device: torch.device, acceleration: Acceleration) -> torch.nn.Module:
    """The untrained model, seeded by the benchmark seed; P = max_seq_len."""
    torch.manual_seed(settings["seed"])
    kwargs = {"n_classes": triple.N_CLASSES} if is_classifier(settings) else {}
    model = build_model(settings["architecture"], vocab_size=VOCAB_SIZE, max_seq_len=max_seq_len, pad_id=PAD_ID,
                        mode=settings["mode"], dropout=DROPOUT, acceleration=acceleration, **kwargs)
    return model.to(device)


def random_ids(rows: int, length: int, seed: int, high: int = VOCAB_SIZE) -> torch.Tensor:
    """A fixed (rows, length) batch of i.i.d. uniform ids in [0, high)."""
    return torch.randint(0, high, (rows, length), generator=torch.Generator().manual_seed(seed))


def timed(step: Callable[[], object], device: torch.device, warmup: int, repeats: int) -> tuple[float, dict]:
    """Seconds for `repeats` calls of `step` after `warmup` untimed ones, between synchronisations,
    and the memory in MB (NaN off CUDA)."""
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    if not cuda:
        return seconds, dict(NO_MEMORY)
    return seconds, {"memory_mb": max(before, torch.cuda.memory_allocated(device)) / 2**20,
                     "peak_memory_mb": torch.cuda.max_memory_allocated(device) / 2**20}


def row(settings: dict, device: torch.device, protocol: str, **measured) -> dict:
    """One CSV row: what was timed, how, where, and what was measured."""
    return {"variant": settings["variant"], "form": settings["form"], "mode": settings["mode"], **measured,
            "device": describe(device), "torch": torch.__version__, "protocol": protocol}


def piece(settings: dict, device: torch.device, rows: list) -> dict:
    """A job's output: its settings, its rows, and its provenance in the shape repro.aggregate.merge takes."""
    return {
        "measurement": settings["measurement"],
        "settings": settings,
        "rows": rows,
        "provenance": {
            "n_runs": 1,
            "code_versions": [code_version()],
            "devices": [describe(device)],
            "library_versions": [library_versions()],
            "config_hashes": [settings_hash(settings)],
            "data": [{"inputs": f"uniform random ids in [0, {VOCAB_SIZE})", "seed": settings["seed"]}],
        },
    }
