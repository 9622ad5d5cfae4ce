import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

# Tiny models on a shared 2-core machine: one thread avoids oversubscription (tests got ~10x faster).
torch.set_num_threads(1)
# Without CUDA, Triton's interpreter runs the CUDA kernels (models/recurrences/*/triton.py) on the
# CPU; it must be chosen before the kernels are defined.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

REPO = Path(__file__).resolve().parent.parent
# The rules whose jobs do the work, submitted to a cluster; the others run beside Snakemake.
SUBMITTED_RULES = {"prepare_wikitext", "train", "evaluate", "triple_audit", "slot_capacity", "benchmark", "ruler",
                   "depth_diagnostics"}
FIXTURE_WIKITEXT = Path(__file__).resolve().parent / "fixtures" / "wikitext"


@pytest.fixture(scope="session")
def real_wikitext_dir() -> Path:
    """The official WikiText-2 raw files (validation and test at least)."""
    path = Path(os.environ.get("UNIMATRIX_WIKITEXT_DIR", REPO.parent / "shared" / "data" / "wikitext-2-raw-v1"))
    if not (path / "wiki.valid.raw").is_file():
        pytest.fail(f"WikiText-2 raw files not found in {path}: set UNIMATRIX_WIKITEXT_DIR to a directory holding wiki.valid.raw and wiki.test.raw")
    return path


@pytest.fixture(scope="session")
def paper_config() -> dict:
    """The paper's config, loaded and checked as the Snakefile loads it."""
    from repro.config import load

    return load(REPO / "config" / "config.yaml")


def repository_copy(work: Path, wikitext_dir: Path) -> Path:
    """The repository's tracked and unignored files copied into `work`, with config/local.yaml
    reading WikiText-2 from `wikitext_dir` (training on its test split where it has no training split)."""
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        if (REPO / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, work / name)
    data = {"wikitext_dir": str(wikitext_dir)}
    if not (wikitext_dir / "wiki.train.raw").is_file():
        data["wikitext_train_split"] = "test"
    (work / "config" / "local.yaml").write_text(yaml.safe_dump(data))
    return work


def processes_holding(path: Path) -> list:
    """The ids of the processes that have `path` open: how a test finds the process of a job."""
    def holds(pid: str) -> bool:
        try:
            return any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{pid}/fd"))
        except OSError:  # gone, or not ours to read
            return False

    return [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and holds(pid)]


@dataclass(frozen=True)
class SmokeRun:
    work: Path  # a repository copy holding the run's outputs; tests that rerun parts of the DAG change them
    metrics: Path  # results/metrics.csv as the run left it


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory, real_wikitext_dir) -> SmokeRun:
    """The smoke DAG run once on this machine (`--cores 2`), shared by the tests that need a local
    run: its end-to-end tests (test_pipeline.py) and the cluster run they compare (test_slurm.py)."""
    work = repository_copy(tmp_path_factory.mktemp("pipeline"), real_wikitext_dir)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "config/smoke.yaml",
                             "config/local.yaml"], cwd=work, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"smoke DAG: {time.perf_counter() - start:.1f} s")
    metrics = work.parent / "smoke_metrics.csv"
    shutil.copy2(work / "results" / "metrics.csv", metrics)
    return SmokeRun(work, metrics)
