"""Batch streams of the synthetic tasks, drawn once per process.

Under `snakemake --cores 1` every job runs in Snakemake's process (repro/steps.py), and the
runs of a synthetic task share their streams: each is drawn from a generator seeded by a number
the recipe names (the run seed for training, a data seed for evaluation), not by the model. In the
default config the 81 recall runs of the paper's recipe train on three streams (one per seed) and
are evaluated on four sets, and the triple models of a (mode, seed) train and are evaluated on the
same batches. Drawing them is per-example Python whose random order the spec fixes (spec §5.1,
§5.2.3), which on a GPU host was most of a small run's time.
"""
import functools

import torch


@functools.lru_cache(maxsize=None)
def drawn(draw, count: int, seed: int, *args) -> tuple:
    """`count` batches `draw(*args, generator)`, in order, from one torch.Generator seeded `seed`;
    the same tuple for the life of the process. Its batches are shared: never modify them."""
    generator = torch.Generator().manual_seed(seed)
    return tuple(draw(*args, generator) for _ in range(count))


def shared_seeds(training, evaluation) -> str | None:
    """A recipe problem when a training stream and an evaluation set would be drawn from the same
    seed (the same batches: a model evaluated on what it trained on), else None."""
    shared = sorted(set(training) & set(evaluation))
    if not shared:
        return None
    return f"{shared} seed both training streams and evaluation sets; valid: training seeds not in {sorted(set(evaluation))}"
