"""Depth diagnostics (repro/depth/measure.py, aggregate.py): the three measures on hand-built states, the states
read from a real shared-depth model, and the command on a checkpoint."""
import json
import math

import pandas as pd
import pytest
import torch

from conftest import REPO
from models.acceleration import Acceleration
from repro.depth import aggregate
from repro.depth import measure
from repro.config import Run, depth_diagnostic_runs, load, runs, train_settings, trained_by
from repro.runtime import build


def test_measures_of_hand_built_states():
    before = torch.tensor([[[3.0, 4.0], [1.0, 0.0]]])  # (B = 1, T = 2, d = 2)
    doubled, turned = 2 * before, torch.tensor([[[-4.0, 3.0], [0.0, 1.0]]])  # turned: same norms, orthogonal
    assert measure.relative_update(before, doubled) == pytest.approx(1.0)
    assert measure.cosine(before, doubled) == pytest.approx(1.0)
    assert measure.relative_update(before, turned) == pytest.approx(math.sqrt(2))
    assert measure.cosine(before, turned) == pytest.approx(0.0)


def test_effective_rank_counts_the_directions_the_states_spread_over():
    assert measure.effective_rank(torch.eye(4)) == pytest.approx(4.0)
    assert measure.effective_rank(torch.ones(5, 3)) == pytest.approx(1.0)
    unequal = torch.diag(torch.tensor([3.0, 1.0]))  # p = (3/4, 1/4)
    assert measure.effective_rank(unequal) == pytest.approx(math.exp(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25))))


def test_diagnose_numbers_the_steps_from_one():
    states = [torch.ones(1, 2, 3), 2 * torch.ones(1, 2, 3), 2 * torch.ones(1, 2, 3)]
    rows = measure.diagnose(states)
    assert [row["step"] for row in rows] == [1, 2]
    assert rows[1]["relative_update"] == 0.0 and rows[0]["relative_update"] == pytest.approx(1.0)


def _lm_settings(variant):
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config["device"] = "cpu"
    return train_settings(config, Run("lm", variant, "faithful", 7))


def test_states_are_the_shared_blocks_input_and_each_steps_output():
    settings = _lm_settings("unimatrix_core")
    model = build(settings, torch.device("cpu"), Acceleration()).eval()
    idx = torch.randint(0, 256, (2, settings.seq_len), generator=torch.Generator().manual_seed(0))
    states = measure.states_per_step(model, idx)
    assert len(states) == model.cfg.depth + 1 and all(s.shape == (2, settings.seq_len, model.cfg.d_model) for s in states)
    with torch.no_grad():  # the last state is what the head reads: the recorded outputs are the model's own
        assert torch.equal(model.embed.logits(model.ln_f(states[-1])), model(idx))
    assert not model.block._forward_hooks  # the hook is gone after the pass


def test_a_model_without_a_shared_block_is_refused():
    settings = _lm_settings("transformer")
    model = build(settings, torch.device("cpu"), Acceleration())
    with pytest.raises(ValueError, match="Transformer has no shared block"):
        measure.states_per_step(model, torch.zeros(1, 4, dtype=torch.long))


def test_command_writes_one_row_per_step_for_a_checkpoint(tmp_path):
    settings = _lm_settings("unimatrix_core")
    model = build(settings, torch.device("cpu"), Acceleration())
    torch.save({"settings": settings.as_dict(), "state_dict": model.state_dict(), "record": {}}, tmp_path / "model.pt")
    torch.save(torch.randint(0, 256, (10 * settings.seq_len,), generator=torch.Generator().manual_seed(1)), tmp_path / "valid.pt")
    arguments = ["--checkpoint", str(tmp_path / "model.pt"), "--data", f"valid={tmp_path / 'valid.pt'}"]
    measure.main([*arguments, "--windows", "4", "--out", str(tmp_path / "depth.json")])
    result = json.loads((tmp_path / "depth.json").read_text())
    assert (result["variant"], result["windows"]) == ("unimatrix_core", 4)
    assert [row["step"] for row in result["steps"]] == list(range(1, model.cfg.depth + 1))
    with pytest.raises(SystemExit):
        measure.main([*arguments, "--windows", "11", "--out", str(tmp_path / "too_many.json")])
    assert not (tmp_path / "too_many.json").exists()


def test_aggregate_writes_a_row_per_run_step_and_measure(tmp_path):
    result = {"experiment": "lm", "variant": "unimatrix_core", "mode": "faithful", "seed": 7,
              "steps": [{"step": 1, "relative_update": 0.5, "cosine": 0.9, "effective_rank": 3.0},
                        {"step": 2, "relative_update": 0.1, "cosine": 0.99, "effective_rank": 2.5}]}
    (tmp_path / "depth.json").write_text(json.dumps(result))
    aggregate.main(["--out", str(tmp_path / "depth.csv"), str(tmp_path / "depth.json")])
    table = pd.read_csv(tmp_path / "depth.csv")
    assert len(table) == 6 and table.set_index(["step", "metric"]).loc[(2, "cosine"), "value"] == 0.99


def test_figure_draws_the_mean_over_seeds_per_step_for_each_model_and_mode():
    from repro.figures import depth_diagnostics as figure_module
    rows = [{"experiment": "lm", "variant": variant, "mode": mode, "seed": seed, "step": step, "metric": metric,
             "value": seed * step + (variant == "unimatrix_rosa")}
            for variant, modes in (("unimatrix_core", ("faithful", "corrected")), ("unimatrix_rosa", ("faithful",)))
            for mode in modes for seed in (1, 3) for step in (1, 2, 3) for metric in measure.METRICS]
    figure = figure_module.draw(pd.DataFrame(rows), {"unimatrix_core": {"label": "Core"}, "unimatrix_rosa": {"label": "ROSA"}})
    for axes in figure.axes:
        lines = {bars.get_label(): bars.lines[0] for bars in axes.containers}  # errorbar: (data line, caps, bars)
        assert set(lines) == {"Core, faithful", "Core, corrected", "ROSA"}
        assert list(lines["ROSA"].get_ydata()) == [3.0, 5.0, 7.0]  # mean of seeds 1 and 3, plus one
        assert list(lines["Core, corrected"].get_xdata()) == [1, 2, 3] and lines["Core, corrected"].get_linestyle() == "--"


def test_the_measured_runs_are_the_shared_depth_ones_of_the_configured_experiments_one_per_checkpoint(paper_config):
    from models.registry import family_of
    measured = depth_diagnostic_runs(paper_config)
    trainers = trained_by(paper_config)
    shared_depth = {trainers[run] for experiment in paper_config["depth_diagnostics"]["experiments"]
                    for run in runs(paper_config, experiment)
                    if family_of(paper_config["variants"][run.variant]).shared_depth}
    assert sorted(trainers[run].name for run in measured) == sorted(run.name for run in shared_depth)  # each once
    assert {run.experiment for run in measured} == set(paper_config["depth_diagnostics"]["experiments"])
    assert "universal_transformer_act" in {run.variant for run in measured}
    assert not {"transformer", "transformer_d40"} & {run.variant for run in measured}


def test_halted_shares_are_the_distribution_of_halting_steps_over_positions():
    steps = torch.tensor([[1.0, 2.0, 2.0, 4.0]])
    assert measure.halted_shares(steps, 4) == [25.0, 50.0, 0.0, 25.0]
    rows = measure.diagnose([torch.ones(1, 4, 2), 2 * torch.ones(1, 4, 2), 3 * torch.ones(1, 4, 2),
                             4 * torch.ones(1, 4, 2), 5 * torch.ones(1, 4, 2)], steps)
    assert [row[measure.HALTING] for row in rows] == [25.0, 50.0, 0.0, 25.0]
    assert measure.HALTING not in measure.diagnose([torch.ones(1, 4, 2), 2 * torch.ones(1, 4, 2)])[0]


def test_command_records_an_act_models_halting_steps_and_aggregate_keeps_them(tmp_path):
    settings = _lm_settings("universal_transformer_act")
    model = build(settings, torch.device("cpu"), Acceleration())
    torch.save({"settings": settings.as_dict(), "state_dict": model.state_dict(), "record": {}}, tmp_path / "model.pt")
    torch.save(torch.randint(0, 256, (4 * settings.seq_len,), generator=torch.Generator().manual_seed(1)), tmp_path / "valid.pt")
    measure.main(["--checkpoint", str(tmp_path / "model.pt"), "--data", f"valid={tmp_path / 'valid.pt'}",
                  "--windows", "2", "--out", str(tmp_path / "depth.json")])
    steps = json.loads((tmp_path / "depth.json").read_text())["steps"]
    assert len(steps) == model.cfg.depth and sum(row[measure.HALTING] for row in steps) == pytest.approx(100.0)
    with torch.no_grad():  # the shares are those of the model's own halting on the same windows
        model.eval()(torch.load(tmp_path / "valid.pt")[:2 * settings.seq_len].view(2, settings.seq_len))
    assert [row[measure.HALTING] for row in steps] == pytest.approx(measure.halted_shares(model.halting.steps, model.cfg.depth))
    aggregate.main(["--out", str(tmp_path / "depth.csv"), str(tmp_path / "depth.json")])
    table = pd.read_csv(tmp_path / "depth.csv")
    assert set(table["metric"]) == {*measure.METRICS, measure.HALTING} and len(table) == 4 * model.cfg.depth


def test_figure_adds_a_halting_panel_with_the_act_models_only_where_they_were_measured():
    from repro.figures import depth_diagnostics as figure_module
    rows = [{"experiment": "related_systems", "variant": variant, "mode": "faithful", "seed": 1, "step": step,
             "metric": metric, "value": float(step)}
            for variant in ("universal_transformer", "universal_transformer_act") for step in (1, 2)
            for metric in measure.METRICS]
    names = {"universal_transformer": {"label": "UT"}, "universal_transformer_act": {"label": "UT+ACT"}}
    assert len(figure_module.draw(pd.DataFrame(rows), names).axes) == 3
    rows += [{**rows[-1], "step": step, "metric": measure.HALTING, "value": share} for step, share in ((1, 30.0), (2, 70.0))]
    figure = figure_module.draw(pd.DataFrame(rows), names)
    halting = figure.axes[3]
    assert [bars.get_label() for bars in halting.containers] == ["UT+ACT"]
    assert list(halting.containers[0].lines[0].get_ydata()) == [30.0, 70.0]
    assert [text.get_text() for text in halting.get_legend().get_texts()] == ["UT", "UT+ACT"]
