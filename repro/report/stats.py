"""Summary statistics over seeds: mean, sample std, n and the 95% confidence half-width (Student t).

As a command: one row per (experiment, variant, mode, metric) of a tidy metrics CSV."""
import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

# t_{0.975, df} for df = 1..30; beyond 30 the normal quantile 1.96 is used.
T_975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)
Z_975 = 1.96


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float | None   # sample standard deviation (ddof = 1); None for a single value
    n: int
    ci95: float | None  # half-width of the 95% confidence interval of the mean; None for a single value


def t_975(df: int) -> float:
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    return T_975[df - 1] if df <= len(T_975) else Z_975


def summarize(values) -> Summary:
    values = [float(v) for v in values]
    n = len(values)
    if n == 0:
        raise ValueError("cannot summarize an empty sample")
    mean = sum(values) / n
    if n == 1:
        return Summary(mean=mean, std=None, n=1, ci95=None)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return Summary(mean=mean, std=std, n=n, ci95=t_975(n - 1) * std / math.sqrt(n))


def summary_frame(metrics: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for key, group in metrics.groupby(["experiment", "variant", "mode", "metric"], sort=True):
        summary = summarize(group["value"])
        rows.append(dict(zip(("experiment", "variant", "mode", "metric"), key),
                         mean=summary.mean, std=summary.std, n=summary.n, ci95=summary.ci95))
    return pd.DataFrame(rows, columns=["experiment", "variant", "mode", "metric", "mean", "std", "n", "ci95"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", required=True, help="tidy metrics CSV (experiment, variant, mode, seed, metric, value)")
    parser.add_argument("--out", required=True, type=Path, help="summary CSV to write (mean, std, n, ci95 per metric)")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary_frame(pd.read_csv(args.metrics)).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
