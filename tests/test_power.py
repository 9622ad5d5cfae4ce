"""repro/report/power.py: the seed count that would decide a claim if its mean stayed where it is."""
import math

import pandas as pd
import pytest

from repro.report import seed_plan
from repro.report.power import CANNOT_BE_DECIDED, seeds_to_decide
from repro.report.stats import t_975
from repro.report.verdict import Band


def half_width(std: float, n: int) -> float:
    return t_975(n - 1) * std / math.sqrt(n)


@pytest.mark.parametrize("mean, std, band", [
    (5.10, 0.04, Band(5.074, 5.174)),            # inside, 0.026 from the low edge
    (5.30, 0.20, Band(5.074, 5.174)),            # outside, above
    (13.0, 1.5, Band(12.0, 14.0)),               # inside, centred
    (0.01, 0.02, Band(0.0, math.inf, strict_low=True)),  # a small win
    (-0.01, 0.02, Band(0.0, math.inf, strict_low=True)),  # a small loss
    (96.0, 0.5, Band(95.0, 100.0)),               # decided by the t table's far end (n > 31)
])
def test_the_count_is_the_first_whose_interval_decides(mean, std, band):
    n = seeds_to_decide(mean, std, band)
    margin = band.margin(mean)
    assert half_width(std, n) <= margin if band.contains(mean) else half_width(std, n) < margin
    if n > 2:
        previous = half_width(std, n - 1)
        assert previous > margin if band.contains(mean) else previous >= margin


def test_more_spread_needs_more_seeds_and_beyond_the_t_table_the_normal_quantile_rules():
    band = Band(12.0, 14.0)
    counts = [seeds_to_decide(12.5, std, band) for std in (0.1, 0.5, 1.0, 2.0)]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert seeds_to_decide(12.5, 2.0, band) == math.ceil((1.96 * 2.0 / 0.5) ** 2)  # 62 seeds: z, not t


def test_a_mean_on_an_edge_cannot_be_decided_and_a_single_seed_plans_nothing():
    assert seeds_to_decide(14.0, 0.5, Band(12.0, 14.0)) == CANNOT_BE_DECIDED
    assert seeds_to_decide(0.0, 0.5, Band(0.0, math.inf, strict_low=True)) == CANNOT_BE_DECIDED
    assert seeds_to_decide(13.0, None, Band(12.0, 14.0)) is None


def test_no_spread_is_decided_by_two_seeds():
    assert seeds_to_decide(13.0, 0.0, Band(12.0, 14.0)) == 2
    assert seeds_to_decide(14.0, 0.0, Band(12.0, 14.0)) == 2  # on the edge, but exactly: inside


def test_the_seed_plan_gives_each_recipe_the_seeds_its_claims_decidable_within_the_cap_need(paper_config):
    def row(experiment, claim, verdict, ours, ci95, band=(12.0, 14.0), kind="range"):
        return {"experiment": experiment, "claim": claim, "kind": kind, "mode": "faithful", "ours": ours, "ci95": ci95,
                "n": 3, "band_low": band[0], "band_high": band[1], "verdict": verdict}

    std = 1.0
    ci95 = t_975(2) * std / math.sqrt(3)
    claims = pd.DataFrame([
        row("recall", "a", "inconclusive", 12.9, ci95),          # 0.9 from the edge: a few seeds
        row("generic_latent_recall", "b", "inconclusive", 12.2, ci95),  # 0.2 from the edge: beyond 10
        row("recall", "c", "reproduced", 13.0, 0.1),
        row("lm", "d", "inconclusive", 0.0, ci95, band=(0.0, math.inf), kind="less_than"),  # on the edge
    ])
    plan = seed_plan.plan(claims, paper_config, max_seeds=10).set_index("recipe")
    expected = seeds_to_decide(12.9, std, Band(12.0, 14.0))
    assert 3 < expected <= 10
    assert plan.loc["R-AR", "planned_seeds"] == expected and plan.loc["R-AR", "beyond_max"] == 1
    assert plan.loc["R-AR", "claim_rows"] == 3 and plan.loc["R-AR", "undecided"] == 2
    assert plan.loc["R-LM", "cannot_be_decided"] == 1 and plan.loc["R-LM", "planned_seeds"] == 3
    assert pd.isna(plan.loc["R-TRI", "planned_seeds"])  # no claim read: nothing planned


def test_the_seed_plan_reads_this_runs_rows_not_a_committed_sets(paper_config):
    ci95 = t_975(2) / math.sqrt(3)
    rows = [{"result_set": result_set, "experiment": "recall_distance_128", "claim": f"x_{result_set}", "kind": "range",
             "mode": "faithful", "ours": 95.5, "ci95": ci95, "n": n, "band_low": 95.0, "band_high": 100.0, "verdict": "inconclusive"}
            for result_set, n in (("local", 3), ("recall_distance_h100", 5))]
    plan = seed_plan.plan(pd.DataFrame(rows), paper_config, max_seeds=10).set_index("recipe")
    assert plan.loc["R-ARD", "claim_rows"] == 1 and plan.loc["R-ARD", "seeds_run"] == 3
