"""What a pipeline step pays before its work starts, the two ways Snakemake can start it with more
than one core: a fresh interpreter that imports the steps (`python -m repro.train`), or a fork of
the server that imported them once (repro/steps.py `run_forked`). Prints the minimum and median
over --repeats starts of each; the minimum is the machine's cost, the median shows its load."""
import argparse
import statistics
import subprocess
import sys
import time

from repro import steps


def _nothing() -> None:
    pass


def fresh_interpreter() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {', '.join(steps.PRELOADED)}"], check=True)
    return time.perf_counter() - start


def fork_of_server() -> float:
    start = time.perf_counter()
    process = steps.server().Process(target=_nothing)
    process.start()
    process.join()
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    fork_of_server()  # starts the server: its one import, paid once per Snakemake run
    for name, start in (("fresh interpreter", fresh_interpreter), ("fork of the preloaded server", fork_of_server)):
        seconds = [start() for _ in range(args.repeats)]
        print(f"{name}: min {min(seconds):.3f} s, median {statistics.median(seconds):.3f} s over {args.repeats} starts")


if __name__ == "__main__":
    main()
