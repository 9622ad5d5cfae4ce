"""The chunked SSD equals the sequential reference (outputs and gradients), whole Mamba-2 models give
the same logits and gradients with either form, the model is causal, and its parameter count
follows the formula below."""

import pytest
import torch
import torch.nn.functional as F

from models import build_model, count_params
from models.acceleration import Acceleration
from models.recurrences.ssd import chunk, naive

from probes import logit_changes

VARIANT = {"family": "mamba2", "d_model": 64, "n_layers": 2, "n_heads": 4, "d_state": 16,
           "expand": 2, "conv_kernel": 4}
V = 30  # the signal-vs-noise vocabulary


def _inputs(T, seed):
    """x (b, H, T, P), dt, A, B, C with decays from ~1 to ~e^-30 per token, as training can reach."""
    g = torch.Generator().manual_seed(seed)
    b, H, P, N = 2, 4, 8, 16
    return dict(
        x=torch.randn(b, H, T, P, generator=g),
        dt=F.softplus(2 * torch.randn(b, H, T, generator=g) - 1),
        A=-torch.empty(H).uniform_(1, 16, generator=g),
        B=torch.randn(b, 1, T, N, generator=g),
        C=torch.randn(b, 1, T, N, generator=g),
    )


def _run(fn, inputs, **kwargs):
    """Output and the gradients of a random linear functional of it."""
    inputs = {k: v.clone().requires_grad_() for k, v in inputs.items()}
    y = fn(**inputs, **kwargs)
    weight = torch.randn(y.shape, generator=torch.Generator().manual_seed(99))
    grads = torch.autograd.grad((y * weight).sum(), list(inputs.values()))
    return {"y": y, **{f"d{k}": d for k, d in zip(inputs, grads)}}


def _rel_err(a, b):
    return ((a - b).abs().max() / b.abs().max().clamp_min(1e-12)).item()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("T", [1, 7, 16, 33, 50, 64, 100])
def test_chunked_ssd_equals_reference(T, seed):
    inputs = _inputs(T, seed)
    fast, ref = _run(chunk.ssd, inputs), _run(naive.ssd, inputs)
    for name in ref:
        assert torch.isfinite(fast[name]).all(), name
        assert _rel_err(fast[name], ref[name]) <= 1e-5, name


def test_reference_is_the_recurrence():
    """One head, two tokens, written out: y_1 = C_1·(exp(dt_1 A) dt_0 x_0 B_0ᵀ + dt_1 x_1 B_1ᵀ)."""
    inputs = _inputs(2, seed=3)
    x, dt, A, B, C = (inputs[k] for k in ("x", "dt", "A", "B", "C"))
    h1 = torch.exp(dt[0, 0, 1] * A[0]) * dt[0, 0, 0] * torch.outer(x[0, 0, 0], B[0, 0, 0]) \
        + dt[0, 0, 1] * torch.outer(x[0, 0, 1], B[0, 0, 1])
    assert torch.allclose(naive.ssd(**inputs)[0, 0, 1], h1 @ C[0, 0, 1], atol=1e-6)


def _model(recurrence, seed=0):
    torch.manual_seed(seed)
    return build_model(VARIANT, vocab_size=V, max_seq_len=64, pad_id=0, mode="faithful",
                       dropout=0.0, acceleration=Acceleration(recurrence=recurrence))


def test_model_fast_equals_reference():
    idx = torch.randint(0, V, (2, 50), generator=torch.Generator().manual_seed(1))
    results = []
    for recurrence in ("chunk", "naive"):
        model = _model(recurrence)
        logits = model(idx)
        logits.square().mean().backward()
        results.append((logits, {n: p.grad for n, p in model.named_parameters()}))
    (fast, fast_grads), (ref, ref_grads) = results
    assert _rel_err(fast, ref) <= 1e-5
    for name in ref_grads:
        assert _rel_err(fast_grads[name], ref_grads[name]) <= 1e-4, name


@pytest.mark.parametrize("recurrence", ["chunk", "naive"])
def test_changing_token_t_changes_no_earlier_logit(recurrence):
    model, T, perturbed = _model(recurrence).eval(), 64, [0, 1, 3, 17, 40, 63]
    for t, diff in logit_changes(model, V, T, perturbed, seed=2):
        assert (diff[:t] == 0).all(), f"token {t} changed earlier logits"
        assert diff[t] > 1e-4  # the probe reaches the model


def test_parameter_count():
    """d_inner = expand·d, conv channels = d_inner + 2N. Per mixer: in_proj d(2 d_inner + 2N + H),
    depthwise conv (d_inner + 2N)(K + 1), dt_bias, A_log, D 3H, gated RMSNorm d_inner, out_proj
    d_inner·d; per block one more RMSNorm d; plus the embedding V·d (tied head) and the final
    RMSNorm d. d = 64, L = 2, H = 4, N = 16, K = 4, V = 30:
    mixer 18,688 + 800 + 12 + 128 + 8,192 = 27,820; total 1,920 + 64 + 2·27,884 = 57,752."""
    d, L, H, N, K, expand = 64, 2, 4, 16, 4, 2
    d_inner, conv = expand * d, expand * d + 2 * N
    mixer = d * (2 * d_inner + 2 * N + H) + conv * (K + 1) + 3 * H + d_inner + d_inner * d
    expected = V * d + d + L * (d + mixer)
    params = count_params(_model("chunk"))
    print(f"Mamba2 d=64 L=2 V={V}: {params:,} parameters")
    assert mixer == 27_820 and expected == 57_752
    assert params == expected
