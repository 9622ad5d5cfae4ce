"""What each rule asks a scheduler for (repro/job_resources.py, the rules' `resources:`): memory and
time from the recipe, a GPU for the jobs that compute on CUDA, and the small rules run locally."""
import math
import re
import subprocess
import sys

import pytest

from conftest import REPO, SUBMITTED_RULES, repository_copy
from repro import job_resources
from repro.config import benchmark_variant_settings, load, recipe_for

SMOKE = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
PAPER = load(REPO / "config" / "config.yaml")
ON_THE_DEVICE = {"train", "evaluate", "ruler", "benchmark", "depth_diagnostics"}  # the jobs that take a GPU on CUDA


def test_a_training_needs_what_its_recipe_makes_it_compute():
    recipe = PAPER["recipes"]["R-AR"]
    need = job_resources.training(recipe)
    assert need == job_resources.Need(200 * 32 * 128, 32 * 128)
    cpu = job_resources.DEVICES["cpu"]
    assert need.on("cpu") == {"mem_mb": math.ceil(2 * (cpu.base_mb + 32 * 128 * cpu.mb_per_batch_token)),
                              "runtime": math.ceil(2 * (cpu.start_s + need.tokens * cpu.seconds_per_token) / 60)}
    longer = job_resources.training({**recipe, "steps": 2000}).on("cpu")
    assert longer["runtime"] > need.on("cpu")["runtime"] and longer["mem_mb"] == need.on("cpu")["mem_mb"]
    assert job_resources.training({**recipe, "seq_len": 256}).on("cpu")["mem_mb"] > need.on("cpu")["mem_mb"]
    assert need.on("auto") == need.on("cpu")  # `auto` may find no GPU


def test_a_staged_curriculum_counts_every_stage_and_its_evaluations():
    recipe = PAPER["recipes"]["R-TRI"]
    stages, tokens = len(recipe["stages"]), recipe["batch_size"] * recipe["seq_len"]
    evaluation = recipe["eval"]["batches"] * recipe["eval"]["batch_size"] * recipe["seq_len"]
    assert job_resources.training(recipe).tokens == stages * recipe["steps"] * tokens + (stages + 1) * stages * evaluation


def test_an_lm_evaluation_counts_every_recorded_batch_count():
    recipe = PAPER["recipes"]["R-LM"]
    assert recipe["eval"]["batches"] == [64, 128]
    assert job_resources.evaluation(recipe).tokens == (64 + 128) * 16 * 128


def test_on_cuda_a_long_training_takes_less_time_and_keeps_its_activations_off_the_host():
    need = job_resources.training(PAPER["recipes"]["R-ARD-256"])
    assert need.on("cuda")["runtime"] < need.on("cpu")["runtime"]
    assert need.on("cuda")["mem_mb"] == 2 * job_resources.DEVICES["cuda"].base_mb


def dry_run_jobs(work, device: str) -> list:
    """(rule, wildcards, resources) of every job of the smoke DAG's dry run with `device`."""
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "4", "--configfile", "config/smoke.yaml",
                             "config/local.yaml", "--config", f"device={device}"], cwd=work, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = []
    for rule, body in re.findall(r"^rule (\w+):\n((?:    .*\n)+)", result.stdout, re.M):
        fields = dict(re.findall(r"^    (\w+): (.*)$", body, re.M))
        wildcards = dict(pair.split("=", 1) for pair in fields["wildcards"].split(", ")) if "wildcards" in fields else {}
        resources = dict(pair.split("=", 1) for pair in fields["resources"].split(", "))
        jobs.append((rule, wildcards, resources))
    return jobs


def expected(rule: str, wildcards: dict, device: str) -> dict:
    if rule == "benchmark":
        need = job_resources.timing(benchmark_variant_settings(SMOKE, wildcards["variant"]))
    elif rule == "ruler":
        need = job_resources.ruler(SMOKE["ruler"]["experiments"][wildcards["experiment"]]["samples"], int(wildcards["budget"]))
    elif rule == "depth_diagnostics":
        need = job_resources.depth(SMOKE["depth_diagnostics"]["windows"],
                                   recipe_for(SMOKE, wildcards["experiment"], wildcards["variant"])["seq_len"])
    else:
        need = getattr(job_resources, {"train": "training", "evaluate": "evaluation"}[rule])(
            recipe_for(SMOKE, wildcards["experiment"], wildcards["variant"]))
    return {name: str(value) for name, value in need.on(device).items()}


@pytest.fixture(scope="module")
def work(tmp_path_factory, real_wikitext_dir):
    return repository_copy(tmp_path_factory.mktemp("resources"), real_wikitext_dir)


@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_each_job_of_the_dag_asks_for_its_memory_time_and_gpu(work, device):
    jobs = dry_run_jobs(work, device)
    assert {rule for rule, _, _ in jobs} >= ON_THE_DEVICE
    for rule, wildcards, resources in jobs:
        if rule in ON_THE_DEVICE:
            assert resources["gpu"] == ("1" if device == "cuda" else "0"), (rule, wildcards)
            assert {name: resources[name] for name in ("mem_mb", "runtime")} == expected(rule, wildcards, device), (rule, wildcards)
        else:
            assert "gpu" not in resources, rule


def rule_blocks() -> dict:
    """rule name -> its text, from the Snakefile and workflow/rules/."""
    text = "\n".join(path.read_text() for path in [REPO / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))])
    return dict(re.findall(r"^rule (\w+):\n((?:(?:    .*)?\n)+)", text, re.M))


def test_the_rules_that_do_the_work_are_submitted_and_the_others_run_locally():
    blocks = rule_blocks()
    assert SUBMITTED_RULES < set(blocks)
    local = {name for name, block in blocks.items() if re.search(r"^    localrule: True$", block, re.M)}
    assert local == set(blocks) - SUBMITTED_RULES
