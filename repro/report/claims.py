"""Evaluate the paper's claims (paper/claims.yaml, whose header documents the schema, expanded by
repro.report.claim_list when the config is checked) against our runs: one row per claim and mode in a CSV, and a LaTeX table of
the same rows for the report."""
import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro.report import latex, runs
from repro.report.reported import Reported
from repro.report.stats import Summary, summarize

REPRODUCED, NOT_REPRODUCED, INCONCLUSIVE = "reproduced", "not reproduced", "inconclusive"
VERDICTS = (REPRODUCED, INCONCLUSIVE, NOT_REPRODUCED)  # best to worst: of several comparisons, the worst wins
COLUMNS = ["experiment", "table", "claim", "text", "kind", "mode", "quantity", "paper", "ours", "ci95", "n",
           "tolerance", "band_low", "band_high", "verdict"]


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    strict_low: bool = False  # the low edge itself is outside (a margin of 0 is no win)

    def contains(self, value: float) -> bool:
        above = value > self.low if self.strict_low else value >= self.low
        return above and value <= self.high


@dataclass(frozen=True)
class Comparison:
    quantity: str   # what `paper` and `ours` measure
    paper: float
    ours: Summary
    band: Band
    tolerance: str  # the band in words
    verdict: str


def verdict(ours: Summary, band: Band) -> str:
    """Reproduced if the 95% CI lies in the band, not reproduced if it misses it, else inconclusive;
    a single run (no CI) is judged on its value."""
    if ours.ci95 is None:
        return REPRODUCED if band.contains(ours.mean) else NOT_REPRODUCED
    low, high = ours.mean - ours.ci95, ours.mean + ours.ci95
    if band.contains(low) and band.contains(high):
        return REPRODUCED
    if high < band.low or low > band.high or (band.strict_low and high == band.low):
        return NOT_REPRODUCED
    return INCONCLUSIVE


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
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def _number(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3f}".rstrip("0").rstrip(".")


def table_rows(results: pd.DataFrame) -> list[dict]:
    return [{"table": row.table, "text": row.text, "quantity": row.quantity, "mode": row.mode, "paper": _number(row.paper),
             "ours": _number(row.ours), "ci95": _number(row.ci95), "n": row.n, "tolerance": row.tolerance,
             "verdict": row.verdict} for row in results.itertuples()]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", required=True,
                        help="the full claim list as JSON, as repro.config.validate_claims expands paper/claims.yaml")
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics.csv (all experiments)")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/claims_table.tex.j2")
    parser.add_argument("--caption", required=True, help="the table's caption (LaTeX)")
    parser.add_argument("--out-csv", required=True, type=Path, help="results/claims.csv")
    parser.add_argument("--out-tex", required=True, type=Path, help="paper/tables/claims.tex")
    args = parser.parse_args(argv)
    results = evaluate(json.loads(args.claims), pd.read_csv(args.metrics), Reported(args.reported))
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    results.to_csv(args.out_csv, index=False)
    latex.render(args.template, args.out_tex, caption=latex.Latex(args.caption), rows=table_rows(results))


if __name__ == "__main__":
    main()
