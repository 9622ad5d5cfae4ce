"""End to end: the smoke DAG in a temporary copy of the repository, then the caching behaviours
(nothing to do after a run; a learning-rate change, a new seed, a benchmark setting and a figure edit
rerun exactly their part), lint, configuration errors before any job, and an interrupted job."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, processes_holding, repository_copy
from repro.config import depth_diagnostic_runs, load, report_tables, ruler_jobs, runs, trained_by
from repro.report.captions import caption_files
from repro.ruler.tasks import TASKS as RULER_TASKS

pytestmark = pytest.mark.slow  # the smoke DAG end to end

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SMOKE_CONFIG = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
SMOKE_RUNS = {run.directory for run in runs(SMOKE_CONFIG)}
BENCHMARK_JOBS = {f"results/benchmarks/{variant}.json" for variant in SMOKE_CONFIG["benchmark"]["variants"]}
BENCHMARK_TABLES = {f"results/benchmarks/{measurement}.{kind}" for measurement in ("throughput", "train_step")
                    for kind in ("csv", "provenance.json")}
REPORT_CAPTIONS = {f"results/report_captions/{name}.rst" for name in caption_files(SMOKE_CONFIG)}
FIGURES = ("fig1_architecture", "fig2_lm_bpb", "sp_capacity", "recall_distance_local", "recall_distance_recall_distance_h100",
           "depth_diagnostics", "fig3_throughput_local")


@pytest.fixture(scope="module")
def workdir(smoke_run):
    """A copy of the repository, with the smoke DAG run in it."""
    return smoke_run.work


def snakemake(work: Path, *args, overlays=()):
    configfiles = ["config/smoke.yaml", "config/local.yaml", *overlays]
    return subprocess.run([*SNAKEMAKE, *args, "--configfile", *configfiles], cwd=work, capture_output=True, text=True)


def planned(work: Path, *overlays) -> set:
    """Outputs a dry run would (re)build."""
    result = snakemake(work, "-n", "--cores", "1", overlays=overlays)
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = set()
    for line in result.stdout.splitlines():
        match = re.match(r"\s+output: (.*)", line)
        if match:
            outputs.update(path.strip() for path in match.group(1).split(","))
    return outputs


def overlay(work: Path, name: str, content: dict) -> str:
    (work / "config" / name).write_text(yaml.safe_dump(content))
    return f"config/{name}"


def runs_in(outputs: set) -> set:
    return {str(Path(path).parent) for path in outputs if path.startswith("results/runs/")}


def test_smoke_dag_builds_the_report(workdir):
    effects = [f"fix_effect_{name}" for name in SMOKE_CONFIG["report"]["fix_effects"]]
    tables = [f"paper/tables/{name}.tex" for name in [*report_tables(SMOKE_CONFIG), "triple_audit", *effects, "train_step_local",
                                                      "ruler_local", "ruler_ruler_h200"]]
    figures = [f"paper/figures/{name}.{kind}" for name in FIGURES for kind in ("pdf", "png")]
    for path in ("paper/build/main.pdf", "paper/build/main.tex", "results/metrics.csv", "results/claims.csv",
                 *BENCHMARK_TABLES, *BENCHMARK_JOBS, *tables, *figures, *REPORT_CAPTIONS):
        assert (workdir / path).stat().st_size > 0, path
    assert len(SMOKE_RUNS) == 101 and len(tables) == 19 and len(BENCHMARK_JOBS) == 2
    ruler_rows = (workdir / "results/ruler.csv").read_text().splitlines()[1:]  # a row per lm run, budget and task
    assert len(ruler_rows) == len(ruler_jobs(SMOKE_CONFIG)) * len(RULER_TASKS)
    depth = pd.read_csv(workdir / "results/depth_diagnostics.csv")  # every shared-depth LM run, measured
    assert set(depth[["experiment", "variant", "mode", "seed"]].itertuples(index=False, name=None)) == {
        (run.experiment, run.variant, run.mode, run.seed) for run in depth_diagnostic_runs(SMOKE_CONFIG)}
    assert (workdir / "paper/build/main.pdf").read_bytes().startswith(b"%PDF")
    claim_lines = (workdir / "results/claims.csv").read_text().splitlines()  # source and result set lead each row
    assert {line.split(",")[1] for line in claim_lines if line.startswith("extension,")} == {"local", "recall_distance_h100"}
    trained = {by.directory for by in trained_by(SMOKE_CONFIG).values()}
    assert len(trained) < len(SMOKE_RUNS)  # the smoke config too has runs that another experiment trains
    for run in SMOKE_RUNS:
        assert (workdir / run / "metrics.json").is_file(), run
        for name in ("model.pt", "train.log", "train_benchmark.tsv"):
            assert (workdir / run / name).is_file() == (run in trained), f"{run}/{name}"


def test_the_long_overlay_asks_ruler_core_of_its_1024_byte_models_beside_the_smoke_test(tmp_path, real_wikitext_dir):
    work = repository_copy(tmp_path, real_wikitext_dir)
    result = snakemake(work, "-n", "--cores", "1", "paper/tables/ruler_local.tex", overlays=["config/long.yaml"])
    assert result.returncode == 0, result.stdout + result.stderr
    outputs = {path.strip() for line in result.stdout.splitlines() if re.match(r"\s+output: ", line)
               for path in line.split("output:", 1)[1].split(",")}
    long = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml", REPO / "config" / "long.yaml")
    answers = {path for path in outputs if "/ruler_budget" in path}
    assert answers == {f"{run.directory}/ruler_budget{budget}.json" for run, budget in ruler_jobs(long)}
    assert {path for path in answers if "/lm_1024/" in path} == {f"{run.directory}/ruler_budget{budget}.json"
                                                                  for run in runs(long, "lm_1024") for budget in (512, 1024)}
    assert {f"{run.directory}/model.pt" for run in runs(long, "lm_1024")} <= outputs


def test_html_report_holds_every_figure_table_and_the_claims(workdir):
    result = snakemake(workdir, "--cores", "1", "--report", "report.zip")
    assert result.returncode == 0, result.stdout + result.stderr
    with zipfile.ZipFile(workdir / "report.zip") as archive:
        held = {Path(name).name for name in archive.namelist()}
        page = next(archive.read(name) for name in archive.namelist() if name.endswith("report.html")).decode()
    assert {f"{name}.png" for name in FIGURES} | {"claims.csv", "provenance.json", "triple_audit.csv", "ruler.csv"} <= held
    assert {f"{name}.csv" for name in SMOKE_CONFIG["report"]["tables"]} <= held
    assert "Validation bits-per-byte of the byte-level LM pilot" in page  # a caption, as the PDF prints it


def test_nothing_to_do_after_a_complete_run(workdir):
    assert planned(workdir) == set()


def test_learning_rate_change_reruns_that_variant_and_what_depends_on_it(workdir):
    outputs = planned(workdir, overlay(workdir, "lr.yaml", {"experiments": {"lm": {"overrides": {"unimatrix_core": {"lr": 1.0e-3}}}}}))
    changed = {"results/runs/lm/unimatrix_core/faithful/seed7", "results/runs/lm/unimatrix_core/corrected/seed7"}
    # the runs of other experiments that shared these checkpoints now train their own
    sharing = {run.directory for run, by in trained_by(SMOKE_CONFIG).items() if by.directory in changed and run.directory not in changed}
    assert sharing and runs_in(outputs) == changed | sharing
    assert {"results/metrics/lm.csv", "results/metrics.csv", "paper/tables/table1_lm.tex",
            "paper/build/main.pdf", "results/claims.csv"} <= outputs
    assert "results/metrics/recall.csv" not in outputs and "paper/tables/table3_recall.tex" not in outputs
    assert "data/wikitext2/train_stream.pt" not in outputs


def test_ablation_change_reruns_table_5_and_its_figure_but_not_table_4(workdir):
    outputs = planned(workdir, overlay(workdir, "ablation.yaml",
                                       {"experiments": {"sparse_pointer_ablation": {"overrides": {"sparse_pointer_slots16": {"lr": 1.0e-3}}}}}))
    assert runs_in(outputs) == {"results/runs/sparse_pointer_ablation/sparse_pointer_slots16/faithful/seed19"}
    assert {"paper/tables/table5_sparse_pointer_ablation.tex", "paper/figures/sp_capacity.pdf", "paper/build/main.pdf"} <= outputs
    assert not {"paper/tables/table4_retrieval.tex", "paper/tables/table3_recall.tex", "paper/figures/fig2_lm_bpb.pdf"} & outputs


def test_new_seed_trains_only_the_new_runs(workdir):
    outputs = planned(workdir, overlay(workdir, "seed.yaml", {"recipes": {"R-AR": {"seeds": [19, 1019]}}}))
    uses_r_ar = {name for name, spec in SMOKE_CONFIG["experiments"].items() if spec["recipe"] == "R-AR"}
    assert uses_r_ar == {"recall", "generic_latent_recall", "related_systems_recall"}
    assert runs_in(outputs) == {run.directory.replace("seed19", "seed1019")
                                for run in runs(SMOKE_CONFIG) if run.experiment in uses_r_ar}


def test_benchmark_change_retimes_only_the_benchmark_and_trains_nothing(workdir):
    outputs = planned(workdir, overlay(workdir, "repeats.yaml", {"benchmark": {"repeats": 3}}))
    report = {"paper/figures/fig3_throughput_local.pdf", "paper/figures/fig3_throughput_local.png",
              "paper/build/main.tex", "paper/build/main.pdf"}
    # The timing jobs rerun (one per variant, all its measurements), and the report, whose variables
    # state the timing protocol; no training, no evaluation.
    assert outputs == BENCHMARK_JOBS | BENCHMARK_TABLES | report | REPORT_CAPTIONS | {"paper/tables/train_step_local.tex",
                                                                                     "paper/build/variables.tex"}
    extended = {"benchmark": {"variants": ["transformer", "unimatrix_core", "mamba2"]}}
    outputs = planned(workdir, overlay(workdir, "variant.yaml", extended))
    assert runs_in(outputs) == set()
    assert {path for path in outputs if re.fullmatch(r"results/benchmarks/\w+\.json", path)} == {"results/benchmarks/mamba2.json"}
    assert BENCHMARK_TABLES | report | {"paper/tables/train_step_local.tex"} <= outputs


def test_figure_code_change_regenerates_only_the_figure_and_report(workdir):
    script = workdir / "repro" / "figures" / "fig2_lm_bpb.py"
    script.write_text(script.read_text() + "\n# restyled\n")
    outputs = planned(workdir)
    assert runs_in(outputs) == set()
    assert "paper/figures/fig2_lm_bpb.pdf" in outputs and "paper/build/main.pdf" in outputs
    assert not any(path.startswith("results/") for path in outputs)
    result = snakemake(workdir, "--cores", "2")
    assert result.returncode == 0, result.stderr
    assert planned(workdir) == set()


def test_lint_reports_nothing(workdir):
    result = snakemake(workdir, "--lint")
    assert result.returncode == 0 and "Congratulations" in result.stdout + result.stderr, result.stdout + result.stderr


@pytest.mark.parametrize("content, message", [
    ({"experiments": {"lm": {"variants": ["transformer", "unimatrix_cor"]}}},
     "experiments.lm.variants.1': 'unimatrix_cor' is not a known variant; valid: mamba2, "),
    ({"recipes": {"R-LM": {"steps": -1}}}, "recipes.R-LM.steps': -1 is less than the minimum of 1"),
    ({"variants": {"unimatrix_core": {"slotz": 16}}}, "variants.unimatrix_core': 'slotz' is not one of"),
    ({"wikitext_dir": "no/such/dir"}, "wikitext_dir': 'no/such/dir'"),
    ({"ruler": {"experiments": {"lm": {"budgets": [128, 1024]}}}}, "ruler.experiments.lm.budgets.1': 1024 exceeds the 128-token window"),
])
def test_bad_config_fails_before_any_job(workdir, content, message):
    before = sorted(p for p in (workdir / "results").rglob("*"))
    result = snakemake(workdir, "--cores", "1", overlays=[overlay(workdir, "bad.yaml", content)])
    assert result.returncode != 0 and message in result.stdout + result.stderr
    assert sorted(p for p in (workdir / "results").rglob("*")) == before


def test_a_missing_tex_stops_the_pdf_before_any_job(workdir, tmp_path):
    """Without latexmk on PATH, a DAG that ends in the PDF is refused while it is built, with the
    install command, before the training job that a new learning rate asks for."""
    shells = tmp_path / "bin"  # a PATH with the shells Snakemake runs jobs in, and no TeX
    shells.mkdir()
    for tool in ("bash", "sh", "which"):  # `which`: the SLURM executor plugin runs it when Snakemake loads it
        (shells / tool).symlink_to(shutil.which(tool))
    before = sorted(p for p in (workdir / "results").rglob("*"))
    bad = overlay(workdir, "new_lr.yaml", {"recipes": {"R-AR": {"lr": 0.0021}}})
    path = f"{Path(sys.executable).parent}:{shells}"
    for dry_run in (["-n"], []):
        result = subprocess.run([*SNAKEMAKE, *dry_run, "--cores", "1", "--configfile", "config/smoke.yaml", "config/local.yaml", bad],
                                cwd=workdir, capture_output=True, text=True, env={**os.environ, "PATH": path})
        said = result.stdout + result.stderr
        assert result.returncode != 0, said
        assert "latexmk and pdflatex not found on PATH" in said and "apt-get install" in said
        assert "rule train" not in said
    assert sorted(p for p in (workdir / "results").rglob("*")) == before


@pytest.mark.parametrize("cores", ["1", "2"])  # training inside Snakemake's process / forked (repro/steps.py)
def test_killed_training_job_is_not_mistaken_for_finished(workdir, cores):
    steps = 300 + int(cores)  # each case starts from a run that must train
    long_run = overlay(workdir, "long.yaml", {"experiments": {"recall": {"overrides": {"transformer": {"steps": steps}}}}})
    run = workdir / "results/runs/recall/transformer/faithful/seed19"
    process = subprocess.Popen([*SNAKEMAKE, "--cores", cores, "--configfile", "config/smoke.yaml", "config/local.yaml", long_run,
                                "--", f"{run.relative_to(workdir)}/metrics.json"],
                               cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    def steps_done() -> bool:
        log = run / "train.log"
        return log.exists() and re.search(rf" [1-9]\d*/{steps} ", log.read_text(errors="replace")) is not None

    deadline = time.time() + 120
    while not steps_done():
        assert time.time() < deadline and process.poll() is None, "training never got going"
        time.sleep(0.2)
    victim, = processes_holding(run / "train.log")  # with one core, Snakemake itself: the OOM killer takes both
    assert (victim == process.pid) == (cores == "1")
    os.kill(victim, signal.SIGKILL)  # the job dies mid-training
    assert process.wait(timeout=60) != 0
    assert not (run / "model.pt").exists()
    if cores == "1":
        assert snakemake(workdir, "--unlock", "--cores", "1").returncode == 0  # a killed Snakemake leaves its lock
    relative = run.relative_to(workdir)
    assert {f"{relative}/model.pt", f"{relative}/metrics.json"} <= planned(workdir, long_run)
    result = snakemake(workdir, "--cores", "1", overlays=[long_run])
    assert result.returncode == 0, result.stderr
    assert (run / "metrics.json").is_file() and planned(workdir, long_run) == set()
