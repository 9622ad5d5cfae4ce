"""The matrix state's chunked form, Triton kernels and guarded loop (models/recurrences/matrix_state/)
equal its per-token definition, naive.py (values, final state, gradients), naive.py follows spec
§4.2 steps 3-8, and whole UniMatrix models give the same logits and gradients in either form.

The kernels (triton.py, triton_guarded.py) run compiled on CUDA; elsewhere Triton's interpreter
runs the same kernels on the CPU (conftest.py sets TRITON_INTERPRET=1 there), so CI checks them."""

import functools
from pathlib import Path

import pytest
import torch
import yaml

from models import build_model
from models.acceleration import Acceleration
from models.recurrences import matrix_state
from models.recurrences.decayed_sum import CHUNK
from models.recurrences.matrix_state import chunk, naive
from models.recurrences.matrix_state.guarded_loop import guarded_state_loop
from models.recurrences.matrix_state.writes import state_writes, write_factors

from kernels import DEVICE, require_triton

matrix_state_reference = naive.matrix_state
FORMS = {"naive": Acceleration(recurrence="naive"), "chunk": Acceleration(recurrence="chunk")}

VARIANTS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["variants"]
B, H, S = 2, 3, 8


def _inputs(T, with_mix, state0, seed=0):
    """state0: None (the forms' zero default), "zeros" or "random"."""
    g = torch.Generator().manual_seed(seed)
    uniform = lambda *shape: torch.rand(*shape, generator=g) * 2 - 1  # tanh range
    x = dict(
        q=uniform(B, H, T, S), k=uniform(B, H, T, S), v=uniform(B, H, T, S),
        rho=torch.sigmoid(2 * torch.randn(B, H, T, generator=g)),
        state0={None: None, "zeros": torch.zeros(B, H, S, S),
                "random": torch.randn(B, H, S, S, generator=g)}[state0],
        delta=uniform(B, H, T, S) if with_mix else None,
        mix=torch.softmax(torch.randn(B, H, T, 3, generator=g), -1) if with_mix else None,
    )
    return {k: v.requires_grad_() for k, v in x.items() if v is not None}


def _run(fn, inputs, seed=1):
    """Outputs and gradients of a random linear functional of (r, final state)."""
    inputs = {k: v.detach().clone().requires_grad_() for k, v in inputs.items()}
    args = [inputs.get(k) for k in ("q", "k", "v", "rho", "state0")]
    r, state = fn(*args, delta=inputs.get("delta"), mix=inputs.get("mix"))
    g = torch.Generator().manual_seed(seed)
    weights = lambda x: torch.randn(x.shape, generator=g).to(x.device)
    loss = (r * weights(r)).sum() + (state * weights(state)).sum()
    grads = torch.autograd.grad(loss, list(inputs.values()))
    return {"r": r, "state": state, **{f"d{k}": d for k, d in zip(inputs, grads)}}


def _rel_err(a, b, floor=0.0):
    """Max abs difference relative to the largest magnitude of b (at least `floor`)."""
    a, b = a.double(), b.double()
    return ((a - b).abs().max() / max(b.abs().max(), floor)).item()


@pytest.mark.parametrize("T", [1, 7, CHUNK, CHUNK + 1, 100, 4 * CHUNK, 515])
@pytest.mark.parametrize("with_mix", [False, True])
@pytest.mark.parametrize("state0", [None, "zeros", "random"])
def test_chunked_equals_reference(T, with_mix, state0):
    """Lengths that are and are not multiples of the chunk, and a single chunk longer than T."""
    inputs = _inputs(T, with_mix, state0)
    fast = _run(chunk.matrix_state, inputs)
    ref = _run(matrix_state_reference, inputs)
    assert fast.keys() == ref.keys()
    for name in ref:
        assert _rel_err(fast[name], ref[name]) <= 1e-5, name
        assert torch.isfinite(fast[name]).all(), name


def test_chunked_form_survives_extreme_retention():
    """ρ = 0 and ρ = 1 exactly (σ saturates in float32): no inf/NaN in values or gradients."""
    inputs = _inputs(64, True, "random")
    rho = inputs["rho"].detach().clone()
    rho[..., ::3], rho[..., 1::3] = 0.0, 1.0
    inputs["rho"] = rho.requires_grad_()
    fast, ref = _run(chunk.matrix_state, inputs), _run(matrix_state_reference, inputs)
    assert torch.isfinite(fast["drho"]).all()
    # drho is not compared: the chunked form clamps ρ at the smallest normal float before the
    # log, which drops the log-path derivative at ρ = 0 exactly (immaterial for ρ = σ(·) > 0).
    for name in ("r", "state", "dq", "dk", "dv", "ddelta", "dmix", "dstate0"):
        assert torch.isfinite(fast[name]).all(), name
        assert _rel_err(fast[name], ref[name], floor=1.0) <= 1e-5, name  # dstate0 is exactly 0 here


def _definition(q, k, v, rho, state0, delta, mix, guard):
    """Spec §4.2 steps 3-8 written out per example, head and token."""
    r = torch.zeros_like(q)
    state = state0.clone()
    for b in range(q.shape[0]):
        for h in range(q.shape[1]):
            s = state[b, h]
            for t in range(q.shape[2]):
                outer = torch.outer(k[b, h, t], v[b, h, t])
                p1, p2, p3 = mix[b, h, t]
                write = p1 * outer + p2 * torch.diag(delta[b, h, t]) + p3 * (outer + outer.T) / 2
                s = rho[b, h, t] * s + (1 - rho[b, h, t]) * write
                if guard:
                    s = s / max(1.0, torch.linalg.matrix_norm(s).item())
                r[b, h, t] = s @ q[b, h, t]
            state[b, h] = s
    return r, state


@pytest.mark.parametrize("guard", [False, True])
def test_reference_follows_the_definition(guard):
    x = {k: v.detach() for k, v in _inputs(9, True, "random").items()}
    x["state0"] = 3 * x["state0"]  # so that the guard clamps
    expected = _definition(**x, guard=guard)
    got = matrix_state_reference(x["q"], x["k"], x["v"], x["rho"], x["state0"], delta=x["delta"],
                                 mix=x["mix"], frobenius_guard=guard)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b)
    if guard:
        assert torch.linalg.matrix_norm(got[1]).max() <= 1 + 1e-6


def test_outer_product_only_equals_pure_outer_mix():
    x = _inputs(16, True, "random")
    mix = torch.zeros_like(x["mix"])
    mix[..., 0] = 1
    plain = matrix_state_reference(x["q"], x["k"], x["v"], x["rho"], x["state0"])
    mixed = matrix_state_reference(x["q"], x["k"], x["v"], x["rho"], x["state0"], delta=x["delta"], mix=mix)
    for a, b in zip(plain, mixed):
        torch.testing.assert_close(a, b)


def test_form_follows_the_acceleration_record():
    x = _inputs(5, False, None)
    args = (x["q"], x["k"], x["v"], x["rho"], None)
    assert matrix_state.form(Acceleration()) is naive  # the defaults: the definition
    assert matrix_state.form(FORMS["chunk"]) is chunk
    with pytest.raises(ValueError, match="'chunked'"):
        Acceleration(recurrence="chunked")
    for form in (naive, chunk):
        with pytest.raises(ValueError, match="diagonal write"):
            form.matrix_state(*args, mix=torch.full((*x["rho"].shape, 3), 1 / 3), frobenius_guard=True)


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
@pytest.mark.parametrize("name", [n for n, v in VARIANTS.items() if v["family"] == "unimatrix"])
def test_model_fast_equals_reference(name, mode):
    models = {}
    for recurrence in ("fast", "reference"):
        torch.manual_seed(0)
        models[recurrence] = build_model(VARIANTS[name], vocab_size=259, max_seq_len=128, pad_id=256, mode=mode,
                                         dropout=0.0, acceleration=FORMS["chunk" if recurrence == "fast" else "naive"])
    x = torch.randint(0, 259, (2, 128), generator=torch.Generator().manual_seed(1))
    out = {}
    for recurrence, model in models.items():
        logits = model(x)
        logits.square().mean().backward()
        out[recurrence] = {"logits": logits, **{n: p.grad for n, p in model.named_parameters()
                                                 if p.grad is not None}}
    assert out["fast"].keys() == out["reference"].keys()
    # A gradient that is a sum of cancelling terms (the SparsePointer write-gate bias: ~1e-7 where
    # its weight's entries reach ~1e-5) carries float32 rounding of up to ~5e-4 of itself in either
    # form (both agree in float64), so errors are measured against at least 1e-2 of the largest
    # gradient entry of the model.
    floor = 1e-2 * max(g.abs().max().item() for key, g in out["reference"].items() if key != "logits")
    for key, ref in out["reference"].items():
        assert _rel_err(out["fast"][key], ref, floor=floor if key != "logits" else 0.0) <= 1e-5, key


# The Triton kernel

def _kernel():
    require_triton()
    from models.recurrences.matrix_state.triton import matrix_state_kernel
    return lambda q, k, v, rho, state0, delta=None, mix=None: matrix_state_kernel(q, k, v, rho, state0)


def _guarded_kernel():
    require_triton()
    from models.recurrences.matrix_state.triton_guarded import guarded_state_kernel
    return lambda q, k, v, rho, state0, delta=None, mix=None: guarded_state_kernel(
        state_writes(k, v, rho, delta, mix), rho, q, state0)


def _on_device(inputs):
    return {k: v.detach().to(DEVICE).requires_grad_() for k, v in inputs.items()}


def _assert_matches_reference(fn, inputs, floor=0.0, guard=False):
    """fn's outputs and gradients on `inputs` (moved to DEVICE) against the reference's; returns fn's."""
    inputs = _on_device(inputs)
    fast, ref = _run(fn, inputs), _run(functools.partial(matrix_state_reference, frobenius_guard=guard), inputs)
    assert fast.keys() == ref.keys()
    for name in ref:
        assert _rel_err(fast[name], ref[name], floor=floor) <= 1e-5, name
    return fast


@pytest.mark.parametrize("T", [1, 15, 16, 37, 130])  # lengths that are and are not multiples of the chunk (16)
@pytest.mark.parametrize("state0", [None, "zeros", "random"])
def test_kernel_equals_reference(T, state0):
    _assert_matches_reference(_kernel(), _inputs(T, False, state0))


def test_kernel_state_size_below_its_block():
    """S = 8 runs in a 16-wide block: the padding must not leak into values or gradients."""
    x = _inputs(40, False, "random")
    assert x["q"].size(-1) < 16
    _assert_matches_reference(_kernel(), x)


def test_kernel_survives_extreme_retention():
    """ρ = 0, ρ = 1 and ρ ~ 1e-30 mixed: finite, and equal to the reference (ρ only multiplies there)."""
    x = _inputs(48, False, "random")
    rho = x["rho"].detach().clone()
    rho[..., ::3], rho[..., 1::3], rho[..., 2::6] = 0.0, 1.0, 1e-30
    x["rho"] = rho
    fast = _assert_matches_reference(_kernel(), x, floor=1.0)
    for name, value in fast.items():
        assert torch.isfinite(value).all(), name


@pytest.mark.parametrize("triton", [False, True])
def test_fast_forms_through_the_record(triton):
    """Through the record: with Triton, outer-product writes take the kernel, RuleMix writes the
    chunked form and the guard the guarded kernel; without, the chunked form and the guarded loop.
    All equal the reference."""
    if triton:
        require_triton()
    fast = matrix_state.form(Acceleration(recurrence="chunk", triton=triton)).matrix_state
    for with_mix in (False, True):
        _assert_matches_reference(fast, _inputs(70, with_mix, "random"))
        _assert_matches_reference(functools.partial(fast, frobenius_guard=True), _inputs(70, with_mix, "random"),
                                  guard=True)


def test_kernel_reads_slices_of_one_projection():
    """q, k, v and ρ as the model passes them: strided slices of one projection, read in place."""
    x = _inputs(40, False, "random")
    g = torch.Generator().manual_seed(5)
    joint = torch.rand(B, 40, 3 * H * S + H + 5, generator=g).to(DEVICE).requires_grad_()
    q, k, v = (part.unflatten(-1, (H, S)).transpose(1, 2) for part in joint[..., :3 * H * S].chunk(3, -1))
    rho = joint[..., 3 * H * S:3 * H * S + H].transpose(1, 2)
    assert not q.transpose(1, 2).is_contiguous() and not rho.transpose(1, 2).is_contiguous()
    outputs = {}
    for name, fn in (("kernel", _kernel()), ("reference", matrix_state_reference)):
        r, state = fn(q, k, v, rho, x["state0"].to(DEVICE))
        weights = torch.randn(r.shape, generator=torch.Generator().manual_seed(1)).to(DEVICE)
        outputs[name] = (r, state, *torch.autograd.grad((r * weights).sum() + state.sum(), joint))
    for got, expected in zip(outputs["kernel"], outputs["reference"]):
        assert _rel_err(got, expected) <= 1e-5


# The guarded recurrence's fast forms (UniMatrix-Discovery): the Triton kernel on CUDA, the loop
# with its own backward elsewhere

def _guarded_loop():
    return lambda q, k, v, rho, state0, delta=None, mix=None: guarded_state_loop(
        *write_factors(k, v, rho, delta, mix), rho, q, state0)


GUARDED_FORMS = {"kernel": _guarded_kernel, "loop": _guarded_loop}


def _guard_inputs(T, with_mix, state0):
    """Writes that alternate between large and small, so that the guard clamps some states and
    leaves others alone."""
    x = _inputs(T, with_mix, state0)
    x["k"] = (x["k"] * torch.tensor([2.0, 0.05]).repeat(T)[:T, None]).detach().requires_grad_()
    return x


@pytest.mark.parametrize("T", [1, 16, 37, 130])
@pytest.mark.parametrize("with_mix", [False, True])
@pytest.mark.parametrize("state0", [None, "random"])
@pytest.mark.parametrize("form", GUARDED_FORMS)
def test_guarded_fast_forms_equal_reference(T, with_mix, state0, form):
    _assert_matches_reference(GUARDED_FORMS[form](), _guard_inputs(T, with_mix, state0), guard=True)


@pytest.mark.parametrize("form", GUARDED_FORMS)
def test_guarded_fast_forms_survive_extreme_retention(form):
    """ρ = 0 and ρ ~ 1e-30 mixed. Not ρ = 1: with no write the state keeps its norm, 1 when the guard
    has clamped it, which is the guard's kink, where rounding picks between two gradients."""
    x = _guard_inputs(48, True, "random")
    rho = x["rho"].detach().clone()
    rho[..., ::3], rho[..., 2::6] = 0.0, 1e-30
    x["rho"] = rho
    fast = _assert_matches_reference(GUARDED_FORMS[form](), x, floor=1.0, guard=True)
    for name, value in fast.items():
        assert torch.isfinite(value).all(), name
