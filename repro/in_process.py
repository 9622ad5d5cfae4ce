"""Run a pipeline step, `python -m <module> <argv> > <log> 2>&1`, inside the calling process.

Most of the DAG's jobs are small Python steps (one training or evaluation run each), and a fresh
interpreter costs each of them the torch import and, on a GPU, the CUDA start before any work,
several times the work of a small run there (benchmarks/measured/PERFORMANCE.md). When Snakemake
runs one job at a time, the step
runs in Snakemake's own process instead (workflow/rules/common.smk decides). Each step seeds
torch and sets its thread count and determinism itself, so its output does not depend on what
ran before it in the process (tests/test_in_process.py holds that, bit for bit). The timing jobs
of the throughput study keep a process of their own (workflow/rules/benchmark.smk).
"""
import contextlib
import importlib
import traceback


class StepFailed(RuntimeError):
    """The step exited with an error; its log holds the message or traceback."""


def run(module: str, argv: list, log: str) -> None:
    """Import `module` and call its `main(argv)`, its output (messages, warnings, progress, errors)
    in `log`, as `python -m module argv > log 2>&1` writes it. Raises StepFailed when it fails."""
    with open(log, "w") as stream, contextlib.redirect_stdout(stream), contextlib.redirect_stderr(stream):
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
