"""Compare two result sets, B against A: each metric's mean over seeds and each claim's verdict and
value, with a printed summary first, as DVC's `metrics diff` does for its metrics files.

  python -m repro.report.compare results/ other-run/results/ --out results/compare

A and B are folders holding metrics.csv and claims.csv (a run's results/, or a set copied from
another machine); a folder without claims.csv is compared on its metrics alone. Writes
OUT/metrics_diff.csv and OUT/claims_diff.csv. The exit status is 0 whatever differs (a difference
is information), unless --fail-on-verdict-change is given and a verdict changed.
"""
import argparse
import sys
from pathlib import Path

import pandas as pd

from repro.artifacts import write_csv_atomically
from repro.report import result_set
from repro.report.stats import summary_frame

METRIC_KEY = ["experiment", "variant", "mode", "metric"]
CLAIM_KEY = ["experiment", "claim", "mode"]
PRESENT = {"both": "both", "left_only": "A only", "right_only": "B only"}
METRICS_DIFF, CLAIMS_DIFF = "metrics_diff.csv", "claims_diff.csv"
LISTED = 10  # lines per list in the printed summary


def is_timing(metric: str) -> bool:
    """Wall-clock metrics (train_seconds, eval_seconds) measure the machine and its load, not the
    model, so they are expected to differ between devices and are kept out of the ranking."""
    return bool({"seconds", "time"} & set(metric.split("_")))


def _outer(a: pd.DataFrame, b: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    merged = a.merge(b, on=key, how="outer", suffixes=("_a", "_b"), indicator="present")
    merged["present"] = merged["present"].astype(str).map(PRESENT)
    return merged.sort_values(key, kind="stable").reset_index(drop=True)


def _nullable(flags: pd.Series, known: pd.Series) -> pd.Series:
    """True/False where `known`, empty elsewhere (a one-sided row has no comparison)."""
    return flags.astype("boolean").where(known, pd.NA)


def metrics_diff(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, variant, mode, metric) of either set: each side's mean, 95% CI
    half-width and n over seeds, B − A, (B − A)/|A|, and whether B's mean lies in A's 95% CI (empty
    where A is a single run, which has no CI)."""
    columns = METRIC_KEY + ["mean", "ci95", "n"]
    summaries = [summary_frame(metrics)[columns].astype({"ci95": float}) for metrics in (a, b)]  # a single run's None → NaN
    merged = _outer(*summaries, METRIC_KEY)
    both = merged["present"] == "both"
    difference = merged["mean_b"] - merged["mean_a"]
    relative = (difference / merged["mean_a"].abs()).mask(difference == 0, 0.0)  # A = 0: ±inf unless B = 0 too
    inside = _nullable(difference.abs() <= merged["ci95_a"], both & merged["ci95_a"].notna())
    return pd.DataFrame({
        **{column: merged[column] for column in METRIC_KEY},
        "present": merged["present"], "timing": merged["metric"].map(is_timing),
        "a_mean": merged["mean_a"], "a_ci95": merged["ci95_a"], "a_n": merged["n_a"].astype("Int64"),
        "b_mean": merged["mean_b"], "b_ci95": merged["ci95_b"], "b_n": merged["n_b"].astype("Int64"),
        "difference": difference, "relative_difference": relative, "b_in_a_ci95": inside,
    })


def claims_diff(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """One row per (experiment, claim, mode) of either set: each side's value ± 95% CI, n and
    verdict, B − A, and whether the verdict changed."""
    columns = CLAIM_KEY + ["quantity", "ours", "ci95", "n", "verdict"]
    merged = _outer(a[columns], b[columns], CLAIM_KEY)
    both = merged["present"] == "both"
    return pd.DataFrame({
        **{column: merged[column] for column in CLAIM_KEY},
        "present": merged["present"], "quantity": merged["quantity_a"].fillna(merged["quantity_b"]),
        "a_ours": merged["ours_a"], "a_ci95": merged["ci95_a"], "a_n": merged["n_a"].astype("Int64"),
        "a_verdict": merged["verdict_a"],
        "b_ours": merged["ours_b"], "b_ci95": merged["ci95_b"], "b_n": merged["n_b"].astype("Int64"),
        "b_verdict": merged["verdict_b"],
        "difference": merged["ours_b"] - merged["ours_a"],
        "verdict_changed": _nullable(merged["verdict_a"] != merged["verdict_b"], both),
    })


def _listed(lines: list[str]) -> list[str]:
    extra = len(lines) - LISTED
    return [f"  {line}" for line in lines[:LISTED]] + ([f"  … and {extra} more"] if extra > 0 else [])


def _one_sided(diff: pd.DataFrame, key: list[str]) -> list[str]:
    rows = diff[diff["present"] != "both"]
    return _listed([f"{row['present']}: {' / '.join(str(row[column]) for column in key)}" for _, row in rows.iterrows()])


def _metrics_summary(diff: pd.DataFrame) -> list[str]:
    both = diff[diff["present"] == "both"]
    results, timing = both[~both["timing"]], both[both["timing"]]
    lines = [f"metrics: {len(both)} compared ({len(results)} results, {len(timing)} timing); "
             f"{(diff['present'] == 'A only').sum()} in A only, {(diff['present'] == 'B only').sum()} in B only"]
    lines += _one_sided(diff, METRIC_KEY)
    ratios = (timing["b_mean"] / timing["a_mean"]).groupby(timing["metric"]).median()
    lines += [f"  timing (the machine and its load, not the model): {metric} median B/A {ratio:.3g}"
              for metric, ratio in ratios.items()]
    differing = results[results["difference"] != 0]
    ranked = differing.reindex(differing["relative_difference"].abs().sort_values(ascending=False, kind="stable").index)
    lines.append(f"{len(differing)} of {len(results)} results differ; the largest relative differences (B − A)/|A|:")
    lines += _listed([f"{row.experiment} / {row.variant} / {row.mode} / {row.metric}: {row.a_mean:.6g} → {row.b_mean:.6g} "
                      f"(B − A {row.difference:+.3g}, relative {row.relative_difference:+.3g})"
                      for row in ranked.itertuples()]) or ["  none: every mean is equal"]
    return lines


def _claims_summary(diff: pd.DataFrame) -> list[str]:
    both = diff[diff["present"] == "both"]
    changed = both[both["verdict_changed"].astype(bool)]
    lines = [f"claims: {len(both)} compared; {len(changed)} verdict(s) changed; "
             f"{(diff['present'] == 'A only').sum()} in A only, {(diff['present'] == 'B only').sum()} in B only"]
    lines += _one_sided(diff, CLAIM_KEY)
    lines += [f"  {row.claim} ({row.mode}): {row.a_verdict} → {row.b_verdict}" for row in changed.itertuples()]
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="result set A (the reference): a folder with metrics.csv and claims.csv")
    parser.add_argument("b", type=Path, help="result set B, compared against A")
    parser.add_argument("--out", type=Path, default=Path("results/compare"),
                        help=f"folder to write {METRICS_DIFF} and {CLAIMS_DIFF} to (default: results/compare)")
    parser.add_argument("--fail-on-verdict-change", action="store_true", help="exit with status 1 when a claim's verdict changed")
    args = parser.parse_args(argv)
    try:
        a, b = result_set.load(args.a), result_set.load(args.b)
    except result_set.ResultSetError as error:
        sys.exit(f"error: {error}")

    metrics = metrics_diff(a.metrics, b.metrics)
    without_claims = [f"{name} ({found.folder})" for name, found in (("A", a), ("B", b)) if found.claims is None]
    claims = None if without_claims else claims_diff(a.claims, b.claims)
    write_csv_atomically(metrics, args.out / METRICS_DIFF)
    if claims is None:
        (args.out / CLAIMS_DIFF).unlink(missing_ok=True)  # a diff left by an earlier comparison would pass for this one's
    else:
        write_csv_atomically(claims, args.out / CLAIMS_DIFF)

    lines = [f"A: {a.folder}", f"B: {b.folder}"] + _metrics_summary(metrics)
    if claims is None:
        lines.append(f"claims: not compared, no {result_set.CLAIMS_FILE} in {' and '.join(without_claims)}")
    else:
        lines += _claims_summary(claims)
    lines.append(f"wrote {args.out / METRICS_DIFF}" + ("" if claims is None else f" and {args.out / CLAIMS_DIFF}"))
    print("\n".join(lines))
    if args.fail_on_verdict_change and claims is not None and claims["verdict_changed"].any():
        sys.exit(1)


if __name__ == "__main__":
    main()
