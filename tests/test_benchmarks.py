import json
import subprocess
import sys

import pandas as pd
import pytest
import torch

from conftest import REPO
from repro.benchmarks import aggregate, run, triton_gain
from repro.config import benchmark_names, benchmark_variant_settings, load
from repro.device import describe
from repro.figures import fig3_throughput
from repro.report import latex, train_step_table
from repro.report.reported import Reported

PAPER = REPO / "paper"
CPU = describe(torch.device("cpu"))  # the test process runs one thread, as the jobs do (torch_threads 1)


def test_train_time_benchmark_prints_seconds_and_ratios():
    result = subprocess.run([sys.executable, "-m", "repro.benchmarks.train_time", "--config", "config/config.yaml", "config/smoke.yaml",
                             "--variants", "transformer", "sparse_pointer", "--steps", "2", "--device", "cpu"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["variant"] for row in rows] == ["transformer", "sparse_pointer"]
    assert rows[0]["ratio_to_transformer"] == 1.0 and rows[1]["seconds"] > 0 and rows[1]["steps"] == 2
    assert rows[1]["ratio_to_transformer"] == rows[1]["seconds"] / rows[0]["seconds"]


def test_triton_gain_times_each_variant_both_ways_and_refuses_untimed_ones(tmp_path, capsys):
    """Off CUDA both sides run the chunked forms; the row and its ratios are still formed from two timings."""
    out = tmp_path / "gain.csv"
    smoke = ["--config", "config/config.yaml", "config/smoke.yaml", "--device", "cpu"]
    triton_gain.main([*smoke, "--out", str(out), "unimatrix_core"])
    (row,) = pd.read_csv(out).to_dict("records")
    assert row["variant"] == "unimatrix_core" and row["device"] == CPU and row["ms_triton"] > 0 and row["ms_chunk"] > 0
    assert row["speedup"] == pytest.approx(row["ms_chunk"] / row["ms_triton"])
    with pytest.raises(SystemExit):
        triton_gain.main([*smoke, "--out", str(tmp_path / "bad.csv"), "mamba2"])
    assert "no benchmark job mamba2/fast; valid: transformer/fast" in capsys.readouterr().err and not (tmp_path / "bad.csv").exists()


# ---- the throughput study (spec §5.5) -----------------------------------------------------------

@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """The smoke config's timing jobs, plus the sequence classifier, run and gathered on the CPU:
    (config, {measurement: the aggregated frame}, the folder of the pieces and CSVs)."""
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config["device"] = "cpu"
    config["benchmark"]["variants"].append("transformer_triple")
    out = tmp_path_factory.mktemp("benchmarks")
    frames = {}
    jobs = [str(out / f"{variant}.json") for variant in config["benchmark"]["variants"]]
    for variant, job in zip(config["benchmark"]["variants"], jobs):
        run.main(["--settings", json.dumps(benchmark_variant_settings(config, variant)), "--out", job])
    for measurement in ("throughput", "train_step"):
        table = out / f"{measurement}.csv"
        aggregate.main(["--measurement", measurement, "--baseline", "transformer", "--out", str(table),
                        "--provenance-out", str(out / f"{measurement}.provenance.json"), *jobs])
        frames[measurement] = pd.read_csv(table)
    return config, frames, out


def test_throughput_has_one_row_per_model_form_and_length(study):
    config, frames, _ = study
    spec, rows = config["benchmark"], frames["throughput"]
    paper, extended = spec["paper_lengths"], spec["extended_lengths"]
    assert "transformer_triple" not in spec["extended_variants"]  # timed at the paper lengths only
    expected = {("transformer", "fast", T) for T in paper + extended} | {("transformer_triple", "fast", T) for T in paper} \
        | {("unimatrix_core", "reference", T) for T in paper} | {("unimatrix_core", "fast", T) for T in paper + extended}
    keys = list(zip(rows["variant"], rows["form"], rows["seq_len"]))
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert set(rows.loc[rows["form"] == "reference", "seq_len"]) == set(paper)
    timing = rows.set_index("sweep")[["warmup", "repeats", "max_seq_len"]].drop_duplicates()
    assert timing.loc["paper"].tolist() == [spec["warmup"], spec["repeats"], max(paper)]
    assert timing.loc["extended"].tolist() == [spec["warmup"], spec["extended_repeats"], max(extended)]
    assert set(rows.loc[rows["sweep"] == "paper", "seq_len"]) == set(paper)
    assert rows["tokens_per_s"].to_numpy() == pytest.approx((rows["batch"] * rows["seq_len"] * rows["repeats"] / rows["seconds"]).to_numpy())
    assert rows["memory_mb"].isna().all() and rows["peak_memory_mb"].isna().all()  # no peak counter on a CPU
    assert set(rows["device"]) == {CPU} and set(rows["mode"]) == {"faithful"}
    assert rows["protocol"].str.contains("forward only, eval mode, no grad").all()


def test_train_step_ratios_are_to_the_transformer_and_fast_over_reference(study):
    _, frames, out = study
    rows = frames["train_step"].set_index(["variant", "form"])
    assert sorted(rows.index) == [("transformer", "fast"), ("transformer_triple", "fast"),
                                  ("unimatrix_core", "fast"), ("unimatrix_core", "reference")]
    transformer = rows.loc[("transformer", "fast"), "ms_per_step"]
    assert rows["time_ratio_to_baseline"].tolist() == pytest.approx((rows["ms_per_step"] / transformer).tolist())
    assert rows.loc[("unimatrix_core", "fast"), "fast_speedup"] == pytest.approx(
        rows.loc[("unimatrix_core", "reference"), "ms_per_step"] / rows.loc[("unimatrix_core", "fast"), "ms_per_step"])
    assert rows["fast_speedup"].isna().sum() == 3  # the reference row and the models with one form
    assert rows.loc[("unimatrix_core", "fast"), "seq_len"] == 16 and rows.loc[("unimatrix_core", "fast"), "batch"] == 2
    provenance = json.loads((out / "train_step.provenance.json").read_text())
    assert provenance["n_runs"] == 4 and provenance["devices"] == [CPU]


def test_a_timing_job_times_each_measurement_of_its_variant_in_each_form(study):
    config, _, out = study
    job = json.loads((out / "unimatrix_core.json").read_text())
    assert job["variant"] == "unimatrix_core"
    assert [(piece["settings"]["form"], piece["measurement"]) for piece in job["pieces"]] == [
        ("reference", "throughput"), ("reference", "train_step"), ("fast", "throughput"), ("fast", "train_step")]
    assert [piece["settings"] for piece in job["pieces"]] == benchmark_variant_settings(config, "unimatrix_core")
    assert all({row["form"] for row in piece["rows"]} == {piece["settings"]["form"]} for piece in job["pieces"])
    assert [piece["settings"]["form"] for piece in json.loads((out / "transformer.json").read_text())["pieces"]] == ["fast"] * 2


@pytest.mark.parametrize("settings, message", [
    ("{", "Expecting property name"),
    ("[]", "non-empty JSON list"),
    ('[{"measurement": "latency", "variant": "transformer"}]', "settings[0]: measurement 'latency'; valid: throughput, train_step"),
    ('[{"measurement": "throughput", "variant": "a"}, {"measurement": "throughput", "variant": "b"}]',
     "one variant per timing job; the settings name a, b"),
])
def test_a_timing_job_refuses_bad_settings_before_timing(tmp_path, capsys, settings, message):
    with pytest.raises(SystemExit):
        run.main(["--settings", settings, "--out", str(tmp_path / "job.json")])
    assert message in capsys.readouterr().err and not (tmp_path / "job.json").exists()


def test_a_timing_job_times_the_related_systems(tmp_path):
    """The Universal Transformer with ACT (its ponder cost in the timed loss) and UniMatrix-Core with
    MeSH (in both recurrence forms) go through the harness as the paper's models do."""
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config["device"] = "cpu"
    config["benchmark"]["variants"] += ["universal_transformer_act", "unimatrix_core_mesh"]
    for variant, forms in [("universal_transformer_act", ["fast"]), ("unimatrix_core_mesh", ["reference", "fast"])]:
        run.main(["--settings", json.dumps(benchmark_variant_settings(config, variant)), "--out", str(tmp_path / "job.json")])
        pieces = json.loads((tmp_path / "job.json").read_text())["pieces"]
        steps = [row for piece in pieces if piece["measurement"] == "train_step" for row in piece["rows"]]
        assert [row["form"] for row in steps] == forms and all(row["ms_per_step"] > 0 for row in steps)


def test_aggregate_refuses_pieces_without_the_baseline(study):
    _, frames, out = study
    piece = json.loads((out / "unimatrix_core.json").read_text())["pieces"][-1]
    with pytest.raises(ValueError, match="no fast train_step rows of the baseline 'transformer'"):
        aggregate.table([piece], "transformer")


def test_figure_3_plots_the_csv_and_names_the_device(study):
    config, frames, _ = study
    rows = frames["throughput"]
    names = benchmark_names(config)
    figure = fig3_throughput.draw(rows, names, {"reported": Reported(PAPER / "reported.csv"), "read_off": Reported(PAPER / "read_off.csv")})
    axes = figure.axes[0]
    lines = {line.get_label(): line for line in axes.get_lines()}
    expected = {"transformer": ("transformer", "fast", "-"), "transformer-triple": ("transformer_triple", "fast", "-"),
                "unimatrix-core, reference": ("unimatrix_core", "reference", "--"), "unimatrix-core, fast": ("unimatrix_core", "fast", "-")}
    assert set(expected) <= set(lines)
    for label, (variant, form, style) in expected.items():
        line = rows[(rows["variant"] == variant) & (rows["form"] == form)].sort_values("seq_len")
        assert list(lines[label].get_xdata()) == line["seq_len"].tolist()
        assert list(lines[label].get_ydata()) == line["tokens_per_s"].tolist()
        assert lines[label].get_linestyle() == style
    assert lines["unimatrix-core, reference"].get_color() == lines["unimatrix-core, fast"].get_color()
    assert rows["tokens_per_s_graph"].isna().all() and not any("CUDA graph" in label for label in lines)  # CUDA only
    assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    assert CPU in axes.get_title()
    # the smoke lengths are not the paper's, so none of its points is drawn; at the paper's lengths they are
    assert not any(label.startswith("paper") for label in lines)
    at_paper_lengths = rows.assign(seq_len=rows["seq_len"].map(dict(zip(sorted(rows["seq_len"].unique()), [64, 128, 256]))))
    figure = fig3_throughput.draw(at_paper_lengths, names, {"reported": Reported(PAPER / "reported.csv"), "read_off": Reported(PAPER / "read_off.csv")})
    paper = {line.get_label(): line for line in figure.axes[0].get_lines()}["paper Fig. 3, transformer (read off, MPS)"]
    assert list(paper.get_xdata()) == [64, 128, 256] and list(paper.get_ydata()) == [582000, 701000, 473000]


def test_train_step_table_names_the_device_and_the_ratios(study, tmp_path):
    config, _, out = study
    tex = tmp_path / "train_step_local.tex"
    train_step_table.main(["--train-step", str(out / "train_step.csv"), "--names", json.dumps(benchmark_names(config)),
                           "--result-set", "local", "--template", str(PAPER / "templates" / "train_step_table.tex.j2"),
                           "--out", str(tex)])
    source = tex.read_text()
    assert latex.escape(CPU) in source and "\\label{tab:train_step_local}" in source
    assert "$\\times$ Transformer" in source
    rows = pd.read_csv(out / "train_step.csv").set_index(["variant", "form"])
    fast, reference = rows.loc[("unimatrix_core", "fast")], rows.loc[("unimatrix_core", "reference")]
    assert (f"UniMatrix-Core & fast & {fast.params:,.0f} & {fast.ms_per_step:.1f} & {fast.time_ratio_to_baseline:.2f} & "
            f"{fast.fast_speedup:.2f} \\\\") in source
    assert f"UniMatrix-Core & reference & {reference.params:,.0f} & {reference.ms_per_step:.1f} & " in source
    assert "Transformer & fast & " in source and " & 1.00 & --- \\\\" in source


def test_figure_3_draws_cuda_graph_replays_where_measured(study):
    """As a CUDA result set has them: the fast forms' replayed-graph tokens/s, dotted."""
    config, frames, _ = study
    rows = frames["throughput"].copy()
    fast = rows["form"] == "fast"
    rows.loc[fast, "tokens_per_s_graph"] = 3 * rows.loc[fast, "tokens_per_s"]
    figure = fig3_throughput.draw(rows, benchmark_names(config), {"reported": Reported(PAPER / "reported.csv"),
                                                                  "read_off": Reported(PAPER / "read_off.csv")})
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    line = rows[(rows["variant"] == "unimatrix_core") & fast].sort_values("seq_len")
    graph = lines["unimatrix-core, fast, CUDA graph"]
    assert list(graph.get_ydata()) == line["tokens_per_s_graph"].tolist() and graph.get_linestyle() == ":"
    assert "unimatrix-core, reference, CUDA graph" not in lines
