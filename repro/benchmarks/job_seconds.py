"""What the training and evaluation jobs of a pipeline run cost: per experiment and rule, the job
count and the sums of wall and CPU seconds from Snakemake's benchmark files
(results/runs/<experiment>/<variant>/<mode>/seed<seed>/<rule>_benchmark.tsv). The files outlive
the run that wrote them, so a pipeline run over several sittings is summed as one."""
import argparse
from pathlib import Path

import pandas as pd

from repro.artifacts import print_and_write


def job_seconds(results: Path) -> pd.DataFrame:
    rows = []
    for path in sorted(results.glob("runs/*/*/*/seed*/*_benchmark.tsv")):
        experiment = path.relative_to(results / "runs").parts[0]
        timing = pd.read_csv(path, sep="\t").iloc[0]  # one row: the rules do not repeat
        rows.append({"experiment": experiment, "rule": path.name.removesuffix("_benchmark.tsv"),
                     "wall_s": float(timing["s"]), "cpu_s": float(timing["cpu_time"])})
    if not rows:
        raise SystemExit(f"error: no benchmark files under {results}/runs; valid: the results folder of a pipeline run")
    jobs = pd.DataFrame(rows)
    table = jobs.groupby(["experiment", "rule"]).agg(jobs=("wall_s", "size"), wall_s=("wall_s", "sum"),
                                                     cpu_s=("cpu_s", "sum")).reset_index()
    total = pd.DataFrame([{"experiment": "all", "rule": "all", "jobs": len(jobs), "wall_s": jobs["wall_s"].sum(),
                           "cpu_s": jobs["cpu_s"].sum()}])
    return pd.concat([table, total], ignore_index=True).round(1)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, nargs="?", default=Path("results"), help="a results folder")
    parser.add_argument("--out", type=Path, help="also write the table as CSV")
    args = parser.parse_args(argv)
    table = job_seconds(args.results)
    print_and_write(table, args.out)


if __name__ == "__main__":
    main()
