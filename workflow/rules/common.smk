# Read the config once: validate it (schema + references, defaults filled), expand and check the
# claims (paper/claims.yaml against its schema, the config and paper/reported.csv), and build the run table.
import json
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, workflow.basedir)

from repro import job_resources
from repro.config import (
    MEASUREMENTS,
    ConfigError,
    Run,
    benchmark_names,
    benchmark_result_sets,
    benchmark_variant_settings,
    claim_result_sets,
    eval_pairs,
    eval_settings,
    recipe_for,
    reported_numbers,
    ruler_jobs,
    ruler_result_sets,
    ruler_table_spec,
    runs,
    settings_hash,
    slot_ladder,
    report_tables,
    task_result_sets,
    train_settings,
    trained_by,
    validate,
    validate_answer,
    validate_claims,
)
from repro.report.figure_settings import RECALL_DISTANCE
from repro.gpu_pool import GpuPool, gpus_present

try:
    validate(config)
    CLAIMS_DOCUMENT = yaml.safe_load(Path("paper/claims.yaml").read_text())
    CLAIMS = validate_claims(CLAIMS_DOCUMENT, config, reported_numbers("paper/reported.csv"))
    ANSWER = validate_answer(CLAIMS_DOCUMENT, CLAIMS)
except ConfigError as error:
    sys.exit(f"Configuration error: {error}")

RUN_DIR = "results/runs/{experiment}/{variant}/{mode}/seed{seed}"
EXPERIMENTS = list(config["experiments"])
REPORT_TABLES = report_tables(config)  # name -> its resolved spec and the metrics CSVs it reads
TABLES = list(REPORT_TABLES)
TRIPLE_RECIPE = config["recipes"][config["experiments"]["triple"]["recipe"]]
TRAINED_BY = trained_by(config)  # run -> the run that trains its checkpoint (itself, or an identical one)
RESULT_SETS = benchmark_result_sets(config)  # name -> folder of its throughput.csv and train_step.csv
RECALL_SETS = task_result_sets(config, RECALL_DISTANCE)  # name -> its metrics CSVs and {experiment: T}
RULER_SETS = ruler_result_sets(config)  # name -> its RULER-core scores CSV


wildcard_constraints:
    experiment="|".join(EXPERIMENTS),
    variant="[a-z0-9_]+",
    mode="faithful|corrected",
    seed=r"\d+",
    table="|".join(TABLES),
    effect="|".join(config["report"]["fix_effects"]),
    measurement="|".join(MEASUREMENTS),
    result_set="|".join(RESULT_SETS),
    recall_set="|".join(RECALL_SETS),
    ruler_set="|".join(RULER_SETS),
    budget=r"\d+",


def run_of(wildcards):
    return Run(wildcards.experiment, wildcards.variant, wildcards.mode, int(wildcards.seed))


def trainer_of(wildcards):
    """The run that trains this run's checkpoint: itself, or one that trains the same (TRAINED_BY)."""
    run = run_of(wildcards)
    return TRAINED_BY.get(run, run)


def task_of(wildcards):
    return train_settings(config, run_of(wildcards)).task


def metrics_files(experiment):
    return [f"{run.directory}/metrics.json" for run in runs(config, experiment)]


def as_json(settings):
    """A node's settings (a record of repro/settings.py, or plain data) as the JSON its job reads."""
    return json.dumps(settings.as_dict() if hasattr(settings, "as_dict") else settings, sort_keys=True)


def train_data(wildcards):
    """LM runs read the prepared training stream; synthetic tasks generate their data."""
    if task_of(wildcards) == "lm":
        return {"train": rules.prepare_wikitext.output.train}
    return {}


def eval_data(wildcards):
    if task_of(wildcards) == "lm":
        return {
            "valid": rules.prepare_wikitext.output.valid,
            "manifest": rules.prepare_wikitext.output.manifest,
        }
    return {}


# Snakemake counts the GPUs of `--resources gpu=K` but names none; the pool names them (repro/gpu_pool.py).
GPU_POOL = GpuPool(workflow.global_resources["gpu"].value if "gpu" in workflow.global_resources else 0, gpus_present())


def python_step(module, argv, log, gpus=0):
    """`python -m module argv > log 2>&1`, without a new interpreter (repro/steps.py says why): in
    this process when it runs one job at a time (one core, or a cluster job's own Snakemake:
    SLURM's jobstep gives even each job of a group job a Snakemake of its own), else
    forked, a process per job, because jobs then run side by side in Snakemake's threads and torch's
    random state belongs to the process; a forked job that asks for `gpus` sees only its own."""
    from repro.steps import run_step

    run_step(module, [str(arg) for arg in argv], log, alone=workflow.cores == 1 or workflow.remote_exec, gpus=gpus,
             pool=GPU_POOL)


# A GPU for each job that computes on the config's device, where that is CUDA: with `auto` the job
# takes a GPU only if one is there, so it cannot say it needs one.
GPUS = 1 if config["device"] == "cuda" else 0


def scheduled(need):
    """The resources of a job whose repro.job_resources.Need is `need(wildcards)`: memory and time on
    the config's device, multiplied on each retry (a job killed at its limit gets more), and its GPU."""
    return {
        "mem_mb": lambda wildcards, attempt: need(wildcards).on(config["device"])["mem_mb"] * attempt,
        "runtime": lambda wildcards, attempt: need(wildcards).on(config["device"])["runtime"] * attempt,
        "gpu": GPUS,
    }


def recipe_of(wildcards):
    return recipe_for(config, wildcards.experiment, wildcards.variant)


TEX_INSTALL = "apt-get install -y --no-install-recommends texlive-latex-base texlive-latex-recommended latexmk"


def tools_on_path(*tools, install):
    """An input function that stops the workflow while it builds the DAG, before any job (and in a
    dry run), when a rule in it would run a tool that is not installed."""

    def check(wildcards):
        missing = [tool for tool in tools if shutil.which(tool) is None]
        if missing:
            raise WorkflowError(f"{' and '.join(missing)} not found on PATH, and the PDF needs them: install TeX "
                                f"with `{install}` (or bin/setup), or ask for targets without the PDF, "
                                "e.g. results/claims.csv results/summary.csv")
        return []

    return check
