"""What the tests of the Triton kernels share: where they run, and Triton's presence."""
import importlib.util
import sys

import pytest
import torch

# Compiled on CUDA; elsewhere Triton's interpreter runs the same kernels (conftest.py sets TRITON_INTERPRET=1).
DEVICE = "cuda" if torch.cuda.is_available() else "cpu"


def require_triton():
    if importlib.util.find_spec("triton") is None:
        if sys.platform != "linux":  # no Triton build, and no CUDA run of the kernels, on macOS
            pytest.skip(f"Triton has no build for {sys.platform}")
        pytest.fail("Triton is not installed: bin/setup installs it (its interpreter runs these tests on a CPU)")
