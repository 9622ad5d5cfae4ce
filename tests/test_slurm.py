"""profiles/slurm against a live SLURM cluster of one node on this machine (tests/slurm_cluster.py):
part of the smoke DAG submitted through Snakemake's executor plugin gives the metrics of the local
smoke run, value for value; training and evaluation go through sbatch and the local rules do not;
a training job cancelled by SLURM leaves nothing that looks finished, and its retry completes it."""
import csv
import importlib.util
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from conftest import REPO, repository_copy
from repro.config import load, runs, trained_by
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

# One experiment, not the whole smoke DAG, since each cluster job pays two Snakemake starts: an LM
# experiment, with the data job, and a training that it shares with the lm experiment.
EXPERIMENT = "rffn_pilot80"
TARGET = f"results/metrics/{EXPERIMENT}.csv"
SMOKE_CONFIG = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
SUBMITTED_RULES = {"prepare_wikitext", "train", "evaluate"}
# The test cluster keeps no accounting database, so job states come from squeue; its jobs last
# seconds, so the plugin polls from the first second instead of its default 40.
THROUGH_PROFILE = [sys.executable, "-m", "snakemake", "--workflow-profile", "profiles/slurm", "--slurm-status-command",
                   "squeue", "--slurm-init-seconds-before-status-checks", "1"]


@dataclass
class Job:
    rule: str
    local: bool
    outputs: set
    slurm_ids: list = field(default_factory=list)


def jobs_in(log: str) -> dict:
    """Snakemake's job id -> Job, from the log of one Snakemake run: each job's header, and the
    SLURM job id of each time it was submitted."""
    jobs = {}
    for local, rule, body in re.findall(r"^(local)?rule (\w+):\n((?:    .*\n)+)", log, re.M):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        jobs.setdefault(int(fields["jobid"]), Job(rule, bool(local), set(fields.get("output", "").split(", "))))
    for job, slurm_id in re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log):
        jobs[int(job)].slurm_ids.append(slurm_id)
    return jobs


def command(*options, targets=(), overlays=()) -> list:
    return [*THROUGH_PROFILE, *options, "--configfile", "config/smoke.yaml", "config/local.yaml", *overlays, "--", *targets]


def through_profile(work: Path, cluster: Cluster, *options, targets=(), overlays=()) -> subprocess.CompletedProcess:
    return subprocess.run(command(*options, targets=targets, overlays=overlays), cwd=work, env=cluster.env,
                          capture_output=True, text=True)


@dataclass(frozen=True)
class ClusterRun:
    work: Path
    log: str  # Snakemake's output


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with Cluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def cluster_run(tmp_path_factory, real_wikitext_dir, cluster) -> ClusterRun:
    """A repository copy whose profiles/slurm names the test cluster's partition and no account, as
    its user would edit it, with EXPERIMENT run through it."""
    work = repository_copy(tmp_path_factory.mktemp("cluster_run"), real_wikitext_dir)
    profile = work / "profiles" / "slurm" / "profile.yaml"
    text = profile.read_text().replace('slurm_partition: "CHANGE-ME"', f'slurm_partition: "{cluster.partition}"')
    profile.write_text(re.sub(r'\n +slurm_account: "CHANGE-ME"', "", text))
    start = time.perf_counter()
    result = through_profile(work, cluster, targets=[TARGET])
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"{EXPERIMENT} through SLURM: {time.perf_counter() - start:.1f} s, "
          f"{sum(len(job.slurm_ids) for job in jobs_in(result.stderr).values())} jobs submitted")
    return ClusterRun(work, result.stderr)


def expected_submissions() -> set:
    """The outputs of the jobs that must go through sbatch: the data, and the training and evaluation of each run."""
    trainers = trained_by(SMOKE_CONFIG)
    subset = runs(SMOKE_CONFIG, EXPERIMENT)
    lm_data = {f"data/wikitext2/{name}" for name in ("train_stream.pt", "valid_stream.pt", "manifest.json")}
    return ({f"{trainers[run].directory}/model.pt" for run in subset} | {f"{run.directory}/metrics.json" for run in subset}
            | lm_data)


def test_training_and_evaluation_go_through_sbatch_and_the_local_rules_do_not(cluster_run, cluster):
    jobs = jobs_in(cluster_run.log).values()
    submitted = [job for job in jobs if job.slurm_ids]
    assert {output for job in submitted for output in job.outputs} == expected_submissions()
    assert all(job.rule in SUBMITTED_RULES and not job.local and len(job.slurm_ids) == 1 for job in submitted)
    local = [job for job in jobs if not job.slurm_ids]
    assert [job.rule for job in local] == ["aggregate_experiment"]
    assert all(job.local for job in local)
    accepted = set(re.findall(r"_slurm_rpc_submit_batch_job: JobId=(\d+) ", cluster.log("slurmctld")))
    assert {job.slurm_ids[0] for job in submitted} <= accepted


def metric_rows(path: Path) -> list:
    with open(path) as table:
        return sorted(tuple(row.values()) for row in csv.DictReader(table)
                      if row["experiment"] == EXPERIMENT and not is_timing(row["metric"]))


def test_metrics_equal_the_local_smoke_run_value_for_value(cluster_run, smoke_run):
    local = metric_rows(smoke_run.metrics)
    assert local and metric_rows(cluster_run.work / TARGET) == local  # CPU: the same bits, as strings of full precision


def test_nothing_to_do_after_the_run(cluster_run, cluster):
    result = through_profile(cluster_run.work, cluster, "-n", targets=[TARGET])
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr, result.stdout + result.stderr


TRIAL_RUN = "results/runs/memory_pilot_recall/mamba2/faithful/seed19"
TRIAL_STEPS = 200  # about ten seconds of training: time to cancel it midway, little to rerun it


def overlay(work: Path, name: str, content: dict) -> str:
    (work / "config" / name).write_text(yaml.safe_dump(content))
    return f"config/{name}"


def submissions(snakemake_log: Path) -> list:
    """The SLURM job ids of the training job's submissions so far."""
    return re.findall(r"submitted with SLURM jobid (\d+) \(log: .*/rule_train/", snakemake_log.read_text())


def wait_for(ready, process, snakemake_log: Path, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while not ready():
        assert time.time() < deadline and process.poll() is None, snakemake_log.read_text()
        time.sleep(0.2)


def test_a_cancelled_training_is_retried_and_nothing_half_written_counts_as_finished(cluster_run, cluster):
    work = cluster_run.work
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
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in snakemake_log.read_text()
    assert (run / "model.pt").is_file()
    done = through_profile(work, cluster, "-n", targets=[target], overlays=[long_run])
    assert "Nothing to be done" in done.stdout + done.stderr, done.stdout + done.stderr
    print(f"scancel of SLURM job {cancelled} (training): reported cancelled, retried as SLURM job "
          f"{submissions(snakemake_log)[1]}, which trained it")
