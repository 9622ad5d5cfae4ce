"""repro/in_process.py: a step run inside a long-lived process (as Snakemake runs train and
evaluate with one core) gives what the same step gives in a fresh interpreter, bit for bit on CPU,
whatever ran before it; a failing step raises and leaves its error in its log."""
import json
import subprocess
import sys

import pytest
import torch

from conftest import REPO
from repro.config import Run, load, train_settings
from repro.in_process import StepFailed, run

pytestmark = pytest.mark.slow  # trains runs in and out of process


def settings_of(variant: str, torch_threads: int = 1) -> str:
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config.update(device="cpu", torch_threads=torch_threads)
    config["recipes"]["R-AR"]["steps"] = 6
    return json.dumps(train_settings(config, Run("recall", variant, "faithful", 19)).as_dict())


def test_step_after_another_in_one_process_equals_a_fresh_process(tmp_path):
    before = settings_of("unimatrix_discovery", torch_threads=2)  # other seed use, other thread count
    after = settings_of("transformer")
    run("repro.train", ["--settings", before, "--checkpoint", str(tmp_path / "before.pt")], str(tmp_path / "before.log"))
    run("repro.train", ["--settings", after, "--checkpoint", str(tmp_path / "in_process.pt")], str(tmp_path / "after.log"))
    subprocess.run([sys.executable, "-m", "repro.train", "--settings", after, "--checkpoint", str(tmp_path / "fresh.pt")],
                   cwd=REPO, check=True, capture_output=True)
    in_process, fresh = torch.load(tmp_path / "in_process.pt"), torch.load(tmp_path / "fresh.pt")
    assert in_process["record"]["losses"] == fresh["record"]["losses"]
    assert in_process["state_dict"].keys() == fresh["state_dict"].keys()
    assert all(torch.equal(in_process["state_dict"][key], fresh["state_dict"][key]) for key in fresh["state_dict"])
    assert "6/6" in (tmp_path / "after.log").read_text()  # the step's progress went to its own log


@pytest.mark.parametrize("argv, message", [
    (["--settings", "{}"], "the following arguments are required: --checkpoint"),  # argparse exits
    (["--settings", "{}", "--checkpoint", "x.pt"], "TypeError: TrainSettings.__init__() missing"),  # an exception
])
def test_failing_step_raises_and_logs_its_error(tmp_path, argv, message):
    log = tmp_path / "step.log"
    with pytest.raises(StepFailed, match=f"python -m repro.train failed.*see {log}"):
        run("repro.train", argv, str(log))
    assert message in log.read_text()
    assert ("Traceback" in log.read_text()) == message.startswith("TypeError")
    assert not (tmp_path / "x.pt").exists()
