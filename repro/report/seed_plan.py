"""The seed count each recipe needs for its claims to be decided, planned once from the claims of
an earlier run (repro/report/power.py): per recipe, its claim rows, how many are decided, the seeds
that would decide each undecided one if its mean and spread stayed as observed, and the plan: the
fewest seeds that decide every claim decidable with at most --max-seeds. Counts are per recipe
because every experiment of a recipe trains the same seeds."""
import argparse
import math
from pathlib import Path

import pandas as pd

from repro.artifacts import print_and_write
from repro.config import LOCAL_RESULT_SET, load
from repro.report.claim_list import ORDERING_KINDS
from repro.report.claims import INTERVAL_KINDS
from repro.report.power import CANNOT_BE_DECIDED, seeds_to_decide
from repro.report.stats import t_975
from repro.report.verdict import INCONCLUSIVE, Band


def observed_std(row) -> float | None:
    """The spread over seeds behind a claim row, from its interval: ci95 = t · std / √n."""
    if row.n < 2 or pd.isna(row.ci95):
        return None
    return row.ci95 * math.sqrt(row.n) / t_975(int(row.n) - 1)


def planned_rows(claims: pd.DataFrame) -> pd.DataFrame:
    """The undecided interval claims, each with the seeds that would decide it."""
    undecided = claims[claims["kind"].isin(INTERVAL_KINDS) & (claims["verdict"] == INCONCLUSIVE)].copy()
    undecided["needs"] = [
        seeds_to_decide(row.ours, observed_std(row), Band(row.band_low, row.band_high, strict_low=row.kind in ORDERING_KINDS))  # a margin must exceed 0
        for row in undecided.itertuples()]
    return undecided


def plan(claims: pd.DataFrame, config: dict, max_seeds: int) -> pd.DataFrame:
    if "result_set" in claims:  # a committed result set's rows are another machine's seeds (older files have none)
        claims = claims[claims["result_set"] == LOCAL_RESULT_SET]
    recipe_of = {name: spec["recipe"] for name, spec in config["experiments"].items()}
    undecided = planned_rows(claims)
    rows = []
    for recipe in sorted(set(recipe_of.values())):
        experiments = sorted(name for name, r in recipe_of.items() if r == recipe)
        own = claims[claims["experiment"].isin(experiments)]
        mine = undecided[undecided["experiment"].isin(experiments)]
        counts = [n for n in mine["needs"] if n != CANNOT_BE_DECIDED]
        within = [n for n in counts if n <= max_seeds]
        ran = int(own["n"].max()) if len(own) else 0  # the seeds of the analysed run
        rows.append({
            "recipe": recipe, "experiments": " ".join(experiments), "seeds_run": ran, "claim_rows": len(own),
            "undecided": len(mine), "decidable_within_max": len(within),
            "needs": " ".join(str(n) for n in sorted(counts)),
            "beyond_max": len(counts) - len(within),
            "cannot_be_decided": int((mine["needs"] == CANNOT_BE_DECIDED).sum()),
            "planned_seeds": max([ran, *within]) if len(own) else None,  # no claim: nothing to plan
        })
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", required=True, type=Path, help="results/claims.csv of an earlier run")
    parser.add_argument("--config", nargs="+", type=Path, default=[Path("config/config.yaml")],
                        help="the config (and overlays) whose experiments name their recipes")
    parser.add_argument("--max-seeds", type=int, default=10, help="the most seeds a recipe may be given")
    parser.add_argument("--out", type=Path, help="also write the plan as CSV")
    args = parser.parse_args(argv)
    result = plan(pd.read_csv(args.claims), load(*args.config), args.max_seeds)
    print_and_write(result, args.out)


if __name__ == "__main__":
    main()
