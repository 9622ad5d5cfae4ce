"""The report side: statistics over seeds, comparison tables, claims, Figure 2, and the LaTeX report
(compiled with the real TeX install). Every input is a small fake written to tmp_path."""
import copy
import json
import math
import statistics
import struct
import subprocess
import sys
from pathlib import Path

import matplotlib.colors
import pandas as pd
import pytest
import yaml

from repro import slot_capacity, triple_audit
from repro.config import (ConfigError, benchmark_names, claim_result_sets, load, report_tables, reported_numbers, ruler_jobs,
                          ruler_result_sets, ruler_table_spec, run_modes, slot_ladder, table_spec, task_lengths, task_result_sets,
                          validate_answer, validate_claims)
from repro.depth.measure import METRICS as DEPTH_METRICS
from repro.figures import depth_diagnostics, fig1_architecture, fig2_lm_bpb, fig3_throughput, recall_distance, sp_capacity
from repro.report import (answer, captions, claims, fix_effect, latex, power, quantities, render, ruler_table, stats,
                          table, train_step_table, variables)
from repro.report.facts import config_facts
from repro.report.figure_settings import (capacity_figure_arguments, figure2_arguments, recall_distance_arguments,
                                         slot_capacity_arguments)
from repro.report.reported import Reported
from repro.report.verdict import Band
from repro.ruler import aggregate as ruler_aggregate
from repro.ruler.tasks import TASKS as RULER_TASKS

from conftest import REPO, repository_copy

PAPER = REPO / "paper"
TEMPLATES = PAPER / "templates"
COLUMNS = ["experiment", "variant", "mode", "seed", "metric", "value"]
LM_SPEC = {
    "caption": "LM pilot (paper Table 1).", "label": "tab:table1_lm",
    "columns": [{"metric": "params", "label": "Params", "format": "{:,.0f}"},
                {"metric": "val_bpb", "label": "Val. BPB", "format": "{:.3f}"},
                {"metric": "train_loss_final", "label": "Train loss", "format": "{:.3f}"}],
    "groups": [{"title": None, "experiment": "lm", "paper_experiment": "T1_lm_pilot", "rows": [
        {"variant": "transformer", "mode": "both", "label": "Transformer", "paper_name": "transformer"},
        {"variant": "unimatrix_core", "mode": "faithful", "label": "UniMatrix-Core", "paper_name": "unimatrix-core"},
        {"variant": "unimatrix_core", "mode": "corrected", "label": "UniMatrix-Core", "paper_name": "unimatrix-core"}]}],
}


def tidy(experiment: str, runs: dict) -> pd.DataFrame:
    """runs: {(variant, mode): {metric: [value per seed]}} -> the tidy metrics frame (seeds 7, 1007, ...)."""
    rows = [(experiment, variant, mode, 7 + 1000 * i, metric, value)
            for (variant, mode), metrics in runs.items() for metric, values in metrics.items()
            for i, value in enumerate(values)]
    return pd.DataFrame(rows, columns=COLUMNS)


def write_reported(path: Path, rows) -> Path:
    pd.DataFrame(rows, columns=["experiment", "model", "metric", "value"]).to_csv(path, index=False)
    return path


def paper_value(experiment: str, model: str, metric: str) -> float:
    return Reported(PAPER / "reported.csv").get(experiment, model, metric)


def recall_distance_runs(config: dict) -> pd.DataFrame:
    """Every run of the config's recall-over-distance experiments (three seeds), all at chance."""
    return pd.concat([tidy(experiment, {(variant, mode): {"accuracy_pct": [1.5, 1.6, 1.7]}
                                        for variant in config["experiments"][experiment]["variants"]
                                        for mode in run_modes(config, experiment, variant)})
                      for experiment in task_lengths(config, "recall_distance")], ignore_index=True)


def full_metrics(config: dict) -> pd.DataFrame:
    """Every run of the config (three seeds), near the paper's number wherever a report table sets one
    beside it; a corrected run sits 0.02 above its faithful one. Parameter counts, and values of 100%
    (bands that end there leave no room for spread), are the same for every seed."""
    rows, offsets = {}, (-0.01, 0.0, 0.01)
    for name in config["report"]["tables"]:
        spec = table_spec(config, name)
        for group, column in ((g, c) for g in spec["groups"] for c in spec["columns"]):
            experiment = group["metric_experiments"].get(column["metric"], group["experiment"])
            for row in group["rows"]:
                centre = paper_value(group["paper_experiment"], row["paper_name"], column.get("paper_metric", column["metric"]))
                if centre is None:
                    continue
                constant = column["metric"] == "params" or centre == 100.0
                for mode in run_modes(config, experiment, row["variant"]):
                    shift = 0.02 if mode == "corrected" else 0.0
                    values = [centre] * 3 if constant else [centre + shift + o for o in offsets]
                    for i, value in enumerate(values):
                        key = (experiment, row["variant"], mode, 7 + 1000 * i, column["metric"])
                        rows.setdefault(key, value)
    return pd.DataFrame([(*key, value) for key, value in rows.items()], columns=COLUMNS)


# ---- statistics ---------------------------------------------------------------------------------

def test_summary_of_three_values_uses_student_t_with_two_degrees_of_freedom():
    summary = stats.summarize([1.0, 2.0, 3.0])
    assert summary.mean == pytest.approx(2.0)
    assert summary.std == pytest.approx(1.0)
    assert summary.n == 3
    assert summary.ci95 == pytest.approx(4.303 / math.sqrt(3), abs=1e-3)  # 2.484


def test_summary_matches_the_standard_library_and_uses_the_normal_quantile_beyond_30():
    values = [0.5 * i + (i % 3) for i in range(40)]
    summary = stats.summarize(values)
    assert summary.std == pytest.approx(statistics.stdev(values))
    assert summary.ci95 == pytest.approx(1.96 * statistics.stdev(values) / math.sqrt(40))
    assert stats.t_975(10) == pytest.approx(2.228, abs=1e-3)
    assert stats.t_975(30) == pytest.approx(2.042, abs=1e-3)


def test_a_single_value_has_no_spread_and_no_confidence_interval():
    summary = stats.summarize([5.0])
    assert (summary.mean, summary.std, summary.n, summary.ci95) == (5.0, None, 1, None)


# ---- comparison table ---------------------------------------------------------------------------

def test_table_puts_the_paper_value_beside_mean_std_and_n(tmp_path):
    transformer_bpb, core_bpb, core_corrected_bpb = [5.10, 5.14], [5.07, 5.09, 5.11], [5.3]
    metrics = tidy("lm", {
        ("transformer", "faithful"): {"params": [174848, 174848], "val_bpb": transformer_bpb, "train_loss_final": [3.1, 3.3]},
        ("unimatrix_core", "faithful"): {"params": [83140] * 3, "val_bpb": core_bpb, "train_loss_final": [3.0] * 3},
        ("unimatrix_core", "corrected"): {"params": [83140], "val_bpb": core_corrected_bpb, "train_loss_final": [3.4]},
    })
    metrics_csv, out = tmp_path / "lm.csv", tmp_path / "tables" / "table1_lm.tex"
    metrics.to_csv(metrics_csv, index=False)
    table.main(["--spec", json.dumps(LM_SPEC), "--metrics", str(metrics_csv), "--reported", str(PAPER / "reported.csv"),
                "--template", str(TEMPLATES / "comparison_table.tex.j2"), "--out", str(out), "--out-csv", str(tmp_path / "t1.csv")])
    rows = {line.split(" & ")[0] + "/" + line.split(" & ")[1]: line.split(" & ")
            for line in out.read_text().splitlines() if line.startswith(("Transformer", "UniMatrix"))}
    assert set(rows) == {"Transformer/both", "UniMatrix-Core/faithful", "UniMatrix-Core/corrected"}
    transformer = rows["Transformer/both"]
    assert transformer[2] == f"{paper_value('T1_lm_pilot', 'transformer', 'params'):,.0f}"
    assert transformer[3] == "174,848"  # identical across seeds: no spread shown
    assert transformer[4] == f"{paper_value('T1_lm_pilot', 'transformer', 'val_bpb'):.3f}"
    assert transformer[5] == f"{statistics.mean(transformer_bpb):.3f} $\\pm$ {statistics.stdev(transformer_bpb):.3f}"
    assert transformer[6] == "---"  # the paper prints no training loss
    assert transformer[-1].rstrip(" \\") == "2"
    core = rows["UniMatrix-Core/faithful"]
    assert core[5] == f"{statistics.mean(core_bpb):.3f} $\\pm$ {statistics.stdev(core_bpb):.3f}"
    assert core[-1].rstrip(" \\") == "3"
    corrected = rows["UniMatrix-Core/corrected"]
    assert corrected[4] == f"{paper_value('T1_lm_pilot', 'unimatrix-core', 'val_bpb'):.3f}"
    assert corrected[5] == f"{core_corrected_bpb[0]:.3f}"  # one seed: no std
    assert corrected[-1].rstrip(" \\") == "1"
    assert "\\caption{LM pilot (paper Table 1).}" in out.read_text()
    shown = pd.read_csv(tmp_path / "t1.csv", dtype=str).set_index(["model", "mode"])  # the same rows, for the HTML report
    assert list(shown.index) == [("Transformer", "both"), ("UniMatrix-Core", "faithful"), ("UniMatrix-Core", "corrected")]
    assert shown.loc[("UniMatrix-Core", "faithful"), ["val_bpb paper", "val_bpb mean", "val_bpb n"]].tolist() == [
        core[4], f"{statistics.mean(core_bpb):.3f}", "3"]
    assert shown.loc[("UniMatrix-Core", "faithful"), "val_bpb std"] == f"{statistics.stdev(core_bpb):.3f}"


def test_table_groups_take_each_variant_from_its_own_experiment(tmp_path):
    row = {"variant": "transformer", "mode": "both", "label": "Transformer", "paper_name": "transformer"}
    spec = {"caption": "Retrieval.", "label": "tab:t4", "columns": [{"metric": "accuracy_pct", "label": "Acc", "format": "{:.1f}"}],
            "groups": [{"title": "Original pilot", "experiment": "recall", "paper_experiment": "T4_recall_original_pilot", "rows": [row]},
                       {"title": "No dropout", "experiment": "retrieval", "paper_experiment": "T4_recall_nodropout_pilot", "rows": [row]}]}
    paths = []
    for experiment, accuracy in (("recall", [20.0, 22.0]), ("retrieval", [30.0, 30.0])):
        paths.append(tmp_path / f"{experiment}.csv")
        tidy(experiment, {("transformer", "faithful"): {"accuracy_pct": accuracy}}).to_csv(paths[-1], index=False)
    out = tmp_path / "t4.tex"
    table.main(["--spec", json.dumps(spec), "--metrics", *map(str, paths), "--reported", str(PAPER / "reported.csv"),
                "--template", str(TEMPLATES / "comparison_table.tex.j2"), "--out", str(out), "--out-csv", str(tmp_path / "t4.csv")])
    lines = out.read_text().splitlines()
    titles = [i for i, line in enumerate(lines) if "\\emph{Original pilot}" in line or "\\emph{No dropout}" in line]
    rows = [line.split(" & ") for line in lines if line.startswith("Transformer")]
    assert len(titles) == 2 and titles[0] < titles[1]
    assert "\\multicolumn{5}" in lines[titles[0]]  # model, mode, paper and ours, n
    assert rows[0][2:4] == [f"{paper_value('T4_recall_original_pilot', 'transformer', 'accuracy_pct'):.1f}",
                            f"21.0 $\\pm$ {statistics.stdev([20.0, 22.0]):.1f}"]
    assert rows[1][2:4] == [f"{paper_value('T4_recall_nodropout_pilot', 'transformer', 'accuracy_pct'):.1f}", "30.0"]


def test_data_strings_are_escaped_and_latex_markup_is_kept():
    assert latex.escape("a_b & 50% #1 {x} ~ ^ \\") == \
        "a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}"
    template = latex.environment(TEMPLATES).from_string("<< data >>|<< markup >>|<< missing >>")
    assert template.render(data="Acc (%)", markup=latex.Latex("Acc (\\%)"), missing=None) == "Acc (\\%)|Acc (\\%)|---"


# ---- claims -------------------------------------------------------------------------------------

def claim(kind: str, variant: str = "unimatrix_core", **fields) -> dict:
    return {"id": f"{kind}_{variant}", "table": "Table 1", "text": "a claim", "experiment": "lm", "kind": kind,
            "metric": "val_bpb", "variant": variant, "paper": f"P/{variant}/val_bpb", **fields}


def evaluate(tmp_path, claim_list, runs) -> pd.DataFrame:
    reported = write_reported(tmp_path / "reported.csv", [
        ("P", "transformer", "val_bpb", 5.124), ("P", "unimatrix_core", "val_bpb", 5.084),
        ("P", "unimatrix_core", "params", 83140), ("P", "unimatrix_core", "reduction", 52.5)])
    return claims.evaluate(claim_list, tidy("lm", runs), Reported(reported)).set_index(["claim", "mode"])


def test_claim_within_tolerance_is_reproduced_and_outside_is_not(tmp_path):
    within = evaluate(tmp_path, [claim("within", tolerance=0.05)],
                      {("unimatrix_core", "faithful"): {"val_bpb": [5.08, 5.09, 5.10]}})
    outside = evaluate(tmp_path, [claim("within", tolerance=0.05)],
                       {("unimatrix_core", "faithful"): {"val_bpb": [5.30, 5.31, 5.32]}})
    assert within.loc[("within_unimatrix_core", "faithful"), "verdict"] == "reproduced"
    assert outside.loc[("within_unimatrix_core", "faithful"), "verdict"] == "not reproduced"
    row = within.loc[("within_unimatrix_core", "faithful")]
    assert row["paper"] == pytest.approx(5.084)
    assert row["ours"] == pytest.approx(5.09)
    assert row["ci95"] == pytest.approx(stats.summarize([5.08, 5.09, 5.10]).ci95)
    assert row["n"] == 3
    assert (row["band_low"], row["band_high"]) == pytest.approx((5.034, 5.134))


def test_claim_whose_interval_straddles_the_band_edge_is_inconclusive(tmp_path):
    # mean 5.12 lies inside 5.084 ± 0.05, but the CI (± ~0.25) reaches beyond 5.134
    result = evaluate(tmp_path, [claim("within", tolerance=0.05)],
                      {("unimatrix_core", "faithful"): {"val_bpb": [5.02, 5.12, 5.22]}})
    assert result.loc[("within_unimatrix_core", "faithful"), "verdict"] == "inconclusive"


def test_each_interval_claim_plans_the_seeds_that_would_decide_it(tmp_path):
    straddling = evaluate(tmp_path, [claim("within", tolerance=0.05), claim("exact", metric="params", paper="P/unimatrix_core/params")],
                          {("unimatrix_core", "faithful"): {"val_bpb": [5.02, 5.12, 5.22], "params": [83140] * 3}})
    row = straddling.loc[("within_unimatrix_core", "faithful")]
    std = stats.summarize([5.02, 5.12, 5.22]).std
    assert row["seeds_to_decide"] == power.seeds_to_decide(5.12, std, Band(row["band_low"], row["band_high"])) > 3
    assert pd.isna(straddling.loc[("exact_unimatrix_core", "faithful"), "seeds_to_decide"])  # no interval to plan


def test_single_run_is_judged_on_its_value(tmp_path):
    inside = evaluate(tmp_path, [claim("within", tolerance=0.05)], {("unimatrix_core", "faithful"): {"val_bpb": [5.13]}})
    outside = evaluate(tmp_path, [claim("within", tolerance=0.05)], {("unimatrix_core", "faithful"): {"val_bpb": [5.14]}})
    assert inside.loc[("within_unimatrix_core", "faithful"), "verdict"] == "reproduced"
    assert pd.isna(inside.loc[("within_unimatrix_core", "faithful"), "ci95"])
    assert outside.loc[("within_unimatrix_core", "faithful"), "verdict"] == "not reproduced"


def test_claims_run_in_corrected_mode_with_the_transformer_as_baseline_of_both(tmp_path):
    ordering = claim("less_than", than=[{"variant": "transformer", "paper": "P/transformer/val_bpb"}])
    result = evaluate(tmp_path, [ordering, claim("within", variant="transformer", tolerance=0.05)], {
        ("transformer", "faithful"): {"val_bpb": [5.12, 5.13, 5.14]},
        ("unimatrix_core", "faithful"): {"val_bpb": [5.08, 5.09, 5.10]},
        ("unimatrix_core", "corrected"): {"val_bpb": [5.20, 5.21, 5.22]},
    })
    assert set(result.index) == {("less_than_unimatrix_core", "faithful"), ("less_than_unimatrix_core", "corrected"),
                                 ("within_transformer", "faithful")}
    assert result.loc[("less_than_unimatrix_core", "faithful"), "verdict"] == "reproduced"
    assert result.loc[("less_than_unimatrix_core", "faithful"), "ours"] == pytest.approx(0.04)
    assert result.loc[("less_than_unimatrix_core", "faithful"), "paper"] == pytest.approx(5.124 - 5.084)
    assert result.loc[("less_than_unimatrix_core", "corrected"), "verdict"] == "not reproduced"
    assert result.loc[("less_than_unimatrix_core", "corrected"), "ours"] == pytest.approx(-0.08)


def test_greater_than_all_reports_the_worst_comparison(tmp_path):
    beats_all = claim("greater_than", variant="transformer", than=[
        {"variant": "unimatrix_core", "paper": "P/unimatrix_core/val_bpb"},
        {"variant": "unimatrix_rosa", "paper": "P/unimatrix_core/val_bpb"}])
    result = evaluate(tmp_path, [beats_all], {
        ("transformer", "faithful"): {"val_bpb": [5.12, 5.13, 5.14]},
        ("unimatrix_core", "faithful"): {"val_bpb": [5.02, 5.03, 5.04]},
        ("unimatrix_rosa", "faithful"): {"val_bpb": [5.12, 5.14, 5.13]},
    })
    row = result.loc[("greater_than_transformer", "faithful")]
    assert row["verdict"] == "inconclusive"
    assert row["quantity"] == "transformer - unimatrix_rosa val_bpb"


def test_exact_and_reduction_claims(tmp_path):
    exact = claim("exact", metric="params", paper="P/unimatrix_core/params")
    reduction = claim("reduction_pct", metric="params", reference="transformer", paper="P/unimatrix_core/reduction",
                      tolerance=0.05)
    good = evaluate(tmp_path, [exact, reduction], {("unimatrix_core", "faithful"): {"params": [83140] * 2},
                                                   ("transformer", "faithful"): {"params": [174848] * 2}})
    bad = evaluate(tmp_path, [exact, reduction], {("unimatrix_core", "faithful"): {"params": [83140, 83141]},
                                                  ("transformer", "faithful"): {"params": [160000] * 2}})
    assert good.loc[("exact_unimatrix_core", "faithful"), "verdict"] == "reproduced"
    assert good.loc[("reduction_pct_unimatrix_core", "faithful"), "ours"] == pytest.approx(100 * (1 - 83140 / 174848))
    assert good.loc[("reduction_pct_unimatrix_core", "faithful"), "verdict"] == "reproduced"
    assert bad.loc[("exact_unimatrix_core", "faithful"), "verdict"] == "not reproduced"
    assert bad.loc[("reduction_pct_unimatrix_core", "faithful"), "verdict"] == "not reproduced"


def test_less_than_every_seed_counts_the_seeds_won(tmp_path):
    claim_spec = claim("less_than_every_seed", variant="unimatrix_core", than=[{"variant": "transformer"}],
                       paper_seeds=[{"variant": "P/unimatrix_core/val_bpb", "than": "P/transformer/val_bpb"}])
    runs_by_verdict = {
        "reproduced": {("transformer", "faithful"): {"val_bpb": [5.1, 5.2, 5.3]}, ("unimatrix_core", "faithful"): {"val_bpb": [5.0, 5.1, 5.2]}},
        "inconclusive": {("transformer", "faithful"): {"val_bpb": [5.1, 5.2, 5.3]}, ("unimatrix_core", "faithful"): {"val_bpb": [5.0, 5.3, 5.2]}},
        "not reproduced": {("transformer", "faithful"): {"val_bpb": [5.1, 5.2, 5.3]}, ("unimatrix_core", "faithful"): {"val_bpb": [5.2, 5.3, 5.4]}},
    }
    for expected, runs in runs_by_verdict.items():
        row = evaluate(tmp_path, [claim_spec], runs).iloc[0]
        assert row["verdict"] == expected
    assert row["ours"] == 0.0 and row["paper"] == 100.0 and row["n"] == 3


def test_every_claim_of_the_paper_evaluates_against_runs_near_the_paper(paper_config):
    paper_claims = [c for c in validate_claims(yaml.safe_load((PAPER / "claims.yaml").read_text()), paper_config,
                                               reported_numbers(PAPER / "reported.csv")) if "source" not in c]
    result = claims.evaluate(paper_claims, full_metrics(paper_config), Reported(PAPER / "reported.csv"))
    assert set(result["source"]) == {"paper"} and set(result["result_set"]) == {"local"}
    assert set(result["claim"]) == {c["id"] for c in paper_claims}
    faithful = result[result["mode"] == "faithful"].set_index("claim")["verdict"]
    assert (faithful == "reproduced").all(), faithful[faithful != "reproduced"]
    # a claim has a corrected row exactly when one of its models ran in corrected mode in its experiment
    corrected = set(result.loc[result["mode"] == "corrected", "claim"])
    def models(c):
        return [c["variant"], *(other["variant"] for other in c.get("than", [])), *filter(None, [c.get("reference")])]
    assert corrected == {c["id"] for c in paper_claims
                         if any("corrected" in run_modes(paper_config, c["experiment"], v) for v in models(c))}


# ---- our extension's claims ---------------------------------------------------------------------

CHANCE = 100 / 64


def extension_claim(kind: str, variant: str, result_set: str = "local", **fields) -> dict:
    """An extension claim as repro.report.claim_list expands it, at T = 128."""
    return {"id": f"x_{kind}_t128_{result_set}", "template": f"x_{kind}", "table": "Recall over distance (our extension)",
            "text": "At T = 128: a claim of ours", "experiment": "recall_distance_128", "kind": kind, "metric": "accuracy_pct",
            "variant": variant, "paper": None, "source": "extension", "result_set": result_set, "seq_len": 128,
            "chance": CHANCE, **fields}


RECURRENT_BELOW = extension_claim("greater_than", "transformer", than=[{"variant": "unimatrix_core"}, {"variant": "mamba2"}])


def extension_row(claim: dict, runs: dict, result_sets: dict | None = None, mode: str = "faithful"):
    metrics = tidy("recall_distance_128", runs)
    result = claims.evaluate([claim], metrics, Reported(PAPER / "reported.csv"), result_sets)
    return result.set_index("mode").loc[mode]


@pytest.mark.parametrize("transformer, core, mamba2, verdict", [
    ([30.0, 32.0, 31.0], [1.2, 1.9, 1.6], [1.5, 1.4, 1.8], "reproduced"),          # below the Transformer
    ([1.4, 2.0, 1.7], [1.2, 1.9, 1.6], [1.5, 1.4, 1.8], "at chance"),              # all guessing
    ([1.4, 2.0, 1.7], [20.0, 22.0, 21.0], [1.5, 1.4, 1.8], "not reproduced"),      # one recurrent model recalls
    ([30.0, 32.0, 31.0], [1.2, 1.9, 1.6], [31.0, 30.0, 29.0], "inconclusive"),     # one level with the Transformer
])
def test_recurrent_state_below_the_transformer_is_judged_per_length_and_at_chance_is_untested(transformer, core, mamba2, verdict):
    row = extension_row(RECURRENT_BELOW, {("transformer", "faithful"): {"accuracy_pct": transformer},
                                          ("unimatrix_core", "faithful"): {"accuracy_pct": core},
                                          ("mamba2", "faithful"): {"accuracy_pct": mamba2}})
    assert row["verdict"] == verdict
    assert (row["source"], row["result_set"], row["experiment"]) == ("extension", "local", "recall_distance_128")
    assert pd.isna(row["paper"])  # the paper makes no such claim
    assert pd.isna(row["seeds_to_decide"]) == (verdict == "at chance")  # no seed count orders guesses


def test_a_single_run_at_chance_is_judged_on_its_values_as_every_single_run_is():
    row = extension_row(RECURRENT_BELOW, {("transformer", "faithful"): {"accuracy_pct": [1.7]},
                                          ("unimatrix_core", "faithful"): {"accuracy_pct": [1.5]},
                                          ("mamba2", "faithful"): {"accuracy_pct": [1.6]}})
    assert row["verdict"] == "reproduced" and row["n"] == 1


def test_sparse_pointer_at_chance_misses_the_95_percent_band():
    keeps = extension_claim("range", "sparse_pointer", band=[95, 100])
    assert extension_row(keeps, {("sparse_pointer", "faithful"): {"accuracy_pct": [97.5, 98.0, 98.5]}})["verdict"] == "reproduced"
    row = extension_row(keeps, {("sparse_pointer", "faithful"): {"accuracy_pct": [1.3, 1.7, 1.4]}})
    assert row["verdict"] == "not reproduced" and row["tolerance"] == "[95, 100]"


def test_an_extension_claim_reads_the_result_set_it_names(tmp_path):
    measured = tidy("recall_distance_128", {("sparse_pointer", "faithful"): {"accuracy_pct": [24.0, 25.0, 24.5]}})
    keeps = extension_claim("range", "sparse_pointer", result_set="recall_distance_h100", band=[95, 100])
    row = extension_row(keeps, {}, {"recall_distance_h100": measured})
    assert row["result_set"] == "recall_distance_h100" and row["ours"] == pytest.approx(24.5) and row["verdict"] == "not reproduced"
    with pytest.raises(ValueError, match="no metrics of result set 'recall_distance_h100'; given: local"):
        extension_row(keeps, {})


def test_the_extension_claims_evaluate_on_this_run_and_the_committed_set(paper_config):
    every = validate_claims(yaml.safe_load((PAPER / "claims.yaml").read_text()), paper_config, reported_numbers(PAPER / "reported.csv"))
    ours = [c for c in every if c.get("source") == "extension"]
    sets = {name: pd.read_csv(REPO / path) for name, path in claim_result_sets(every).items()}
    result = claims.evaluate(ours, recall_distance_runs(paper_config), Reported(PAPER / "reported.csv"), sets)
    assert set(result["source"]) == {"extension"} and list(sets) == ["recall_distance_h100"]
    faithful = result[result["mode"] == "faithful"].set_index("claim")["verdict"]
    assert faithful["x_recurrent_state_below_transformer_t2048_recall_distance_h100"] == "at chance"
    assert faithful["x_sparse_pointer_keeps_95_t2048_recall_distance_h100"] == "not reproduced"
    assert faithful["x_recurrent_state_below_transformer_t128_local"] == "at chance"


# ---- the first page and the claim table ----------------------------------------------------------

def claim_rows(rows) -> pd.DataFrame:
    """A claims CSV of (table, claim, mode, verdict, ours) rows, the other columns filled in."""
    return pd.DataFrame([{"source": "paper", "result_set": "local", "experiment": "lm", "table": table, "claim": claim_id,
                          "text": f"text of {claim_id}", "kind": "within",
                          "mode": mode, "quantity": "val_bpb", "paper": 5.1, "ours": ours, "ci95": 0.01, "n": 3,
                          "tolerance": "±0.05", "band_low": 5.05, "band_high": 5.15, "verdict": verdict, "seeds_to_decide": 4}
                         for table, claim_id, mode, verdict, ours in rows], columns=claims.COLUMNS)


RESULTS = [("Table 1", "a", "faithful", "reproduced", 5.1), ("Table 1", "a", "corrected", "not reproduced", 5.3),
           ("Table 1", "b", "faithful", "inconclusive", 5.14), ("Table 3", "c", "faithful", "not reproduced", 5.4),
           ("Table 3", "c", "corrected", "not reproduced", 5.5)]


def test_claim_table_sets_both_modes_of_a_claim_side_by_side():
    rows = answer.side_by_side(claim_rows(RESULTS))
    assert [row["id"] for row in rows] == ["a", "b", "c"]
    a, b = rows[0], rows[1]
    assert [cell["verdict"] for cell in a["modes"]] == ["reproduced", "not reproduced"]
    assert a["modes"][1]["ours"] == "5.3" and a["modes"][1]["seeds_to_decide"] == "4"
    assert b["modes"][1] is None  # no corrected runs


def test_verdict_counts_per_table_and_mode_add_up_to_the_total():
    counts = answer.verdict_counts(claim_rows(RESULTS))
    assert [row["table"] for row in counts] == ["Table 1", "Table 3", "All"]
    # per mode: reproduced, inconclusive, not reproduced
    assert counts[0]["modes"] == [[1, 1, 0], [0, 0, 1]]
    assert counts[1]["modes"] == [[0, 0, 1], [0, 0, 1]]
    assert counts[2]["modes"] == [[1, 1, 1], [0, 0, 2]]


def test_each_failure_gets_its_explanation_or_is_unexplained():
    explanations = [{"claim": "a", "mode": "corrected", "defect": "D1", "why": "the leak is gone."},
                    {"claim": "c", "mode": "faithful", "defect": None, "why": "traced to the write gate."}]
    found = answer.failures(claim_rows(RESULTS), explanations)
    assert [(row["text"], row["mode"]) for row in found] == [("text of a", "corrected"), ("text of c", "faithful"),
                                                             ("text of c", "corrected")]
    assert [row["explanation"] and row["explanation"]["defect"] for row in found] == ["D1", None, None]
    assert found[1]["explanation"]["why"] == "traced to the write gate." and found[2]["explanation"] is None


def test_first_page_states_each_headline_failure_and_unexplained_one(tmp_path):
    out_first, out_table = tmp_path / "answer.tex", tmp_path / "claims.tex"
    sections = {"headline": [{"text": "The abstract says a and c.", "claims": ["a", "c"]}],
                "explanations": [{"claim": "a", "mode": "corrected", "defect": "D1", "why": "the leak is gone."}], "extension": []}
    claim_rows(RESULTS).to_csv(tmp_path / "claims.csv", index=False)
    answer.main(["--claims", str(tmp_path / "claims.csv"), "--answer", json.dumps(sections),
                 "--first-page-template", str(TEMPLATES / "answer.tex.j2"), "--table-template", str(TEMPLATES / "claims_table.tex.j2"),
                 "--table-caption", "Every claim.", "--out-first-page", str(out_first), "--out-table", str(out_table)])
    first = out_first.read_text()
    assert first.index("The abstract says a and c.") < first.index("text of a") < first.index("text of c")
    assert "Defect D1: the leak is gone." in first
    assert first.count("Unexplained.") == 2  # c, in both modes
    assert "All & 1 & 1 & 1 & 0 & 0 & 2" in first
    assert out_table.read_text().count("text of") == 3
    sections["headline"][0]["claims"].append("zz")
    with pytest.raises(SystemExit, match=r"no rows for the first page's claims \['zz'\]"):
        answer.main(["--claims", str(tmp_path / "claims.csv"), "--answer", json.dumps(sections),
                     "--first-page-template", str(TEMPLATES / "answer.tex.j2"), "--table-template", str(TEMPLATES / "claims_table.tex.j2"),
                     "--table-caption", "Every claim.", "--out-first-page", str(tmp_path / "x.tex"), "--out-table", str(tmp_path / "y.tex")])
    assert not (tmp_path / "x.tex").exists()


def test_first_page_sets_our_extension_apart_from_the_papers_verdicts(tmp_path):
    paper_rows = claim_rows(RESULTS)
    ours = claim_rows([("Recall over distance (our extension), result set h", f"x_t{length}_h", "faithful", verdict, 1.5)
                       for length, verdict in ((128, "at chance"), (2048, "not reproduced"))]).assign(source="extension", result_set="h")
    pd.concat([paper_rows, ours]).to_csv(tmp_path / "claims.csv", index=False)
    sections = {"headline": [{"text": "The abstract says a.", "claims": ["a"]}], "explanations": [],
                "extension": [{"name": "Recall over distance", "claims": [{"text": "Ours, stated once.", "rows": [
                    {"id": f"x_t{length}_h", "seq_len": length, "result_set": "h"} for length in (128, 2048)]}]}]}
    out_first, out_table = tmp_path / "answer.tex", tmp_path / "claims.tex"
    answer.main(["--claims", str(tmp_path / "claims.csv"), "--answer", json.dumps(sections),
                 "--first-page-template", str(TEMPLATES / "answer.tex.j2"), "--table-template", str(TEMPLATES / "claims_table.tex.j2"),
                 "--table-caption", "Every claim.", "--out-first-page", str(out_first), "--out-table", str(out_table)])
    first = out_first.read_text()
    assert "All & 1 & 1 & 1 & 0 & 0 & 2" in first  # the paper's counts alone
    assert first.count("Unexplained.") == 3  # the paper's failures alone
    block = first[first.index("Our extension, not the paper's claims: Recall over distance"):]
    assert block.index("Ours, stated once.") < block.index("\\texttt{h}, $T = 128$") < block.index("\\texttt{h}, $T = 2048$")
    assert "\\emph{at chance}" in block and "\\emph{not reproduced}" in block and "---" in block  # no corrected runs
    assert "Recall over distance (our extension), result set h" in out_table.read_text()


def test_a_cited_works_claim_is_left_off_the_first_page_and_named_in_the_appendix(tmp_path):
    rows = claim_rows([*RESULTS, ("Related systems", "d", "faithful", "not reproduced", 5.4)])
    rows["cited"] = rows["claim"].map({"d": "Dehghani et al. (2019)"})
    rows.loc[rows["claim"] == "d", ["source", "paper"]] = ["cited", float("nan")]
    rows.to_csv(tmp_path / "claims.csv", index=False)
    sections = {"headline": [{"text": "The abstract says a.", "claims": ["a"]}], "explanations": [], "extension": []}
    answer.main(["--claims", str(tmp_path / "claims.csv"), "--answer", json.dumps(sections),
                 "--first-page-template", str(TEMPLATES / "answer.tex.j2"), "--table-template", str(TEMPLATES / "claims_table.tex.j2"),
                 "--table-caption", "Every claim.", "--out-first-page", str(tmp_path / "answer.tex"), "--out-table", str(tmp_path / "claims.tex")])
    first, table = (tmp_path / "answer.tex").read_text(), (tmp_path / "claims.tex").read_text()
    assert "text of d" not in first and "Related systems" not in first and "All & 1 & 1 & 1 & 0 & 0 & 2" in first
    assert "text of d (claim of Dehghani et al. (2019))\\newline{\\itshape val\\_bpb} & --- &" in table  # no paper number


def test_reported_csv_holds_the_papers_numbers_once_each():
    reported = pd.read_csv(PAPER / "reported.csv")
    assert list(reported.columns) == ["experiment", "model", "metric", "value"]
    assert not reported.duplicated(["experiment", "model", "metric"]).any()
    rosa = paper_value("T1_lm_pilot", "unimatrix-rosa", "params")
    transformer = paper_value("T1_lm_pilot", "transformer", "params")
    assert round(100 * (1 - rosa / transformer), 1) == \
        paper_value("T1_lm_pilot", "unimatrix-rosa", "param_reduction_vs_transformer_pct")


# ---- figure -------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    return struct.unpack(">II", path.read_bytes()[16:24])


def test_figure_2_draws_the_configured_variants_in_order_with_their_colours(paper_config):
    metrics = tidy("lm", {("transformer", "faithful"): {"val_bpb": [5.1, 5.2]},
                          ("unimatrix_core", "faithful"): {"val_bpb": [4.0, 4.1]},
                          ("unimatrix_core", "corrected"): {"val_bpb": [5.0, 5.1]}})
    names = {"unimatrix_core": {"paper_name": "unimatrix-core"}, "transformer": {"paper_name": "transformer"}}
    figure = fig2_lm_bpb.draw(metrics, Reported(PAPER / "reported.csv"), names,
                              {"transformer": "#000001", "unimatrix_core": "#000002"}, "T1_lm_pilot", "val_bpb")
    axes = figure.axes[0]
    assert [tick.get_text() for tick in axes.get_xticklabels()] == ["unimatrix-core", "transformer"]
    bars = [patch for patch in axes.patches if patch.get_height() > 0]
    assert [matplotlib.colors.to_hex(bar.get_facecolor()) for bar in bars] == ["#000002", "#000002", "#000001"]
    with pytest.raises(ValueError, match="report.figures.fig2_lm_bpb.colours: no colour for unimatrix_core"):
        fig2_lm_bpb.draw(metrics, Reported(PAPER / "reported.csv"), names, {"transformer": "red"}, "T1_lm_pilot", "val_bpb")


def test_figure_2_writes_pdf_and_png_deterministically(tmp_path, paper_config):
    metrics_csv = tmp_path / "lm.csv"
    full_metrics(paper_config).query("experiment == 'lm'").to_csv(metrics_csv, index=False)
    outputs = []
    for attempt in ("a", "b"):
        pdf, png = tmp_path / attempt / "fig2.pdf", tmp_path / attempt / "fig2.png"
        fig2_lm_bpb.main(["--metrics", str(metrics_csv), "--reported", str(PAPER / "reported.csv"), *figure2_arguments(paper_config),
                          "--out-pdf", str(pdf), "--out-png", str(png)])
        assert pdf.read_bytes().startswith(b"%PDF")
        assert png.read_bytes().startswith(b"\x89PNG")
        outputs.append((pdf.read_bytes(), png.read_bytes()))
    assert png_size(png) == (8 * 200, round(4.8 * 200))
    assert b"CreationDate" not in outputs[0][0]
    assert outputs[0] == outputs[1]


def test_capacity_figure_draws_our_means_the_paper_and_the_simulated_ceiling_from_its_csv():
    ladder = {f"sp{n}": {"slots": n, "paper_name": f"sparseptr_slots{n}_ptr", "merge_threshold": 0.85,
                         "strength_floor": 0.05} for n in (4, 16, 32)}
    accuracy = {4: [12.0, 13.0, 14.0], 16: [20.0, 25.0, 30.0], 32: [97.0, 98.0, 99.0]}
    metrics = tidy("sparse_pointer_ablation", {(f"sp{n}", "faithful"): {"acc_4pairs_pct": accuracy[n],
                                                                        "acc_8pairs_pct": [v - 5 for v in accuracy[n]]}
                                               for n in accuracy})
    capacity = pd.DataFrame([(n, slots, 10, min(100.0, 5.0 * slots - n)) for n in (4, 8) for slots in range(4, 33)],
                            columns=["pairs", "slots", "sequences", "binding_kept_pct"])
    figure = sp_capacity.draw(metrics, Reported(PAPER / "reported.csv"), capacity, ladder, 4, [4, 8], ["red", "blue"],
                              "T5_sparsepointer_ablation")
    axes = figure.axes[0]
    lines = {line.get_label(): line for line in axes.get_lines()}
    lines.update({bars.get_label(): bars.lines[0] for bars in axes.containers})  # error bars: the data line
    ours = lines["ours, 4 pairs"]
    assert list(ours.get_xdata()) == [4, 16, 32]
    assert list(ours.get_ydata()) == pytest.approx([13.0, 25.0, 98.0])
    assert list(lines["ours, 8 pairs"].get_ydata()) == pytest.approx([8.0, 20.0, 93.0])
    assert list(lines["paper, 4 pairs"].get_ydata()) == [paper_value("T5_sparsepointer_ablation", f"sparseptr_slots{n}_ptr",
                                                                     "acc_4pairs_pct") for n in (4, 16, 32)]
    ceiling = lines["binding kept (write rule), 8 pairs"]
    assert list(ceiling.get_xdata()) == list(range(4, 33))
    assert list(ceiling.get_ydata()) == list(capacity.query("pairs == 8")["binding_kept_pct"])
    assert ceiling.get_color() == "blue"
    assert axes.get_title() == "SparsePointer capacity: trained on 4 pairs, evaluated on 4 and 8"
    with pytest.raises(ValueError, match="report.figures.sp_capacity.colours: 1 colours for 2 pair counts"):
        sp_capacity.draw(metrics, Reported(PAPER / "reported.csv"), capacity, ladder, 4, [4, 8], ["red"], "T5_sparsepointer_ablation")


def test_slot_capacity_simulates_the_configured_ladder_and_refuses_mixed_write_rules(paper_config):
    assert slot_capacity_arguments(paper_config) == ["--pairs", 4, 6, 8, "--slots", 4, 32, "--merge-threshold", 0.85,
                                                     "--strength-floor", 0.05, "--sequences", 2000, "--seed", 0]
    mixed = copy.deepcopy(paper_config)
    mixed["variants"]["sparse_pointer_slots20"]["merge_threshold"] = 0.9
    with pytest.raises(ConfigError, match="report.figures.sp_capacity: the slot ladder of experiment 'sparse_pointer_ablation' mixes"):
        slot_capacity_arguments(mixed)


def test_slot_capacity_writes_one_row_per_pair_and_slot_count(tmp_path):
    out = tmp_path / "slot_capacity.csv"
    slot_capacity.main(["--pairs", "4", "8", "--slots", "4", "32", "--merge-threshold", "0.85", "--strength-floor", "0.05",
                        "--sequences", "200", "--seed", "0", "--out", str(out)])
    frame = pd.read_csv(out)
    assert list(frame.columns) == slot_capacity.COLUMNS
    assert len(frame) == 2 * 29 and set(frame["sequences"]) == {200}
    for pairs in (4, 8):
        kept = frame.query("pairs == @pairs").set_index("slots")["binding_kept_pct"]
        assert kept[4] == 0.0 and kept[32] == 100.0  # 4 slots keep nothing, 32 keep every binding
    assert (frame.query("pairs == 4")["binding_kept_pct"].values >= frame.query("pairs == 8")["binding_kept_pct"].values).all()


def test_fix_effect_sentence_measures_the_gain_the_fix_removes(tmp_path):
    metrics = pd.concat([
        tidy("lm", {("transformer", "faithful"): {"val_bpb": [5.10, 5.12]}}),
        tidy("generic_latent", {("triple_hybrid", "faithful"): {"val_bpb": [4.80, 4.82]},
                                ("triple_hybrid", "corrected"): {"val_bpb": [5.00, 5.02]}})], ignore_index=True)
    reported = write_reported(tmp_path / "reported.csv", [("T2", "transformer", "val_bpb", 5.124), ("T2", "hybrid", "val_bpb", 4.766)])
    text = fix_effect.sentence(metrics, Reported(reported), "Hybrid", "generic_latent/triple_hybrid", "lm/transformer",
                               "val_bpb", "T2/hybrid/val_bpb", "T2/transformer/val_bpb")
    assert "a gain of 0.358 BPB" in text
    assert "faithful runs gain 0.300 and our corrected (causal) runs 0.100" in text
    assert "removes 0.200 BPB, 67% of the faithful gain" in text
    worse = metrics.assign(value=metrics["value"].where(metrics["mode"] != "corrected", 5.2))
    assert "all of the faithful gain and more: the causal model is 0.090 BPB worse" in fix_effect.sentence(
        worse, Reported(reported), "Hybrid", "generic_latent/triple_hybrid", "lm/transformer", "val_bpb",
        "T2/hybrid/val_bpb", "T2/transformer/val_bpb")
    with pytest.raises(ValueError, match="no val_bpb runs of generic_latent/triple_slot"):
        fix_effect.sentence(metrics, Reported(reported), "x", "generic_latent/triple_slot", "lm/transformer", "val_bpb",
                            "T2/hybrid/val_bpb", "T2/transformer/val_bpb")


# ---- the whole report ---------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["repro.report.stats", "repro.report.table", "repro.report.claims", "repro.report.answer",
                                    "repro.report.render", "repro.figures.fig1_architecture", "repro.figures.fig2_lm_bpb",
                                    "repro.figures.sp_capacity",
                                    "repro.report.quantities", "repro.triple_audit", "repro.report.fix_effect", "repro.report.ruler_table",
                                    "repro.figures.fig3_throughput", "repro.report.train_step_table",
                                    "repro.slot_capacity", "repro.report.variables", "repro.report.captions"])
def test_every_step_has_a_command_line(module):
    result = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--out" in result.stdout


def benchmark_results(config: dict, device: str, folder: Path) -> Path:
    """A result set of the throughput study, as repro.benchmarks.aggregate writes it: every timed model
    and form at the paper's lengths (the fast forms beyond), and its training step."""
    folder.mkdir(parents=True)
    jobs = [(variant, form) for variant in config["benchmark"]["variants"] for form in ("reference", "fast")
            if form == "fast" or variant != "transformer"]
    lengths = {"reference": [64, 128, 256, 512], "fast": [64, 128, 256, 512, 1024]}
    common = {"mode": "faithful", "batch": 8, "device": device, "torch": "2.13.0", "baseline": "transformer"}
    graphs = "cuda" in device  # CUDA-graph replays are timed on CUDA only
    pd.DataFrame([{"variant": variant, "form": form, "seq_len": T, "tokens_per_s": 1000.0 * T if form == "fast" else 9000.0,
                   "tokens_per_s_graph": 3000.0 * T if graphs and form == "fast" else math.nan, **common}
                  for variant, form in jobs for T in lengths[form]]).to_csv(folder / "throughput.csv", index=False)
    pd.DataFrame([{"variant": variant, "form": form, "params": 199424, "ms_per_step": 10.0, "seq_len": 128, "warmup": 3,
                   "repeats": 10, "time_ratio_to_baseline": 1.0, "fast_speedup": 2.0 if form == "fast" else math.nan,
                   "ms_per_step_graph": 2.0 if graphs else math.nan, "graph_ratio_to_baseline": 1.0 if graphs else math.nan, **common}
                  for variant, form in jobs]).to_csv(folder / "train_step.csv", index=False)
    return folder


def metrics_files(results: Path, paths: list) -> list:
    """The metrics CSVs a report step reads: this run's from the fake `results` (one file per experiment),
    a committed set's from the repository."""
    return [str(results / Path(path).name) if path.startswith("results/") else str(REPO / path) for path in paths]


def test_report_renders_and_compiles_to_pdf(tmp_path, paper_config):
    metrics = pd.concat([full_metrics(paper_config), recall_distance_runs(paper_config)], ignore_index=True)
    ladder = slot_ladder(paper_config, "sparse_pointer_ablation")
    metrics = pd.concat([metrics, tidy("sparse_pointer_ablation", {  # the slot counts the paper did not run
        (variant, "faithful"): {f"acc_{n}pairs_pct": [50.0, 51.0, 52.0] for n in (4, 6, 8)}
        for variant in ladder if not (metrics["variant"] == variant).any()})], ignore_index=True)
    related = {  # the related systems, which no paper number stands beside
        "related_systems": {"params": [75_072.0] * 3, "val_bpb": [5.0, 5.1, 5.2], "val_ppl": [32.0, 34.3, 36.8],
                            "act_steps_word_start": [3.0, 3.1, 3.2], "act_steps_in_word": [2.0, 2.1, 2.2],
                            "act_extra_steps_word_start": [1.0, 1.0, 1.0]},
        "related_systems_recall": {"eval_loss": [2.0, 2.1, 2.2], "accuracy_pct": [20.0, 25.0, 30.0]}}
    metrics = pd.concat([metrics, *(tidy(experiment, {(variant, mode): values for variant in paper_config["experiments"][experiment]["variants"]
                                                      for mode in run_modes(paper_config, experiment, variant)})
                                    for experiment, values in related.items())], ignore_index=True)
    results, paper = tmp_path / "results", tmp_path / "paper"
    results.mkdir()
    metrics.to_csv(results / "metrics.csv", index=False)
    for experiment in paper_config["experiments"]:
        metrics.query("experiment == @experiment").to_csv(results / f"{experiment}.csv", index=False)
    deviation = "Trained on the test split (wiki.test.raw) because train_ok & 100% of #files were missing."
    provenance = {"train_split": "test", "train_split_deviation": deviation, "data_source": "local dir ~/data_wt2",
                  "splits": [{"split": "valid", "file_sha256": "ab" * 32, "official": True, "tokens": 1139324}],
                  "code_versions": ["abc123+dirty"], "devices": ["cpu"],
                  "library_versions": {"torch": "2.13.0", "python": "3.11"}, "n_runs": 21, "config_hash": "f00d"}
    (results / "provenance.json").write_text(json.dumps(provenance))
    tables = {}
    for name, shown in report_tables(paper_config).items():  # this run's metrics, or a committed set's
        tables[name] = paper / "tables" / f"{name}.tex"
        inputs = metrics_files(results, shown["metrics"])
        table.main(["--spec", json.dumps(shown["spec"]), "--metrics", *inputs,
                    "--reported", str(PAPER / "reported.csv"), "--template", str(TEMPLATES / "comparison_table.tex.j2"),
                    "--out", str(tables[name]), "--out-csv", str(results / f"{name}_table.csv")])
    figures = {name: paper / "figures" / f"{name}.pdf" for name in ("fig1_architecture", "fig2_lm_bpb", "sp_capacity")}
    fig1_architecture.main(["--out-pdf", str(figures["fig1_architecture"]), "--out-png", str(tmp_path / "fig1.png")])
    fig2_lm_bpb.main(["--metrics", str(results / "lm.csv"), "--reported", str(PAPER / "reported.csv"),
                      *figure2_arguments(paper_config), "--out-pdf", str(figures["fig2_lm_bpb"]), "--out-png", str(tmp_path / "fig2.png")])
    slot_capacity.main(["--pairs", "4", "6", "8", "--slots", "4", "32", "--merge-threshold", "0.85", "--strength-floor", "0.05",
                        "--sequences", "50", "--seed", "0", "--out", str(results / "slot_capacity.csv")])
    sp_capacity.main(["--metrics", str(results / "sparse_pointer_ablation.csv"), "--reported", str(PAPER / "reported.csv"),
                      "--slot-capacity", str(results / "slot_capacity.csv"), *map(str, capacity_figure_arguments(paper_config)),
                      "--out-pdf", str(figures["sp_capacity"]), "--out-png", str(tmp_path / "sp_capacity.png")])
    for result_set, shown in task_result_sets(paper_config, "recall_distance").items():
        figures[f"recall_distance_{result_set}"] = paper / "figures" / f"recall_distance_{result_set}.pdf"
        inputs = metrics_files(results, shown["metrics"])
        recall_distance.main(["--metrics", *inputs, *recall_distance_arguments(paper_config, result_set),
                              "--out-pdf", str(figures[f"recall_distance_{result_set}"]), "--out-png", str(tmp_path / "recall_distance.png")])
    figures["depth_diagnostics"] = paper / "figures" / "depth_diagnostics.pdf"
    pd.DataFrame([{"experiment": "lm", "variant": "unimatrix_core", "mode": "faithful", "seed": seed, "step": step,
                   "metric": metric, "value": 1.0 / step} for seed in (7, 8) for step in (1, 2, 3) for metric in DEPTH_METRICS]
                 ).to_csv(results / "depth_diagnostics.csv", index=False)
    depth_diagnostics.main(["--diagnostics", str(results / "depth_diagnostics.csv"),
                            "--names", json.dumps({"unimatrix_core": {"label": "UniMatrix-Core"}}),
                            "--out-pdf", str(figures["depth_diagnostics"]), "--out-png", str(tmp_path / "depth.png")])
    variables.main(["--facts", json.dumps(config_facts(paper_config, reported_numbers(PAPER / "reported.csv"))),
                    "--slot-capacity", str(results / "slot_capacity.csv"), "--triple-seq-len", "49",
                    "--out", str(paper / "build" / "variables.tex")])
    triple_audit.main(["--seed", "23", "--table-seed", "124", "--seq-len", "49", "--examples", "400",
                       "--out", str(results / "triple_audit.csv")])
    tables["triple_audit"] = paper / "tables" / "triple_audit.tex"
    quantities.main(["--quantities", str(results / "triple_audit.csv"), "--caption", "Audit (\\S5.2.5).",
                     "--label", "tab:triple_audit", "--template", str(TEMPLATES / "quantities_table.tex.j2"),
                     "--out", str(tables["triple_audit"])])
    for name, effect in paper_config["report"]["fix_effects"].items():
        tables[f"fix_effect_{name}"] = paper / "tables" / f"fix_effect_{name}.tex"
        fix_effect.main(["--metrics", str(results / "metrics.csv"), "--reported", str(PAPER / "reported.csv"),
                         "--label", effect["label"], "--model", effect["model"], "--reference", effect["reference"],
                         "--paper-model", effect["paper_model"], "--paper-reference", effect["paper_reference"],
                         "--out", str(tables[f"fix_effect_{name}"])])
    for result_set, device in (("local", "cpu (x86_64, 1 threads)"), ("h100", "cuda (NVIDIA H100 80GB HBM3)")):
        measured = benchmark_results(paper_config, device, results / result_set)
        figures[f"fig3_throughput_{result_set}"] = paper / "figures" / f"fig3_throughput_{result_set}.pdf"
        fig3_throughput.main(["--throughput", str(measured / "throughput.csv"), "--names", json.dumps(benchmark_names(paper_config)),
                              "--reported", str(PAPER / "reported.csv"), "--read-off", str(PAPER / "read_off.csv"),
                              "--out-pdf", str(figures[f"fig3_throughput_{result_set}"]), "--out-png", str(tmp_path / "fig3.png")])
        tables[f"train_step_{result_set}"] = paper / "tables" / f"train_step_{result_set}.tex"
        train_step_table.main(["--train-step", str(measured / "train_step.csv"), "--names", json.dumps(benchmark_names(paper_config)),
                               "--result-set", result_set, "--template", str(TEMPLATES / "train_step_table.tex.j2"),
                               "--out", str(tables[f"train_step_{result_set}"])])
    degenerate = {"score": 0.0, "empty_predictions": 1, "units": [1] * 8, "prompt_tokens": [300] * 8, "prompts_over_budget": 8,
                  "prompts_over_window": 8}
    pd.DataFrame([row for run, budget in ruler_jobs(paper_config) for row in ruler_aggregate.rows({
        "experiment": run.experiment, "variant": run.variant, "mode": run.mode, "seed": run.seed, "requested_budget": budget,
        "budget": budget, "window": 128, "samples": 8, "ruler_seed": 17, "tasks": dict.fromkeys(RULER_TASKS, degenerate)})]
                 ).to_csv(results / "ruler.csv", index=False)
    for result_set, scores in ruler_result_sets(paper_config).items():  # this run's, then the committed sets'
        tables[f"ruler_{result_set}"] = paper / "tables" / f"ruler_{result_set}.tex"
        ruler_table.main(["--ruler", str(results / "ruler.csv" if result_set == "local" else REPO / scores),
                          "--spec", json.dumps(ruler_table_spec(paper_config, result_set)),
                          "--template", str(TEMPLATES / "ruler_table.tex.j2"), "--out", str(tables[f"ruler_{result_set}"])])
    paper_claims = validate_claims(yaml.safe_load((PAPER / "claims.yaml").read_text()), paper_config,
                                   reported_numbers(PAPER / "reported.csv"))
    claims.main(["--claims", json.dumps(paper_claims), "--metrics", str(results / "metrics.csv"),
                 *[f"--result-set={name}={REPO / path}" for name, path in claim_result_sets(paper_claims).items()],
                 "--reported", str(PAPER / "reported.csv"), "--out-csv", str(results / "claims.csv")])
    tables["answer"], tables["claims"] = paper / "tables" / "answer.tex", paper / "tables" / "claims.tex"
    answer_sections = validate_answer(yaml.safe_load((PAPER / "claims.yaml").read_text()), paper_claims)
    answer.main(["--claims", str(results / "claims.csv"), "--answer", json.dumps(answer_sections),
                 "--first-page-template", str(TEMPLATES / "answer.tex.j2"), "--table-template", str(TEMPLATES / "claims_table.tex.j2"),
                 "--table-caption", paper_config["report"]["claims"]["caption"],
                 "--out-first-page", str(tables["answer"]), "--out-table", str(tables["claims"])])
    first_page = tables["answer"].read_text()
    assert "At T = 2048" not in first_page[:first_page.index("Our extension")]  # the paper's block holds none of ours
    assert "\\texttt{recall\\_distance\\_h100}, $T = 2048$" in first_page
    main_tex = paper / "build" / "main.tex"
    render.main(["--template", str(TEMPLATES / "main.tex.j2"), "--provenance", str(results / "provenance.json"),
                 "--variables", str(paper / "build" / "variables.tex"),
                 *[f"--table={name}={path}" for name, path in tables.items()],
                 *[f"--figure={name}={path}" for name, path in figures.items()],
                 "--captions", json.dumps(captions.figure_captions(paper_config)), "--out", str(main_tex)])

    source = main_tex.read_text()
    assert latex.escape(deviation) in source
    assert "\\input{variables.tex}" in source
    for name in tables:
        assert f"\\input{{../tables/{name}.tex}}" in source
    for name in figures:
        assert f"{{../figures/{name}.pdf}}" in source
        assert f"\\caption{{{captions.figure_captions(paper_config)[name]}}}" in source
    for script in ("repro.report.table", "repro.figures.fig1\\_architecture", "repro.figures.fig2\\_lm\\_bpb", "repro.figures.sp\\_capacity",
                   "repro.report.claims", "repro.triple\\_audit", "repro.figures.fig3\\_throughput",
                   "repro.report.train\\_step\\_table", "repro.report.ruler\\_table"):
        assert script in source
    assert source.index("Result set \\texttt{local}") < source.index("Result set \\texttt{h100}")
    assert source.index("\\input{../tables/table_recall_distance.tex}") < \
        source.index("\\input{../tables/table_recall_distance_recall_distance_h100.tex}")
    assert source.index("\\input{../tables/ruler_local.tex}") < source.index("Result set \\texttt{ruler\\_h200}") < \
        source.index("\\input{../tables/ruler_ruler_h200.tex}")
    assert source.index("\\input{../tables/answer.tex}") < source.index("\\section{") < source.index("\\input{../tables/claims.tex}")

    result = subprocess.run(["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-cd", str(main_tex)],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert (paper / "build" / "main.pdf").read_bytes().startswith(b"%PDF")


def test_render_refuses_a_table_argument_without_a_name(tmp_path, capsys):
    with pytest.raises(SystemExit):
        render.main(["--template", "t", "--provenance", "p", "--variables", "v",
                     "--table", "paper/tables/table1_lm.tex", "--out", str(tmp_path / "main.tex")])
    assert "expected NAME=PATH" in capsys.readouterr().err


# ---- the report's DAG ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def touched_smoke_dag(tmp_path_factory, real_wikitext_dir):
    """A copy of the repository whose smoke DAG is marked done without running (every output an empty file)."""
    work = repository_copy(tmp_path_factory.mktemp("report_dag"), real_wikitext_dir)
    for path in planned(work):
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text("")
    result = dag_snakemake(work, "--touch", "--cores", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert planned(work) == set()
    return work


def dag_snakemake(work: Path, *args):
    return subprocess.run([sys.executable, "-m", "snakemake", *args, "--configfile", "config/smoke.yaml", "config/local.yaml"],
                          cwd=work, capture_output=True, text=True)


def planned(work: Path) -> set:
    """Outputs a dry run would (re)build."""
    result = dag_snakemake(work, "-n", "--cores", "1")
    assert result.returncode == 0, result.stdout + result.stderr
    return {path.strip() for line in result.stdout.splitlines() if line.strip().startswith("output:")
            for path in line.split("output:", 1)[1].split(",")}


def captions_of(work: Path) -> dict:
    """The HTML report's caption files of the smoke config: they state the variables, so they follow them."""
    return captions.caption_files(load(work / "config" / "config.yaml", work / "config" / "smoke.yaml"))


def edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# edited\n")


@pytest.mark.slow  # three Snakemake runs over the smoke DAG
def test_a_capacity_figure_edit_redraws_it_from_the_csv_without_rerunning_the_simulation(touched_smoke_dag):
    edit(touched_smoke_dag / "repro" / "figures" / "sp_capacity.py")
    assert planned(touched_smoke_dag) == {"paper/figures/sp_capacity.pdf", "paper/figures/sp_capacity.png",
                                          "paper/build/main.tex", "paper/build/main.pdf"}


@pytest.mark.slow
def test_a_simulation_edit_reruns_it_and_what_reads_its_csv(touched_smoke_dag):
    edit(touched_smoke_dag / "repro" / "slot_capacity.py")
    caption_rst = {f"results/report_captions/{name}.rst" for name in captions_of(touched_smoke_dag)}
    assert planned(touched_smoke_dag) == {"results/audit/slot_capacity.csv", "paper/figures/sp_capacity.pdf",
                                          "paper/figures/sp_capacity.png", "paper/build/variables.tex",
                                          "paper/build/main.tex", "paper/build/main.pdf"} | caption_rst
