"""Gather the pieces of one measurement (throughput or train_step) into one CSV, with two ratios
per row, and summarise what produced them:

  time_ratio_to_baseline  the row's time over the baseline's (its fast form) at the same point
                          (sweep and T for throughput): how many times slower than the Transformer;
  fast_speedup            on a fast row, the reference form's time over the fast form's at the same
                          point; empty on reference rows and for models with one form;
  graph_ratio_to_baseline as time_ratio_to_baseline, for the times of CUDA-graph replays (CUDA only).

  python -m repro.benchmarks.aggregate --measurement train_step --baseline transformer \
      --out results/benchmarks/train_step.csv --provenance-out results/benchmarks/train_step.provenance.json \
      results/benchmarks/*.json   (the timing jobs' files, repro/benchmarks/run.py)
"""
import argparse
import json
from pathlib import Path

import pandas as pd

from repro.aggregate import merge
from repro.artifacts import write_csv_atomically, write_json_atomically

# measurement -> (its time column, the columns that identify a point of a model's curve)
TIMES = {"throughput": ("ms_per_iter", ["sweep", "seq_len"]), "train_step": ("ms_per_step", [])}
FIRST, LAST = ["variant", "form", "mode"], ["device", "torch", "protocol"]  # the columns around the numbers


def with_ratios(frame: pd.DataFrame, measurement: str, baseline: str) -> pd.DataFrame:
    time, point = TIMES[measurement]
    base = frame[(frame["variant"] == baseline) & (frame["form"] == "fast")]
    if base.empty:
        raise ValueError(f"no fast {measurement} rows of the baseline {baseline!r}; variants: {', '.join(frame['variant'].unique())}")
    graph = f"{time}_graph"
    base = base[[*point, time, graph]].rename(columns={time: "baseline_ms", graph: "baseline_graph_ms"})
    frame = frame.merge(base, on=point, how="left") if point else frame.assign(**base.iloc[0].to_dict())
    reference = frame.loc[frame["form"] == "reference", ["variant", *point, time]].rename(columns={time: "reference_ms"})
    frame = frame.merge(reference, on=["variant", *point], how="left")
    frame["baseline"] = baseline
    frame["time_ratio_to_baseline"] = frame[time] / frame["baseline_ms"]
    frame["fast_speedup"] = (frame["reference_ms"] / frame[time]).where(frame["form"] == "fast")
    frame["graph_ratio_to_baseline"] = frame[graph] / frame["baseline_graph_ms"]
    return frame.drop(columns=["baseline_ms", "baseline_graph_ms", "reference_ms"])


def table(pieces: list, baseline: str) -> pd.DataFrame:
    measurements = {piece["measurement"] for piece in pieces}
    if len(measurements) != 1:
        raise ValueError(f"pieces of several measurements: {', '.join(sorted(measurements))}; aggregate one at a time")
    measurement = measurements.pop()
    frame = with_ratios(pd.DataFrame([row for piece in pieces for row in piece["rows"]]), measurement, baseline)
    first = FIRST + TIMES[measurement][1]
    return frame[first + [column for column in frame.columns if column not in first + LAST] + LAST]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measurement", required=True, choices=sorted(TIMES), help="the measurement to gather")
    parser.add_argument("--baseline", required=True, help="the variant the ratios are to")
    parser.add_argument("--out", required=True, help="the CSV to write")
    parser.add_argument("--provenance-out", required=True, help="the provenance JSON to write")
    parser.add_argument("jobs", nargs="+", help="the timing jobs' JSON files, one per variant")
    args = parser.parse_args(argv)
    pieces = [piece for path in args.jobs for piece in json.loads(Path(path).read_text())["pieces"]
              if piece["measurement"] == args.measurement]
    if not pieces:
        parser.error(f"no {args.measurement} measurements in {', '.join(args.jobs)}")
    write_csv_atomically(table(pieces, args.baseline), args.out)
    write_json_atomically(merge([piece["provenance"] for piece in pieces]), args.provenance_out)


if __name__ == "__main__":
    main()
