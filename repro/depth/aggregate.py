"""Collect the depth diagnostics of every run into one tidy table (results/depth_diagnostics.csv): a
row per experiment, variant, mode, seed, depth step and measure.

    python -m repro.depth.aggregate --out results/depth_diagnostics.csv results/runs/*/*/*/*/depth.json
"""
import argparse
import json

import pandas as pd

from repro.artifacts import write_csv_atomically
from repro.depth.measure import METRICS

RUN_KEYS = ("experiment", "variant", "mode", "seed")


def rows(result: dict) -> list[dict]:
    return [{**{key: result[key] for key in RUN_KEYS}, "step": step["step"], "metric": metric, "value": step[metric]}
            for step in result["steps"] for metric in METRICS]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the CSV to write")
    parser.add_argument("results", nargs="+", help="the JSON files of repro.depth.measure")
    args = parser.parse_args(argv)
    write_csv_atomically(pd.DataFrame([row for path in args.results for row in rows(json.loads(open(path).read()))]), args.out)


if __name__ == "__main__":
    main()
