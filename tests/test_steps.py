"""repro/steps.py: a step run inside a long-lived process (as Snakemake runs train and evaluate
with one core) or forked from the preloaded server (with more cores) gives what the same step gives
in a fresh interpreter, bit for bit on CPU, whatever ran before it; a failing or killed step raises
and leaves its error in its log."""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import torch

from conftest import REPO, processes_holding
from repro.config import Run, load, train_settings
from repro.steps import StepFailed, run_forked, run_here

pytestmark = pytest.mark.slow  # trains runs in and out of process


def settings_of(variant: str, torch_threads: int = 1, steps: int = 6) -> str:
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config.update(device="cpu", torch_threads=torch_threads)
    config["recipes"]["R-AR"]["steps"] = steps
    return json.dumps(train_settings(config, Run("recall", variant, "faithful", 19)).as_dict())


def assert_same_training(a, b):
    a, b = torch.load(a), torch.load(b)
    assert a["record"]["losses"] == b["record"]["losses"]
    assert a["state_dict"].keys() == b["state_dict"].keys()
    assert all(torch.equal(a["state_dict"][key], b["state_dict"][key]) for key in b["state_dict"])


@pytest.mark.parametrize("run", [run_here, run_forked])
def test_step_after_another_equals_a_fresh_process(tmp_path, run):
    before = settings_of("unimatrix_discovery", torch_threads=2)  # other seed use, other thread count
    after = settings_of("transformer")
    run("repro.train", ["--settings", before, "--checkpoint", str(tmp_path / "before.pt")], str(tmp_path / "before.log"))
    run("repro.train", ["--settings", after, "--checkpoint", str(tmp_path / "step.pt")], str(tmp_path / "after.log"))
    subprocess.run([sys.executable, "-m", "repro.train", "--settings", after, "--checkpoint", str(tmp_path / "fresh.pt")],
                   cwd=REPO, check=True, capture_output=True)
    assert_same_training(tmp_path / "step.pt", tmp_path / "fresh.pt")
    assert "6/6" in (tmp_path / "after.log").read_text()  # the step's progress went to its own log


@pytest.mark.parametrize("run", [run_here, run_forked])
@pytest.mark.parametrize("argv, message", [
    (["--settings", "{}"], "the following arguments are required: --checkpoint"),  # argparse exits
    (["--settings", "{}", "--checkpoint", "x.pt"], "TypeError: TrainSettings.__init__() missing"),  # an exception
])
def test_failing_step_raises_and_logs_its_error(tmp_path, run, argv, message):
    log = tmp_path / "step.log"
    with pytest.raises(StepFailed, match=f"python -m repro.train failed.*see {log}"):
        run("repro.train", argv, str(log))
    assert message in log.read_text()
    assert ("Traceback" in log.read_text()) == message.startswith("TypeError")
    assert not (tmp_path / "x.pt").exists()


STEPS = 3000  # minutes of training: it is killed long before the end


def test_killed_forked_step_raises(tmp_path):
    log = tmp_path / "step.log"
    failure = []

    def step():
        try:
            run_forked("repro.train", ["--settings", settings_of("transformer", steps=STEPS),
                                       "--checkpoint", str(tmp_path / "x.pt")], str(log))
        except StepFailed as error:
            failure.append(str(error))

    thread = threading.Thread(target=step, daemon=True)
    thread.start()
    deadline = time.time() + 120
    while not re.search(rf" [1-9]\d*/{STEPS} ", log.read_text(errors="replace") if log.exists() else ""):
        assert time.time() < deadline, "the step never got going"
        time.sleep(0.1)
    holders = processes_holding(log)
    for pid in holders:
        os.kill(pid, signal.SIGKILL)
    assert len(holders) == 1 and holders[0] != os.getpid()  # the step's own process
    thread.join(30)
    assert failure == [f"python -m repro.train was killed by signal 9; see {log}"]
    assert not (tmp_path / "x.pt").exists()



def test_forked_steps_that_end_as_others_start_count_as_finished(tmp_path):
    """Steps side by side, as Snakemake's threads run them: a process that starts reads the exit codes
    of those that have ended, and a step that ended just then must still count as a success."""
    failures = []

    def worker(thread):
        for step in range(20):
            try:
                run_forked("probe_step", [str(tmp_path / f"{thread}_{step}.json"), "0.01", "ok"],
                           str(tmp_path / f"{thread}_{step}.log"))
            except StepFailed as error:
                failures.append(str(error))

    threads = [threading.Thread(target=worker, args=(thread,)) for thread in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
