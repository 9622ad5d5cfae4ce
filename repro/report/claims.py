"""Evaluate the claims of paper/claims.yaml (whose header documents the schema, expanded by
repro.report.claim_list when the config is checked): the paper's against our runs, our extension's
against our runs and each committed result set of its task. One row per claim and mode in a CSV, with
the seeds that would decide it (repro/report/power.py) and where it comes from (`source`: paper or
extension, or cited for a cited work's claim, which has no paper number and names the work in `cited`;
`result_set`: local or the committed set); repro.report.answer writes the report's pages from it."""
import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro.config import LOCAL_RESULT_SET
from repro.report import runs
from repro.report.power import seeds_to_decide
from repro.report.render import named_path
from repro.report.reported import Reported
from repro.report.stats import Summary, summarize
from repro.report.verdict import AT_CHANCE, INCONCLUSIVE, NOT_REPRODUCED, RANKED, REPRODUCED, Band, at_chance, verdict

PAPER = "paper"  # the `source` of the paper's claims; claim_list.EXTENSION marks ours
COLUMNS = ["source", "result_set", "experiment", "table", "claim", "text", "cited", "kind", "mode", "quantity", "paper", "ours",
           "ci95", "n", "tolerance", "band_low", "band_high", "verdict", "seeds_to_decide"]
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


def _paper(reported: Reported, key: str | None) -> float:
    """The paper's number behind a key; NaN for a claim of ours or of a cited work, which the paper does not make."""
    return math.nan if key is None else reported.at(key)


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
    return Comparison(claim["metric"], _paper(reported, claim["paper"]), ours, band, f"[{low:g}, {high:g}]", verdict(ours, band))


def _reduction_pct(claim, metrics, reported, mode) -> Comparison:
    paper, tolerance = reported.at(claim["paper"]), claim["tolerance"]
    subject, reference = _paired_values(metrics, claim, claim["variant"], claim["reference"], mode)
    ours = summarize(100 * (1 - subject / reference))
    band = Band(paper - tolerance, paper + tolerance)
    quantity = f"100(1 - {claim['variant']}/{claim['reference']}) {claim['metric']}"
    return Comparison(quantity, paper, ours, band, f"±{tolerance:g}", verdict(ours, band))


def _ordering(claim, metrics, reported, mode) -> Comparison:
    """The variant beats every model of `than`; the row shows the worst verdict, then the closest margin. Where
    the claim has a chance level (a task's, for our extension), a pair of models both at chance is `at chance`."""
    sign = 1 if claim["kind"] == "greater_than" else -1
    chance = claim.get("chance")
    comparisons = []
    for other in claim["than"]:
        mine, theirs = _paired_values(metrics, claim, claim["variant"], other["variant"], mode)
        ours = summarize(sign * (mine - theirs))
        paper = sign * (_paper(reported, claim["paper"]) - _paper(reported, other.get("paper")))
        band = Band(0.0, float("inf"), strict_low=True)
        winner, loser = (claim["variant"], other["variant"]) if sign > 0 else (other["variant"], claim["variant"])
        quantity = f"{winner} - {loser} {claim['metric']}"
        guessing = chance is not None and at_chance(summarize(mine), chance) and at_chance(summarize(theirs), chance)
        comparisons.append(Comparison(quantity, paper, ours, band, "> 0", AT_CHANCE if guessing else verdict(ours, band)))
    return max(comparisons, key=lambda c: (RANKED.index(c.verdict), -c.ours.mean))


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


def evaluate(claims: list[dict], metrics: pd.DataFrame, reported: Reported, result_sets: dict | None = None) -> pd.DataFrame:
    """`metrics`: this run's; `result_sets`: {name: a committed set's metrics} for the claims that name one."""
    by_set = {LOCAL_RESULT_SET: metrics, **(result_sets or {})}
    rows = []
    for claim in claims:
        if claim["kind"] not in KINDS:
            raise ValueError(f"claim {claim['id']}: unknown kind {claim['kind']!r}; valid: {', '.join(KINDS)}")
        result_set = claim.get("result_set", LOCAL_RESULT_SET)
        if result_set not in by_set:
            raise ValueError(f"claim {claim['id']}: no metrics of result set {result_set!r}; given: {', '.join(by_set)}")
        own = by_set[result_set][by_set[result_set]["experiment"] == claim["experiment"]]
        for mode in claim_modes(own, claim):
            c = KINDS[claim["kind"]](claim, own, reported, mode)
            decidable = claim["kind"] in INTERVAL_KINDS and c.verdict != AT_CHANCE  # no seed count orders guesses
            rows.append({
                "source": claim.get("source", PAPER), "result_set": result_set,
                "experiment": claim["experiment"], "table": claim["table"], "claim": claim["id"], "text": claim["text"],
                "cited": claim.get("cited"), "kind": claim["kind"], "mode": mode, "quantity": c.quantity, "paper": c.paper, "ours": c.ours.mean,
                "ci95": c.ours.ci95, "n": c.ours.n, "tolerance": c.tolerance, "band_low": c.band.low,
                "band_high": c.band.high, "verdict": c.verdict,
                "seeds_to_decide": seeds_to_decide(c.ours.mean, c.ours.std, c.band) if decidable else None,
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", required=True,
                        help="the full claim list as JSON, as repro.config.validate_claims expands paper/claims.yaml")
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics.csv (all experiments)")
    parser.add_argument("--result-set", type=named_path, action="append", default=[], metavar="NAME=PATH",
                        help="a committed result set's metrics.csv, for the extension claims evaluated on it; repeat for each")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--out-csv", required=True, type=Path, help="results/claims.csv")
    args = parser.parse_args(argv)
    result_sets = {name: pd.read_csv(path) for name, path in args.result_set}
    results = evaluate(json.loads(args.claims), pd.read_csv(args.metrics), Reported(args.reported), result_sets)
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out_csv, index=False)


if __name__ == "__main__":
    main()
