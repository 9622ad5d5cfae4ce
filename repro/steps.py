"""Run a pipeline step, `python -m <module> <argv> > <log> 2>&1`, without starting an interpreter.

Most of the DAG's jobs are small Python steps (one training or evaluation run each), and a fresh
interpreter costs each of them the torch import and, on a GPU, the CUDA start before any work,
several times the work of a small run (benchmarks/measured/PERFORMANCE.md). So a step runs either
in the calling process (`run_here`: Snakemake with one core runs one job at a time, in its own
process under profiles/default) or in a process forked from a server that imported torch and the
steps once (`run_forked`: jobs side by side, each with a process of its own, because torch's random
state and thread count belong to the process). Each step seeds torch and sets its thread count and
determinism itself, so its output does not depend on what ran before it in the process
(tests/test_steps.py holds both ways to a fresh interpreter, bit for bit). A forked step that asks
for GPUs sees only those its pool gives it (repro/gpu_pool.py). The timing jobs of the throughput
study keep an interpreter of their own (workflow/rules/benchmark.smk).
"""
import contextlib
import functools
import importlib
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import traceback

from repro.gpu_pool import GpuPool

# Importing these imports torch, the models and the tasks: what every training and evaluation needs.
PRELOADED = ["repro.train", "repro.evaluate"]
# A forked child's exit code can be read once, and Process.start() reads those of every earlier child
# that has ended: read from two threads at once, a success came out as 255. One reader at a time.
EXIT_CODES = threading.Lock()


@functools.cache
def server():
    """The fork server, its context made on first use: platforms without fork (Windows) can still
    run steps one at a time with run_here."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOADED)
    return context


class StepFailed(RuntimeError):
    """The step exited with an error; its log holds the message or traceback."""


def run_here(module: str, argv: list, log: str) -> None:
    """Import `module` and call its `main(argv)` in this process, its output (messages, warnings,
    progress, errors) in `log`, as `python -m module argv > log 2>&1` writes it. Raises StepFailed
    when it fails."""
    with open(log, "w") as stream, contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
        _main(module, argv, log, stream)


def run_step(module: str, argv: list, log: str, *, alone: bool, gpus: int = 0, pool: GpuPool | None = None) -> None:
    """`run_here` where this process runs one job at a time (`alone`), else `run_forked`, on `gpus`
    GPUs of `pool` where the pool has slots (else, as without a pool, the step sees every GPU)."""
    if alone:
        run_here(module, argv, log)
    elif gpus and pool is not None and pool.slots:
        with pool.claim(gpus) as ids:
            run_forked(module, argv, log, gpus=ids)
    else:
        run_forked(module, argv, log)


def run_forked(module: str, argv: list, log: str, gpus: list | None = None) -> None:
    """`run_here` in a fresh process forked from the server of PRELOADED, seeing only the GPUs
    `gpus` where given. Raises StepFailed when the step fails or its process is killed."""
    process = server().Process(target=_forked_main, args=(module, argv, log, gpus), name=f"python -m {module}")
    with EXIT_CODES:
        process.start()
    multiprocessing.connection.wait([process.sentinel])
    with EXIT_CODES:
        process.join()
    if process.exitcode < 0:
        raise StepFailed(f"python -m {module} was killed by signal {-process.exitcode}; see {log}")
    if process.exitcode != 0:
        raise StepFailed(f"python -m {module} failed; see {log}")


def _forked_main(module: str, argv: list, log: str, gpus: list | None) -> None:
    # The server imported torch but never started CUDA, so the GPUs CUDA will see can still be set.
    if gpus is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
    # The process is the step's alone, so its file descriptors go to the log: output written below
    # Python (torch's C++ warnings) lands there too.
    with open(log, "w") as stream:
        os.dup2(stream.fileno(), 1)
        os.dup2(stream.fileno(), 2)
    try:
        _main(module, argv, log, sys.stderr)
    except StepFailed:
        sys.exit(1)


def _main(module: str, argv: list, log: str, stream) -> None:
    try:
        importlib.import_module(module).main(argv)
    except SystemExit as exit_:  # argparse errors and sys.exit("error: ..."), as at the command line
        if exit_.code not in (None, 0):
            if isinstance(exit_.code, str):
                print(exit_.code, file=stream)
            raise StepFailed(f"python -m {module} failed; see {log}") from None
    except Exception as error:
        traceback.print_exc(file=stream)
        raise StepFailed(f"python -m {module} failed ({type(error).__name__}: {error}); see {log}") from error
