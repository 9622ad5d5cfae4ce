"""The Acceleration record: resolved from the config and the device in one place
(repro/acceleration.py), and a model built with its defaults is plain PyTorch, every recurrence in
its per-token definition and torch's dropout, while a model built with a record uses what it names."""
import importlib
import importlib.util
from pathlib import Path

import pytest
import torch
import yaml

import models.dropout
from models import build_model
from models.acceleration import Acceleration
from models.recurrences.gated import chunk as gated_chunk
from models.recurrences.matrix_state import chunk as matrix_state_chunk
from models.recurrences.pair_memory import chunk as pair_memory_chunk
from models.recurrences.ssd import chunk as ssd_chunk
from repro.acceleration import acceleration_for
from repro.tasks import triple

from kernels import DEVICE, require_triton

VARIANTS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["variants"]
ONE_PER_FAMILY = {v["family"]: name for name, v in reversed(list(VARIANTS.items()))}
FAST_FORMS = [(matrix_state_chunk, "matrix_state"), (pair_memory_chunk, "running_state"),
              (pair_memory_chunk, "dense_memory"), (pair_memory_chunk, "slot_memory"), (ssd_chunk, "ssd"),
              (gated_chunk, "gated_recurrence")]
TRITON_FORMS = [("matrix_state", "matrix_state"), ("pair_memory", "running_state"), ("pair_memory", "dense_memory"),
                ("pair_memory", "slot_memory"), ("ssd", "ssd")]  # (folder, function) of each triton.py
SETTINGS = {"recurrence": "fast", "cuda_graphs": True, "flush_denormals": True, "threads": 1}


def _train_step(name, acceleration, device="cpu"):
    inputs, _, _ = triple.triple_batch("lookup", 2, 49, torch.Generator().manual_seed(0), triple.lookup_table(0),
                                       equal_lengths=True)
    inputs = inputs.to(device)
    classifier = VARIANTS[name]["family"] in ("transformer_triple", "typed_latent")
    torch.manual_seed(0)
    model = build_model(VARIANTS[name], vocab_size=triple.VOCAB_SIZE, max_seq_len=49, pad_id=0, mode="faithful",
                        dropout=0.1, acceleration=acceleration, **(triple.MODEL_KWARGS if classifier else {})).to(device)
    output = model.train()(inputs)
    (output[0] if classifier else output).square().mean().backward()


def _record_calls(monkeypatch, functions=(*FAST_FORMS, (models.dropout, "keep_mask"))):
    """Every call of one of `functions` ((module, name) pairs: by default the fast forms and the
    NumPy mask), by name, recorded (and then run)."""
    calls = []
    for module, name in functions:
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    return calls


@pytest.mark.parametrize("family", ONE_PER_FAMILY)
def test_default_record_builds_plain_pytorch(family, monkeypatch):
    calls = _record_calls(monkeypatch)
    _train_step(ONE_PER_FAMILY[family], Acceleration())
    assert calls == []


@pytest.mark.parametrize("family", ["unimatrix", "triple_latent", "mamba2", "recurrent_ffn"])
def test_a_record_switches_its_forms_on(family, monkeypatch):
    """The other side of the test above: the same probe sees the fast forms and the NumPy masks."""
    calls = _record_calls(monkeypatch)
    _train_step(ONE_PER_FAMILY[family], Acceleration(recurrence="chunk", numpy_dropout=True))
    assert "keep_mask" in calls and set(calls) - {"keep_mask"}


@pytest.mark.parametrize("family", ["unimatrix", "triple_latent", "mamba2"])
def test_a_triton_record_takes_the_kernels(family, monkeypatch):
    """A record with Triton on reaches each family's kernels (compiled on CUDA, through Triton's
    interpreter on a CPU)."""
    require_triton()
    calls = _record_calls(monkeypatch, [(importlib.import_module(f"models.recurrences.{folder}.triton"), name)
                                        for folder, name in TRITON_FORMS])
    _train_step(ONE_PER_FAMILY[family], Acceleration(recurrence="chunk", triton=True), DEVICE)
    assert calls


def test_cpu_run_resolves_to_chunks_numpy_masks_and_no_graphs():
    assert acceleration_for(torch.device("cpu"), **SETTINGS) == Acceleration(
        recurrence="chunk", triton=False, numpy_dropout=True, cuda_graphs=False, flush_denormals=True, threads=1)
    assert acceleration_for(torch.device("cpu"), **{**SETTINGS, "recurrence": "reference"}).recurrence == "naive"


def test_cuda_run_resolves_to_triton_and_graphs():
    cuda = acceleration_for(torch.device("cuda"), **SETTINGS)  # a device name: resolving needs no GPU
    assert cuda.triton == (importlib.util.find_spec("triton") is not None)
    assert cuda.cuda_graphs and not cuda.numpy_dropout
    assert not acceleration_for(torch.device("cuda"), **{**SETTINGS, "recurrence": "reference"}).triton
