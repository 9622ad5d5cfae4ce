"""Which GPUs a job may use when Snakemake runs several side by side on one machine (`--cores N
--resources gpu=K`): Snakemake counts the GPUs its running jobs ask for but names none, so a pool
hands each job GPUs that no other running job holds, and the job's process sees only those
(CUDA_VISIBLE_DEVICES, repro/steps.py). With K above the machine's GPUs, jobs share the least
loaded (profiles/gpu runs two small jobs per card)."""
import collections
import contextlib
import os
import threading

NVIDIA_GPUS = "/proc/driver/nvidia/gpus"  # one folder per GPU the driver sees, listed without starting CUDA


class PoolExhausted(RuntimeError):
    """A job asked for more GPUs than the pool has free: more than `--resources gpu` gives, or more
    than the machine has."""


def gpus_present(environ=os.environ) -> list:
    """The ids of the GPUs this process may use: those of CUDA_VISIBLE_DEVICES where it is set (a
    SLURM allocation or the user narrowed them), else every GPU of the NVIDIA driver."""
    if "CUDA_VISIBLE_DEVICES" in environ:
        return [gpu for gpu in environ["CUDA_VISIBLE_DEVICES"].split(",") if gpu]
    try:
        return [str(index) for index in range(len(os.listdir(NVIDIA_GPUS)))]
    except FileNotFoundError:
        return []


class GpuPool:
    """`slots` jobs' worth of GPUs (`--resources gpu=K`) over the ids in `gpus`; safe to claim from
    Snakemake's job threads at once."""

    def __init__(self, slots: int, gpus: list):
        self.slots = slots
        self.gpus = list(gpus)
        self._held = collections.Counter()  # GPU id -> jobs running on it
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def claim(self, count: int):
        """`with pool.claim(n) as ids:` n distinct GPU ids, the least held first, given back when the
        block ends, however it ends (a failed job frees its GPUs)."""
        with self._lock:
            in_use = sum(self._held.values())
            if count > len(self.gpus) or in_use + count > self.slots:
                raise PoolExhausted(f"a job asked for {count} GPUs with {in_use} of {self.slots} slots in use "
                                    f"over GPUs {self.gpus}")
            ids = sorted(self.gpus, key=lambda gpu: self._held[gpu])[:count]  # stable: among equals, in order
            self._held.update(ids)
        try:
            yield ids
        finally:
            with self._lock:
                self._held.subtract(ids)
