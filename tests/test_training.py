import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from repro.acceleration import run_acceleration
from repro.config import Run, eval_settings, load, train_settings
from repro.evaluate import evaluate
from repro.runtime import LossRecord, NonFiniteLoss, configure_torch
from repro.train import train

from conftest import REPO

pytestmark = pytest.mark.slow  # trains runs


def tiny_run(variant, **recipe):
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config["device"] = "cpu"
    config["recipes"]["R-AR"].update(recipe)
    run = Run("recall", variant, "faithful", 19)
    return train_settings(config, run), eval_settings(config, run)


@pytest.mark.parametrize("variant", ["transformer", "unimatrix_discovery"])
def test_same_seed_gives_identical_metrics(variant):
    settings, evaluation = tiny_run(variant, steps=4)
    results = []
    for _ in range(2):
        model, record = train(settings, {}, progress=False)
        metrics, _, _ = evaluate({"settings": settings.as_dict(), "state_dict": model.state_dict(), "record": record}, evaluation, {})
        results.append((record["losses"], {k: v for k, v in metrics.items() if not k.endswith("seconds")}))
    assert results[0] == results[1]
    assert train(replace(settings, seed=20), {}, progress=False)[1]["losses"] != results[0][0]


@pytest.mark.parametrize("flush", [True, False])
def test_flush_denormals_setting_decides_whether_cpu_results_below_float_range_survive(flush):
    settings, evaluation = tiny_run("transformer")
    assert settings.flush_denormals is evaluation.flush_denormals is True  # the default, in both nodes' params
    tiny = torch.tensor([1e-30])
    try:
        configure_torch(run_acceleration(replace(settings, flush_denormals=flush), torch.device("cpu")))
        product = (tiny * 1e-10).item()  # 1e-40: a denormal float32
    finally:
        configure_torch(run_acceleration(settings, torch.device("cpu")))
    assert (product == 0.0) is flush


def test_diverging_loss_stops_the_run_naming_run_and_step():
    settings, _ = tiny_run("transformer", steps=20, lr=1e30)
    with pytest.raises(NonFiniteLoss, match=r"run recall/transformer/faithful/seed19: loss is nan at step \d+"):
        train(settings, {}, progress=False)


def test_loss_record_reads_back_every_loss_and_names_the_first_non_finite_step():
    record = LossRecord("r")
    buffer = torch.zeros(())  # as a CUDA graph's loss: one tensor, overwritten by each step
    for step in range(1, LossRecord.READ_BACK_EVERY + 6):
        buffer.fill_(step / 4)
        record.add(buffer)
    assert record.values == [step / 4 for step in range(1, LossRecord.READ_BACK_EVERY + 1)]  # one block read back
    assert record.read_back() == [step / 4 for step in range(1, LossRecord.READ_BACK_EVERY + 6)]
    for value in (1.0, float("inf"), float("nan")):
        record.add(torch.tensor(value))
    with pytest.raises(NonFiniteLoss, match=rf"run r: loss is inf at step {LossRecord.READ_BACK_EVERY + 7};"):
        record.read_back()


def test_diverged_run_writes_no_checkpoint(tmp_path):
    settings, _ = tiny_run("transformer", steps=20, lr=1e30)
    checkpoint = tmp_path / "model.pt"
    result = subprocess.run([sys.executable, "-m", "repro.train", "--settings", json.dumps(settings.as_dict()), "--checkpoint", str(checkpoint)],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode != 0 and "loss is nan at step" in result.stderr
    assert list(tmp_path.iterdir()) == []
