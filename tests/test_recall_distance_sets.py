"""Committed result sets of recall over distance (config report.result_sets): the key checked when the
config loads, and the figure, the table and their captions made from a set as from this run."""
import copy
import json

import pandas as pd
import pytest

from repro import config as config_module
from repro.config import ConfigError, report_tables, task_result_sets, validate
from repro.figures import recall_distance as figure
from repro.report import captions, table
from repro.report.figure_settings import recall_distance_arguments

from conftest import REPO

SET = "recall_distance_h100"  # committed, with T = 128 ... 2048
SET_LENGTHS = {f"recall_distance_{length}": length for length in (128, 256, 512, 1024, 2048)}


def with_sets(config: dict, sets: dict) -> dict:
    config = copy.deepcopy(config)
    config["report"]["result_sets"] = sets
    return config


def committed_folder(root, name, metrics: str, lengths: str | None):
    """A repository root whose benchmarks/measured/<name>/ holds these files."""
    folder = root / config_module.MEASURED_DIR / name
    folder.mkdir(parents=True)
    (folder / config_module.SET_METRICS).write_text(metrics)
    if lengths is not None:
        (folder / config_module.SET_LENGTHS).write_text(lengths)
    return root


@pytest.mark.parametrize("sets, message", [
    ({"recall_distance": ["recall_distance_a100"]},
     "config key 'report.result_sets.recall_distance.0': 'recall_distance_a100' has no "
     "benchmarks/measured/recall_distance_a100/metrics.csv and experiments.csv; valid: recall_distance_h100"),
    ({"recall_distance": ["h100"]},  # throughput files only
     "config key 'report.result_sets.recall_distance.0': 'h100' has no benchmarks/measured/h100/metrics.csv and experiments.csv"),
    ({"recal_distance": [SET]}, "config key 'report.result_sets.recal_distance': 'recal_distance' is not a known task; valid: lm, "),
    ({"recall_distance": ["Bad Name"]}, "config key 'report.result_sets.recall_distance.0': 'Bad Name' does not match"),
])
def test_an_unknown_result_set_is_refused_naming_the_key_the_value_and_the_sets_present(paper_config, sets, message):
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        validate(with_sets(paper_config, sets))


def test_a_set_whose_lengths_leave_out_an_experiment_it_ran_is_refused(paper_config, tmp_path, monkeypatch):
    metrics = "experiment,variant,mode,seed,metric,value\nrecall_distance_128,transformer,faithful,19,accuracy_pct,2.0\n" \
              "recall_distance_4096,transformer,faithful,19,accuracy_pct,1.5\n"
    monkeypatch.setattr(config_module, "REPO", committed_folder(tmp_path, "mine", metrics, "experiment,seq_len\nrecall_distance_128,128\n"))
    with pytest.raises(ConfigError, match="report.result_sets.recall_distance.0': benchmarks/measured/mine/experiments.csv gives no "
                                          "seq_len for the experiment\\(s\\) recall_distance_4096 of its metrics.csv"):
        validate(with_sets(paper_config, {"recall_distance": ["mine"]}) | {"benchmark": {**paper_config["benchmark"], "result_sets": []}})


def test_each_set_reads_its_own_metrics_and_lengths_after_this_runs(paper_config):
    sets = task_result_sets(paper_config, "recall_distance")
    assert list(sets) == ["local", SET]
    assert sets["local"] == {"metrics": ["results/metrics/recall_distance_128.csv", "results/metrics/recall_distance_256.csv"],
                             "lengths": {"recall_distance_128": 128, "recall_distance_256": 256}}
    assert sets[SET] == {"metrics": [f"benchmarks/measured/{SET}/metrics.csv"], "lengths": SET_LENGTHS}
    assert list(task_result_sets(with_sets(paper_config, {}), "recall_distance")) == ["local"]


def test_the_recall_table_is_shown_again_for_each_set_a_block_per_length_of_the_set(paper_config, tmp_path):
    tables = report_tables(paper_config)
    assert set(tables) == set(paper_config["report"]["tables"]) | {f"table_recall_distance_{SET}"}  # no other table is one task's alone
    local, measured = tables["table_recall_distance"], tables[f"table_recall_distance_{SET}"]
    assert measured["metrics"] == [f"benchmarks/measured/{SET}/metrics.csv"]
    assert [group["experiment"] for group in measured["spec"]["groups"]] == list(SET_LENGTHS)
    assert measured["spec"]["groups"][-1]["title"] == "$T = 2048$"
    assert measured["spec"]["groups"][-1]["rows"] == local["spec"]["groups"][0]["rows"]
    assert measured["spec"]["columns"] == local["spec"]["columns"]
    assert "Result set \\texttt{recall\\_distance\\_h100}" in measured["spec"]["caption"]
    out = tmp_path / "table.tex"
    table.main(["--spec", json.dumps(measured["spec"]), "--metrics", str(REPO / measured["metrics"][0]),
                "--reported", str(REPO / "paper" / "reported.csv"), "--template", str(REPO / "paper" / "templates" / "comparison_table.tex.j2"),
                "--out", str(out), "--out-csv", str(tmp_path / "table.csv")])
    shown = pd.read_csv(tmp_path / "table.csv")
    sparse_pointer = shown[(shown["model"] == "UniMatrix-SparsePointer") & (shown["mode"] == "faithful")].set_index("experiment")
    assert list(sparse_pointer.index) == list(SET_LENGTHS)
    assert (sparse_pointer["accuracy_pct n"] == 3).all()
    assert sparse_pointer.loc["recall_distance_128", "accuracy_pct mean"] > 10 > sparse_pointer.loc["recall_distance_2048", "accuracy_pct mean"]


def test_the_figure_of_a_set_draws_a_point_at_each_of_its_lengths(paper_config, tmp_path):
    arguments = recall_distance_arguments(paper_config, SET)
    assert json.loads(arguments[1]) == SET_LENGTHS
    metrics = pd.read_csv(REPO / task_result_sets(paper_config, "recall_distance")[SET]["metrics"][0])
    drawn = figure.draw(metrics, json.loads(arguments[1]), json.loads(arguments[3]))
    axes = drawn.axes[0]
    assert {tuple(container.lines[0].get_xdata()) for container in axes.containers} == {tuple(SET_LENGTHS.values())}
    assert [tick.get_text() for tick in axes.get_xticklabels()] == [str(length) for length in SET_LENGTHS.values()]


def test_each_set_has_its_figure_caption_and_its_table_caption(paper_config):
    files = captions.caption_files(paper_config)
    assert files["recall_distance"]["by"] == "recall_set"
    assert set(files["recall_distance"]["captions"]) == {"local", SET}
    assert "result set \\texttt{recall\\_distance\\_h100}" in files["recall_distance"]["captions"][SET]
    assert f"table_recall_distance_{SET}" in files["table"]["captions"]
    figures = captions.figure_captions(paper_config)
    assert {"recall_distance_local", f"recall_distance_{SET}"} <= set(figures) and "recall_distance" not in figures
