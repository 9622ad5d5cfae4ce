import os
from pathlib import Path

import pytest
import torch

# Tiny models on a shared 2-core machine: one thread avoids oversubscription (tests got ~10x faster).
torch.set_num_threads(1)
# Without CUDA, Triton's interpreter runs the CUDA kernels (models/recurrences/*/triton.py) on the
# CPU; it must be chosen before the kernels are defined.
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

REPO = Path(__file__).resolve().parent.parent
FIXTURE_WIKITEXT = Path(__file__).resolve().parent / "fixtures" / "wikitext"


@pytest.fixture(scope="session")
def real_wikitext_dir() -> Path:
    """The official WikiText-2 raw files (validation and test at least)."""
    path = Path(os.environ.get("UNIMATRIX_WIKITEXT_DIR", REPO.parent / "shared" / "data" / "wikitext-2-raw-v1"))
    if not (path / "wiki.valid.raw").is_file():
        pytest.fail(f"WikiText-2 raw files not found in {path}: set UNIMATRIX_WIKITEXT_DIR to a directory holding wiki.valid.raw and wiki.test.raw")
    return path
