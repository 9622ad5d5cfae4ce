"""Evaluate the paper's claims (paper/claims.yaml, whose header documents the schema, expanded by
repro.report.claim_list when the config is checked) against our runs: one row per claim and mode in a CSV, with the seeds that would decide it
(repro/report/power.py); repro.report.answer writes the report's pages from it."""
import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro.report import runs
from repro.report.power import seeds_to_decide
from repro.report.reported import Reported
from repro.report.stats import Summary, summarize
from repro.report.verdict import INCONCLUSIVE, NOT_REPRODUCED, REPRODUCED, VERDICTS, Band, verdict

COLUMNS = ["experiment", "table", "claim", "text", "kind", "mode", "quantity", "paper", "ours", "ci95", "n",
           "tolerance", "band_low", "band_high", "verdict", "seeds_to_decide"]
# Kinds judged by the 95% interval of a mean, for which a seed count can be planned.
INTERVAL_KINDS = ("within", "range", "reduction_pct", "less_than", "greater_than")


@dataclass(frozen=True)
class Comparison:
    quantity: str   # what `paper` and `ours` measure
    paper: float
    ours: Summary
    band: Band
    tolerance: str  # the band in words
    verdict: str


def _values(metrics: pd.DataFrame, claim: dict, variant: str, mode: str) -> pd.Series:
    found = runs.values(metrics, variant, mode, claim["metric"])
    if found.empty:
        raise ValueError(f"claim {claim['id']}: no {claim['metric']} runs of {variant} in experiment {claim['experiment']}")
    return found


def _paired_values(metrics: pd.DataFrame, claim: dict, first: str, second: str, mode: str) -> tuple[pd.Series, pd.Series]:
    """Two models' values, paired by seed (both models must have run the same seeds)."""
    a, b = _values(metrics, claim, first, mode), _values(metrics, claim, second, mode)
    if list(a.index) != list(b.index):
        raise ValueError(f"claim {claim['id']}: cannot pair {first} and {second} by seed "
                         f"({list(a.index)} vs {list(b.index)})")
    return a, b


def _exact(claim, metrics, reported, mode) -> Comparison:
    paper = reported.at(claim["paper"])
    ours = _values(metrics, claim, claim["variant"], mode)
    band = Band(paper, paper)
    found = REPRODUCED if (ours == paper).all() else NOT_REPRODUCED
    return Comparison(claim["metric"], paper, summarize(ours), band, "exact", found)


def _within(claim, metrics, reported, mode) -> Comparison:
    paper, tolerance = reported.at(claim["paper"]), claim["tolerance"]
    ours = summarize(_values(metrics, claim, claim["variant"], mode))
    band = Band(paper - tolerance, paper + tolerance)
    return Comparison(claim["metric"], paper, ours, band, f"±{tolerance:g}", verdict(ours, band))


def _range(claim, metrics, reported, mode) -> Comparison:
    low, high = claim["band"]
    ours = summarize(_values(metrics, claim, claim["variant"], mode))
    band = Band(low, high)
    return Comparison(claim["metric"], reported.at(claim["paper"]), ours, band, f"[{low:g}, {high:g}]", verdict(ours, band))


def _reduction_pct(claim, metrics, reported, mode) -> Comparison:
    paper, tolerance = reported.at(claim["paper"]), claim["tolerance"]
    subject, reference = _paired_values(metrics, claim, claim["variant"], claim["reference"], mode)
    ours = summarize(100 * (1 - subject / reference))
    band = Band(paper - tolerance, paper + tolerance)
    quantity = f"100(1 - {claim['variant']}/{claim['reference']}) {claim['metric']}"
    return Comparison(quantity, paper, ours, band, f"±{tolerance:g}", verdict(ours, band))


def _ordering(claim, metrics, reported, mode) -> Comparison:
    """The variant beats every model of `than`; the row shows the worst verdict, then the closest margin."""
    sign = 1 if claim["kind"] == "greater_than" else -1
    comparisons = []
    for other in claim["than"]:
        mine, theirs = _paired_values(metrics, claim, claim["variant"], other["variant"], mode)
        ours = summarize(sign * (mine - theirs))
        paper = sign * (reported.at(claim["paper"]) - reported.at(other["paper"]))
        band = Band(0.0, float("inf"), strict_low=True)
        winner, loser = (claim["variant"], other["variant"]) if sign > 0 else (other["variant"], claim["variant"])
        quantity = f"{winner} - {loser} {claim['metric']}"
        comparisons.append(Comparison(quantity, paper, ours, band, "> 0", verdict(ours, band)))
    return max(comparisons, key=lambda c: (VERDICTS.index(c.verdict), -c.ours.mean))


def _less_than_every_seed(claim, metrics, reported, mode) -> Comparison:
    """The variant's metric is below the other model's in every seed (pairs by seed); ours and the
    paper's are the share of seeds where it is, the paper's from its per-seed values."""
    other = claim["than"][0]["variant"]
    mine, theirs = _paired_values(metrics, claim, claim["variant"], other, mode)
    won = 100.0 * float((mine < theirs).mean())
    paper = 100.0 * sum(reported.at(pair["variant"]) < reported.at(pair["than"]) for pair in claim["paper_seeds"]) \
        / len(claim["paper_seeds"])
    found = REPRODUCED if won == 100.0 else NOT_REPRODUCED if won == 0.0 else INCONCLUSIVE
    quantity = f"% of seeds with {claim['variant']} < {other} {claim['metric']}"
    return Comparison(quantity, paper, Summary(won, None, len(mine), None), Band(100.0, 100.0), "every seed", found)


KINDS = {"exact": _exact, "within": _within, "range": _range, "reduction_pct": _reduction_pct,
         "less_than": _ordering, "greater_than": _ordering, "less_than_every_seed": _less_than_every_seed}


def _variants(claim: dict) -> list[str]:
    return [claim["variant"]] + [other["variant"] for other in claim.get("than", [])] + \
        ([claim["reference"]] if "reference" in claim else [])


def claim_modes(metrics: pd.DataFrame, claim: dict) -> list[str]:
    """Faithful, then every other mode in which one of the claim's models has runs."""
    own = metrics[metrics["variant"].isin(_variants(claim))]
    return [runs.BASELINE_MODE] + sorted(set(own["mode"]) - {runs.BASELINE_MODE})


def evaluate(claims: list[dict], metrics: pd.DataFrame, reported: Reported) -> pd.DataFrame:
    rows = []
    for claim in claims:
        if claim["kind"] not in KINDS:
            raise ValueError(f"claim {claim['id']}: unknown kind {claim['kind']!r}; valid: {', '.join(KINDS)}")
        own = metrics[metrics["experiment"] == claim["experiment"]]
        for mode in claim_modes(own, claim):
            c = KINDS[claim["kind"]](claim, own, reported, mode)
            rows.append({
                "experiment": claim["experiment"], "table": claim["table"], "claim": claim["id"], "text": claim["text"],
                "kind": claim["kind"], "mode": mode, "quantity": c.quantity, "paper": c.paper, "ours": c.ours.mean,
                "ci95": c.ours.ci95, "n": c.ours.n, "tolerance": c.tolerance, "band_low": c.band.low,
                "band_high": c.band.high, "verdict": c.verdict,
                "seeds_to_decide": seeds_to_decide(c.ours.mean, c.ours.std, c.band) if claim["kind"] in INTERVAL_KINDS else None,
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", required=True,
                        help="the full claim list as JSON, as repro.config.validate_claims expands paper/claims.yaml")
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics.csv (all experiments)")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--out-csv", required=True, type=Path, help="results/claims.csv")
    args = parser.parse_args(argv)
    results = evaluate(json.loads(args.claims), pd.read_csv(args.metrics), Reported(args.reported))
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out_csv, index=False)


if __name__ == "__main__":
    main()
