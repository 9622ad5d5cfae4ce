"""The Recurrent-FFN family (spec §4.10): parameter counts of §4.12.5, the chunked gated recurrence
equals the per-token reference (values and gradients, the learned initial state included), whole
models agree across the two forms, F follows its definition, causality, and the initial state."""

import pytest
import torch
import torch.nn.functional as F

from models import build_model, count_params
from models.acceleration import Acceleration
from models.recurrences.gated import chunk, naive
from models.recurrences.gated.chunk import CHUNK

from probes import logit_changes

LM = dict(vocab_size=259, max_seq_len=128, pad_id=256)
KINDS = {"plain": (False, False), "readout": (True, False), "hybrid": (True, True)}


def _variant(kind, m=128):
    readout, local_branch = KINDS[kind]
    return dict(family="recurrent_ffn", d_model=64, n_layers=3, n_heads=4, state_size=m,
                readout=readout, local_branch=local_branch)


def _model(kind, recurrence="chunk", m=128):
    torch.manual_seed(0)
    return build_model(_variant(kind, m), **LM, mode="faithful", dropout=0.1, acceleration=Acceleration(recurrence=recurrence))


@pytest.mark.parametrize("kind, m, expected", [
    ("plain", 128, 173_888), ("hybrid", 128, 174_080),  # printed in the paper
    ("readout", 96, 168_032), ("readout", 128, 198_848),  # authors' notes [N]
    ("hybrid", 192, 223_328), ("hybrid", 256, 272_576),
])
def test_parameter_counts(kind, m, expected):
    assert count_params(_model(kind, m=m)) == expected


# --- the gated recurrence ---------------------------------------------------------------------------

def _gates(regime, shape, g):
    if regime == "near_one":  # |f| = 1 - 1e-3 with random signs: the state barely decays
        return (1 - 1e-3) * torch.where(torch.rand(shape, generator=g) < 0.5, -1.0, 1.0)
    if regime == "near_zero":  # tiny products, exact zeros included
        return 1e-4 * torch.randn(shape, generator=g) * (torch.rand(shape, generator=g) < 0.9)
    return torch.tanh(2 * torch.randn(shape, generator=g))


def _run(fn, f, x, s0, seed):
    """States and the gradients of a random linear functional of them."""
    inputs = [t.clone().requires_grad_() for t in (f, x, s0) if t is not None]
    s = fn(*inputs)  # without s0: the default, a zero initial state
    loss = (s * torch.randn(s.shape, generator=torch.Generator().manual_seed(seed))).sum()
    return [s, *torch.autograd.grad(loss, inputs)]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("regime", ["random", "near_one", "near_zero"])
@pytest.mark.parametrize("T", [1, CHUNK + 1, 61, 128])
@pytest.mark.parametrize("learned_s0", [False, True])
def test_chunked_equals_reference(seed, regime, T, learned_s0):
    g = torch.Generator().manual_seed(seed)
    B, H, m = 2, 3, 8
    f, x, s0 = _gates(regime, (B, H, T, m), g), torch.randn(B, H, T, m, generator=g), torch.randn(m, generator=g)
    s0 = s0 if learned_s0 else None
    fast, ref = _run(chunk.gated_recurrence, f, x, s0, seed), _run(naive.gated_recurrence, f, x, s0, seed)
    assert len(fast) == len(ref) == (4 if learned_s0 else 3)
    for name, a, b in zip(("s", "df", "dx", "ds0"), fast, ref):
        scale = b.abs().max().clamp_min(1e-30)
        assert ((a - b).abs().max() / scale).item() <= 1e-5, name


def test_zero_initial_state_is_the_default():
    g = torch.Generator().manual_seed(0)
    f, x = torch.tanh(torch.randn(2, 1, 20, 4, generator=g)), torch.randn(2, 1, 20, 4, generator=g)
    for fn in (chunk.gated_recurrence, naive.gated_recurrence):
        torch.testing.assert_close(fn(f, x), fn(f, x, torch.zeros(4)))
        assert fn(f, x)[:, :, 0].equal(x[:, :, 0])


# --- whole models -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_whole_model_fast_equals_reference(kind):
    x = torch.randint(0, 259, (2, 37), generator=torch.Generator().manual_seed(1))
    out = {}
    for recurrence in ("chunk", "naive"):
        model = _model(kind, recurrence).eval()
        with torch.no_grad():  # a non-zero learned initial state, so that its path is compared too
            for block in model.blocks:
                if block.ffn.s0 is not None:
                    block.ffn.s0.normal_(generator=torch.Generator().manual_seed(2))
        logits = model(x)
        logits.logsumexp(-1).sum().backward()
        out[recurrence] = [logits] + [p.grad for p in model.parameters()]
    for a, b in zip(out["chunk"], out["naive"], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_module_follows_the_definition(kind):
    """F of spec §4.10, token by token, from the weight rows named in RecurrentFFN."""
    torch.manual_seed(0)
    ffn = _model(kind, m=12).blocks[0].ffn.eval()
    with torch.no_grad():
        if ffn.s0 is not None:
            ffn.s0.normal_()
    readout, local_branch = KINDS[kind]
    u = torch.randn(1, 5, 64)
    W = ffn.w_in.weight.chunk(4 if readout else 3)
    s = torch.zeros(6 if local_branch else 12) if ffn.s0 is None else ffn.s0
    for t in range(5):
        ut = u[0, t]
        s = torch.tanh(W[0] @ ut) * s + torch.sigmoid(W[1] @ ut) * F.silu(W[2] @ ut)
        y = ffn.w_o.weight @ F.silu((W[3] @ ut) * s if readout else s)
        if local_branch:
            W_up, W_gt = ffn.w_local.weight.chunk(2)
            y = y + ffn.w_dn.weight @ ((W_up @ ut) * F.silu(W_gt @ ut))
        torch.testing.assert_close(ffn(u)[0, t], y)


def test_hybrid_needs_readout():
    with pytest.raises(ValueError, match="local_branch=True; valid: false unless readout is true"):
        build_model({**_variant("plain"), "local_branch": True}, **LM, mode="faithful", dropout=0.1)


# --- causality and the learned initial state ----------------------------------------------------------

@pytest.mark.parametrize("recurrence", ["chunk", "naive"])
@pytest.mark.parametrize("kind", KINDS)
def test_causal(kind, recurrence):
    """Changing token t changes no logit before t (eval mode, random weights, T = 128)."""
    model = _model(kind, recurrence).eval()
    T, perturbed = 128, [0, 1, CHUNK - 1, CHUNK, 61, 127]
    for t, diff in logit_changes(model, 259, T, perturbed):
        assert (diff[:t] < 1e-6).all(), f"token {t} changed earlier logits"
        assert diff[t:].max() > 1e-4  # the probe does reach the model


@pytest.mark.parametrize("recurrence", ["chunk", "naive"])
@pytest.mark.parametrize("kind", KINDS)
def test_learned_initial_state_starts_at_zero_and_learns(kind, recurrence):
    model = _model(kind, recurrence)
    states = [block.ffn.s0 for block in model.blocks]
    if kind == "plain":  # s_{-1} = 0, fixed
        assert states == [None] * 3
        return
    assert all(s.shape == (64 if kind == "hybrid" else 128,) and s.eq(0).all() for s in states)
    model(torch.randint(0, 259, (2, 16))).logsumexp(-1).sum().backward()
    assert all(s.grad is not None and s.grad.abs().max() > 0 for s in states)
