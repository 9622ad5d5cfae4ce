"""One timing job of the pipeline: every measurement of one variant (throughput and training step,
in each of its recurrence forms; spec §5.5), one after another in one process of its own. One
interpreter start and one device initialisation then serve them all, and nothing set by other jobs (torch's deterministic algorithms, Snakemake's threads) shares
the process. Writes {"variant", "pieces": [one piece per measurement, see harness.piece]}.

In the pipeline:  snakemake --cores 1 results/benchmarks/unimatrix_core.json
By hand:          python -m repro.benchmarks.run --settings '<JSON list>' --out unimatrix_core.json
(the list as repro.config.benchmark_variant_settings makes it)
"""
import argparse
import gc
import json

import torch

from repro.artifacts import write_json_atomically
from repro.benchmarks import harness, throughput, train_step

MEASURES = {"throughput": throughput.measure, "train_step": train_step.measure}


def check(jobs) -> str:
    """The one variant of a job list; a clear error for anything else, before any timing starts."""
    if not isinstance(jobs, list) or not jobs or not all(isinstance(job, dict) for job in jobs):
        raise ValueError("--settings must be a non-empty JSON list of measurement settings")
    for i, job in enumerate(jobs):
        if job.get("measurement") not in MEASURES:
            raise ValueError(f"settings[{i}]: measurement {job.get('measurement')!r}; valid: {', '.join(MEASURES)}")
    variants = {job.get("variant") for job in jobs}
    if len(variants) != 1:
        raise ValueError(f"one variant per timing job; the settings name {', '.join(map(str, sorted(variants, key=str)))}")
    return variants.pop()


def run(jobs: list) -> dict:
    variant = check(jobs)
    pieces = []
    for settings in jobs:
        device, rows = MEASURES[settings["measurement"]](settings)
        pieces.append(harness.piece(settings, device, rows))
        gc.collect()  # frees the last measurement's models and CUDA graph pools before the next one counts memory
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return {"variant": variant, "pieces": pieces}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True, help="JSON list of one variant's measurement settings")
    parser.add_argument("--out", required=True, help="the JSON file to write")
    args = parser.parse_args(argv)
    try:
        jobs = json.loads(args.settings)
        check(jobs)
    except ValueError as error:  # json.JSONDecodeError is one
        parser.error(str(error))
    write_json_atomically(run(jobs), args.out)


if __name__ == "__main__":
    main()
