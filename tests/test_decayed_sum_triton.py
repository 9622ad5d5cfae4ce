"""The decayed sum's Triton kernels (models/recurrences/decayed_sum_triton.py) equal the PyTorch
primitive, decayed_sum.py, in float64 (output and the gradients of q, k, v, w and log ρ), at ragged
lengths, with q and k shared by the heads or not, Dk ≠ Dv, and decays at the LOG_FLOOR clamp; and
the pair memories and the SSD built on them, picked through the Acceleration record, equal their
per-token definitions (naive.py).

The kernels run compiled on CUDA; elsewhere Triton's interpreter runs them on the CPU (conftest.py),
hence the small shapes."""

import pytest
import torch
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.recurrences import pair_memory, ssd
from models.recurrences.decayed_sum import CHUNK, LOG_FLOOR, decayed_sum

from kernels import DEVICE, require_triton

B, H = 2, 2
TRITON = Acceleration(recurrence="chunk", triton=True)


@pytest.fixture(autouse=True)
def _triton():
    require_triton()


def _kernel(q, k, v, w, log_rho):
    from models.recurrences.decayed_sum_triton import decayed_sum_one_write
    return decayed_sum_one_write(q, k, v, w, log_rho)


def _primitive(q, k, v, w, log_rho):
    return decayed_sum(q, [(w, k, v)], log_rho)[0]


def _inputs(T, heads_of_qk, Dk, Dv, seed=0):
    """q, k (B, heads_of_qk, T, Dk), v (B, H, T, Dv), w, log ρ (B, H, T), with retentions from ~0 to
~1, most near 1, so that states carry across chunks."""
    g = torch.Generator().manual_seed(seed)
    return dict(q=torch.randn(B, heads_of_qk, T, Dk, generator=g), k=torch.randn(B, heads_of_qk, T, Dk, generator=g),
                v=torch.randn(B, H, T, Dv, generator=g), w=torch.rand(B, H, T, generator=g),
                log_rho=F.logsigmoid(3 * torch.randn(B, H, T, generator=g) + 3))


def _run(fn, inputs, dtype, seed=1):
    """fn's output on `inputs` (cast to dtype, on DEVICE) and the gradients of a random linear
    functional of it, in the order of `inputs`."""
    inputs = {name: x.to(DEVICE, dtype).requires_grad_() for name, x in inputs.items()}
    y = fn(**inputs)
    weights = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed)).to(DEVICE, dtype)
    grads = torch.autograd.grad((y * weights).sum(), list(inputs.values()))
    return {"y": y, **{f"d{name}": d for name, d in zip(inputs, grads)}}


def _assert_equal(fn, reference, inputs):
    """fn in float32 against reference in float64: every entry within 1e-5 of the largest magnitude
    (log ρ's gradient is exactly 0 for one token: no decay acts on it)."""
    fast, ref = _run(fn, inputs, torch.float32), _run(reference, inputs, torch.float64)
    assert fast.keys() == ref.keys()
    for name in ref:
        assert fast[name].shape == ref[name].shape, name
        assert torch.isfinite(fast[name]).all(), name
        error = (fast[name].double() - ref[name]).abs().max() / ref[name].abs().max().clamp_min(1e-30)
        assert error <= 1e-5, (name, error.item())


@pytest.mark.parametrize("T", [1, CHUNK, 37])  # a single token, one whole chunk, ragged chunks
@pytest.mark.parametrize("heads_of_qk", [1, H])
@pytest.mark.parametrize("Dk, Dv", [(3, 8), (8, 2)])
def test_kernel_equals_primitive(T, heads_of_qk, Dk, Dv):
    _assert_equal(_kernel, _primitive, _inputs(T, heads_of_qk, Dk, Dv))


def test_kernel_at_the_log_floor():
    """Single-token decays just above and below the clamp, far below it, and none (ρ = 1), in every
    chunk: the clamped decays and their gradients match, nothing overflows."""
    x = _inputs(40, 1, 4, 3)
    x["log_rho"][..., 3::7] = LOG_FLOOR + 0.5
    x["log_rho"][..., 4::7] = LOG_FLOOR - 0.5
    x["log_rho"][..., 5::11] = 40 * LOG_FLOOR
    x["log_rho"][..., 6::5] = 0.0
    _assert_equal(_kernel, _primitive, x)


def test_kernel_reads_broadcast_queries_and_keys():
    """q shared by the batch and heads, k by the heads only, w by the batch: read through their
    strides, their gradients summed over what they share."""
    x = _inputs(21, 1, 5, 4)
    x["q"], x["w"] = x["q"][:1], x["w"][:1]
    _assert_equal(_kernel, _primitive, x)


def _pair_inputs(T, S=4, K=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    vectors = {name: torch.rand(B, H, T, S, generator=g) * 2 - 1 for name in ("a", "s", "b", "ell", "r")}
    gates = {name: torch.sigmoid(3 * torch.randn(B, H, T, generator=g)) for name in ("lam", "gamma")}
    return {**vectors, **gates, "g": torch.softmax(torch.randn(B, H, T, K, generator=g), -1)}


@pytest.mark.parametrize("name, arguments", [("running_state", ("a", "lam")),
                                             ("dense_memory", ("s", "b", "ell", "gamma")),
                                             ("slot_memory", ("s", "b", "ell", "r", "g", "gamma"))])
def test_pair_memories_on_the_kernel_equal_their_definitions(name, arguments):
    fast = pair_memory.form(TRITON)
    assert fast.__name__ == "models.recurrences.pair_memory.triton"
    inputs = {a: x for a, x in _pair_inputs(37).items() if a in arguments}
    _assert_equal(getattr(fast, name), getattr(pair_memory.form(Acceleration()), name), inputs)


def test_ssd_on_the_kernel_equals_its_definition():
    """Mamba-2's decays reach e^-60 per token (dt up to ~4, A down to -16); C and B shared by the heads."""
    fast = ssd.form(TRITON)
    assert fast.__name__ == "models.recurrences.ssd.triton"
    g = torch.Generator().manual_seed(0)
    T, P, N = 37, 4, 8
    inputs = dict(x=torch.randn(B, H, T, P, generator=g), dt=F.softplus(2 * torch.randn(B, H, T, generator=g) - 1),
                  A=-torch.empty(H).uniform_(1, 16, generator=g), B=torch.randn(B, 1, T, N, generator=g),
                  C=torch.randn(B, 1, T, N, generator=g))
    _assert_equal(fast.ssd, ssd.form(Acceleration()).ssd, inputs)


def test_chunk_forms_without_triton():
    assert pair_memory.form(Acceleration(recurrence="chunk")).__name__ == "models.recurrences.pair_memory.chunk"
    assert ssd.form(Acceleration(recurrence="chunk")).__name__ == "models.recurrences.ssd.chunk"
