"""profiles/slurm against a live SLURM cluster of one node on this machine (tests/slurm_cluster.py):
the smoke DAG submitted through Snakemake's executor plugin gives the metrics of the local smoke run,
value for value; every training and evaluation runs inside a SLURM job Snakemake submitted, and the
local rules run in Snakemake itself; a training job cancelled by SLURM leaves nothing that looks
finished, and its retry completes it."""
import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from conftest import REPO, SUBMITTED_RULES, repository_copy
from repro.config import load, runs
from repro.report.compare import is_timing
from slurm_cluster import Cluster, missing_tools


def unmet_needs() -> str:
    """Why the cluster cannot run here ('' where it can)."""
    if sys.platform != "linux":
        return "SLURM's daemons run on Linux only"
    if os.geteuid() != 0:
        return "the test cluster runs as root (SlurmUser=root) and so must the test"
    if missing := missing_tools():
        return f"{', '.join(missing)} not installed: `bin/setup --cluster` installs SLURM and munge"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm not installed: `bin/setup --cluster` installs it"
    return ""


UNMET = unmet_needs()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(bool(UNMET), reason=UNMET)]

SMOKE_CONFIG = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
# The test cluster keeps no accounting database, so job states come from squeue; its jobs last
# seconds, so the plugin polls from the first second instead of its default 40, and every 2 s after.
THROUGH_PROFILE = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", "--slurm-status-command",
                   "squeue", "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2"]
# The node's cores bound a timing job's threads, and the smoke runs last seconds: sixteen runs to a
# SLURM job, as the profile says to do for short runs, so that each job's two Snakemake starts are paid
# about 20 times rather than 200.
SMOKE_OPTIONS = ["--cores", str(os.cpu_count()), "--group-components", "run=16"]
SUBMISSION = re.compile(r"has been submitted with SLURM jobid (\d+)")


def command(*options, targets=(), overlays=()) -> list:
    return [*THROUGH_PROFILE, *options, "--configfile", "config/smoke.yaml", "config/local.yaml", *overlays, "--", *targets]


def through_profile(work: Path, cluster: Cluster, *options, targets=(), overlays=()) -> subprocess.CompletedProcess:
    return subprocess.run(command(*options, targets=targets, overlays=overlays), cwd=work, env=cluster.env,
                          capture_output=True, text=True)


@dataclass(frozen=True)
class ClusterRun:
    work: Path
    log: str  # Snakemake's output
    accepted: list  # the SLURM job ids slurmctld accepted by the end of the run


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


def user_copy(work: Path, wikitext_dir: Path, cluster: Cluster) -> Path:
    """A repository copy whose profiles/slurm names the test cluster's partition and no account, as its
    user would edit it (README, "On a SLURM cluster")."""
    repository_copy(work, wikitext_dir)
    profile = work / "profiles" / "slurm" / "profile.yaml"
    text = profile.read_text().replace('slurm_partition: "CHANGE-ME"', f'slurm_partition: "{cluster.partition}"')
    profile.write_text(re.sub(r'\n +slurm_account: "CHANGE-ME"', "", text))
    return work


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory, real_wikitext_dir, cluster) -> ClusterRun:
    """The smoke DAG run through the profile of a user's copy."""
    work = user_copy(tmp_path_factory.mktemp("cluster_run"), real_wikitext_dir, cluster)
    start = time.perf_counter()
    result = through_profile(work, cluster, *SMOKE_OPTIONS)
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"smoke DAG through SLURM: {time.perf_counter() - start:.1f} s, "
          f"{len(SUBMISSION.findall(result.stderr))} SLURM jobs submitted")
    return ClusterRun(work, result.stderr, re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+) ", cluster.log("slurmctld")))


def job_headers(log: str) -> list:
    """(grouped, local, rule) of each job Snakemake's log announces: a job of a group job is indented."""
    return [(bool(indent), bool(local), rule) for indent, local, rule in re.findall(r"^(    )?(local)?rule (\w+):$", log, re.M)]


def test_training_and_evaluation_go_through_sbatch_and_the_local_rules_do_not(cluster_run):
    submitted = SUBMISSION.findall(cluster_run.log)
    assert sorted(submitted) == sorted(cluster_run.accepted) and len(set(submitted)) == len(submitted)  # each once
    headers = job_headers(cluster_run.log)
    groups = len(re.findall(r"\] Group job run \(", cluster_run.log))
    assert groups and len(submitted) == groups + sum(not grouped and not local for grouped, local, _ in headers)
    assert {rule for _, local, rule in headers if not local} == SUBMITTED_RULES
    local = {rule for grouped, local, rule in headers if local}
    assert {"aggregate_experiment", "claims", "compile_report"} <= local and not local & SUBMITTED_RULES
    for run in runs(SMOKE_CONFIG):  # where each training and evaluation ran, by its own record
        provenance = json.loads((cluster_run.work / run.directory / "metrics.json").read_text())["provenance"]
        assert provenance["train_host"]["slurm_job_id"] in submitted, run
        assert provenance["eval_host"]["slurm_job_id"] in submitted, run


def metric_rows(path: Path) -> list:
    with open(path) as table:
        return sorted(tuple(row.values()) for row in csv.DictReader(table) if not is_timing(row["metric"]))


def test_metrics_equal_the_local_smoke_run_value_for_value(cluster_run, smoke_run):
    local = metric_rows(smoke_run.metrics)
    assert local and metric_rows(cluster_run.work / "results" / "metrics.csv") == local  # CPU: the same bits


def test_nothing_to_do_after_the_run(cluster_run, cluster):
    result = through_profile(cluster_run.work, cluster, "-n", *SMOKE_OPTIONS)
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr, result.stdout + result.stderr


TRIAL_RUN = "results/runs/memory_pilot_recall/mamba2/faithful/seed19"
TRIAL_STEPS = 200  # about ten seconds of training: time to cancel it midway, little to rerun it


def overlay(work: Path, name: str, content: dict) -> str:
    (work / "config" / name).write_text(yaml.safe_dump(content))
    return f"config/{name}"


def submissions(snakemake_log: Path) -> list:
    """The SLURM job ids of the training job's submissions so far (the trial submits nothing else)."""
    return SUBMISSION.findall(snakemake_log.read_text())


def wait_for(ready, process, snakemake_log: Path, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not ready():
        assert time.time() < deadline and process.poll() is None, snakemake_log.read_text()
        time.sleep(0.2)


def test_a_cancelled_training_is_retried_and_nothing_half_written_counts_as_finished(tmp_path, real_wikitext_dir, cluster):
    work = user_copy(tmp_path / "work", real_wikitext_dir, cluster)
    long_run = overlay(work, "trial.yaml", {"experiments": {"memory_pilot_recall": {"overrides": {"mamba2": {"steps": TRIAL_STEPS}}}}})
    run, target = work / TRIAL_RUN, f"{TRIAL_RUN}/model.pt"
    snakemake_log = work.parent / "trial.log"
    with open(snakemake_log, "w") as out:
        process = subprocess.Popen(command(targets=[target], overlays=[long_run]), cwd=work, env=cluster.env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: submissions(snakemake_log) and (submissions(snakemake_log)[0], "RUNNING") in cluster.jobs(),
                 process, snakemake_log)
        since = time.time()  # the log is this attempt's once written after it started
        wait_for(lambda: (run / "train.log").exists() and (run / "train.log").stat().st_mtime > since
                 and re.search(rf" [1-9]\d*/{TRIAL_STEPS} ", (run / "train.log").read_text(errors="replace")),
                 process, snakemake_log)
        cancelled = submissions(snakemake_log)[0]
        subprocess.run(["scancel", cancelled], env=cluster.env, check=True)
        wait_for(lambda: len(submissions(snakemake_log)) == 2, process, snakemake_log)  # the profile's retry
        assert not (run / "model.pt").exists()  # the killed attempt left no checkpoint behind
        assert process.wait(timeout=180) == 0, snakemake_log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (cancelled, "CANCELLED") in cluster.jobs()  # SLURM's record of the kill
    assert re.search(rf"Error in group run\n +log: \S+/{cancelled}\.log", snakemake_log.read_text())  # reported as failed
    assert (run / "model.pt").is_file()
    done = through_profile(work, cluster, "-n", targets=[target], overlays=[long_run])
    assert "Nothing to be done" in done.stdout + done.stderr, done.stdout + done.stderr
    print(f"scancel of SLURM job {cancelled} (training): reported cancelled, retried as SLURM job "
          f"{submissions(snakemake_log)[1]}, which trained it")
