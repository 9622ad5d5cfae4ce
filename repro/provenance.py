"""What produced a result: code version, library versions, host and scheduler job, device, data."""
import os
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

LIBRARIES = ("torch", "numpy", "datasets", "pandas", "snakemake")
REPO = Path(__file__).resolve().parent.parent


def code_version() -> str:
    """The git commit of the code, with '+dirty' when the tree has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + ("+dirty" if dirty else "")


def library_versions() -> dict:
    versions = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def host() -> dict:
    """The machine a step runs on and, under SLURM, the job that ran it (None elsewhere)."""
    return {"hostname": socket.gethostname(), "slurm_job_id": os.environ.get("SLURM_JOB_ID")}
