"""The generic triple-latent family (spec §4.8): parameter counts (§4.12.3), the chunked recurrences
equal to the per-token reference, which follows the definition, whole models equal in both forms,
the causality probe (§10.1 item 2, D2) and the corrected convolution's left padding."""

import pytest
import torch

from models import build_model, count_params
from models.acceleration import Acceleration
from models.recurrences.pair_memory import chunk, naive
from models.triple_latent import TripleLatentConfig

from probes import logit_changes

LM = dict(vocab_size=259, max_seq_len=128, pad_id=256)
RECALL = dict(vocab_size=64, max_seq_len=128, pad_id=0)


def variant(memory, local_conv, d_model=64):
    return {"family": "triple_latent", "d_model": d_model, "n_layers": 3, "n_heads": 4, "state_size": 16,
            "memory": memory, "slots": 8, "local_conv": local_conv}


VARIANTS = {
    "triple_latent": variant("dense", False),
    "triple_slot": variant("slot", False),
    "triple_hybrid": variant("dense", True),
}
PAPER_COUNTS = [  # spec §4.12.3: (variant, task, params)
    (VARIANTS["triple_latent"], LM, 187_928),
    (VARIANTS["triple_slot"], LM, 188_024),
    (VARIANTS["triple_hybrid"], LM, 208_472),
    (variant("dense", False, 60), LM, 170_424),
    (variant("slot", False, 60), LM, 170_520),
    (variant("dense", True, 56), LM, 169_424),
    (VARIANTS["triple_latent"], RECALL, 175_448),
    (VARIANTS["triple_slot"], RECALL, 175_544),
    (VARIANTS["triple_hybrid"], RECALL, 195_992),
]


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
@pytest.mark.parametrize("v, task, expected", PAPER_COUNTS)
def test_paper_parameter_counts(v, task, expected, mode):
    assert count_params(build_model(v, **task, mode=mode, dropout=0.1)) == expected


# --- the recurrences -------------------------------------------------------------------------------

B, H, S, K = 2, 3, 8, 5
ARGS = {  # the arguments of each recurrence, in order
    "running_state": ("a", "lam"),
    "dense_memory": ("s", "b", "ell", "gamma"),
    "slot_memory": ("s", "b", "ell", "r", "g", "gamma"),
}


def _inputs(T, seed):
    g = torch.Generator().manual_seed(seed)
    uniform = lambda *shape: torch.rand(*shape, generator=g) * 2 - 1  # tanh range
    return dict(
        a=uniform(B, H, T, S), s=uniform(B, H, T, S), b=uniform(B, H, T, S), ell=uniform(B, H, T, S),
        r=uniform(B, H, T, S), g=torch.softmax(torch.randn(B, H, T, K, generator=g), -1),
        lam=torch.sigmoid(2 * torch.randn(B, H, T, generator=g)),
        gamma=torch.sigmoid(2 * torch.randn(B, H, T, generator=g)),
    )


def _run(name, form, inputs, seed=1):
    """The output and the gradients of a random linear functional of it."""
    x = {k: inputs[k].detach().clone().requires_grad_() for k in ARGS[name]}
    y = getattr(form, name)(*x.values())
    loss = (y * torch.randn(y.shape, generator=torch.Generator().manual_seed(seed))).sum()
    return {"y": y, **{f"d{k}": d for k, d in zip(x, torch.autograd.grad(loss, list(x.values()), materialize_grads=True))}}


def _rel_err(a, b, floor=1e-30):
    return ((a.double() - b.double()).abs().max() / max(b.abs().max().item(), floor)).item()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("T", [1, 7, 16, 33, 50, 128])  # one chunk, part of one, several with a ragged end
@pytest.mark.parametrize("name", ARGS)
def test_fast_equals_reference(name, T, seed):
    inputs = _inputs(T, seed)
    fast, ref = _run(name, chunk, inputs), _run(name, naive, inputs)
    assert fast.keys() == ref.keys()
    for key in ref:
        assert _rel_err(fast[key], ref[key]) <= 1e-5, key


@pytest.mark.parametrize("name", ARGS)
def test_fast_form_survives_extreme_decays(name):
    """λ, γ = 0 and 1 exactly (σ saturates in float32): no inf/NaN, the same values."""
    inputs = _inputs(64, 0)
    for key in ("lam", "gamma"):
        inputs[key][..., ::3], inputs[key][..., 1::3] = 0.0, 1.0
    fast, ref = _run(name, chunk, inputs), _run(name, naive, inputs)
    for key in ref:
        assert torch.isfinite(fast[key]).all(), key
        # The fast form takes the log of max(λ, tiny), which drops the log-path derivative at
        # exactly 0 (immaterial for σ(·) > 0): the decay gradients are not compared.
        if key not in ("dlam", "dgamma"):
            assert _rel_err(fast[key], ref[key], floor=1.0) <= 1e-5, key


def _definition(a, lam, s, b, ell, r, g, gamma):
    """Spec §4.8 written out per example, head and token."""
    state, dense, slot = torch.zeros_like(a), torch.zeros_like(s), torch.zeros_like(g)
    for i in range(a.shape[0]):
        for h in range(a.shape[1]):
            s_run, s_prev = torch.zeros(S), torch.zeros(S)
            pair, mem_a, mem_b = torch.zeros(S, S), torch.zeros(K, S), torch.zeros(K, S)
            for t in range(a.shape[2]):
                s_run = lam[i, h, t] * s_run + (1 - lam[i, h, t]) * a[i, h, t]
                state[i, h, t] = s_run
                gm = gamma[i, h, t]
                pair = gm * pair + (1 - gm) * torch.outer(s_prev, b[i, h, t])  # P[i, j] = s_{t-1,i} b_{t,j}
                dense[i, h, t] = pair.T @ ell[i, h, t]
                for k in range(K):
                    mem_a[k] = gm * mem_a[k] + (1 - gm) * g[i, h, t, k] * s_prev
                    mem_b[k] = gm * mem_b[k] + (1 - gm) * g[i, h, t, k] * b[i, h, t]
                    slot[i, h, t, k] = (ell[i, h, t] @ mem_a[k]) * (r[i, h, t] @ mem_b[k])
                s_prev = s[i, h, t]
    return {"running_state": state, "dense_memory": dense, "slot_memory": slot}


def test_reference_follows_the_definition():
    x = _inputs(6, 3)
    expected = _definition(**x)
    for name, args in ARGS.items():
        got = getattr(naive, name)(*(x[k] for k in args))
        torch.testing.assert_close(got, expected[name], msg=name)


# --- whole models ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["faithful", "corrected"])
@pytest.mark.parametrize("name", VARIANTS)
def test_model_fast_equals_reference(name, mode):
    out = {}
    for recurrence in ("chunk", "naive"):
        torch.manual_seed(0)
        model = build_model(VARIANTS[name], **LM, mode=mode, dropout=0.0, acceleration=Acceleration(recurrence=recurrence))
        x = torch.randint(0, 259, (2, 128), generator=torch.Generator().manual_seed(1))
        logits = model(x)
        logits.square().mean().backward()
        out[recurrence] = {"logits": logits, **{n: p.grad for n, p in model.named_parameters()}}
    # gradient errors relative to the model's largest gradient entry, as in test_matrix_state.py
    floor = 1e-2 * max(g.abs().max().item() for key, g in out["naive"].items() if key != "logits")
    for key, ref in out["naive"].items():
        assert _rel_err(out["chunk"][key], ref, floor=floor if key != "logits" else 0.0) <= 1e-5, key


T = 128
PERTURBED = [0, 1, 2, 10, 64, T - 1]


def _probe(name, mode, recurrence):
    """Per perturbed t: max |Δ logits| at each position when token t alone changes (eval mode)."""
    torch.manual_seed(0)
    model = build_model(VARIANTS[name], **LM, mode=mode, dropout=0.1, acceleration=Acceleration(recurrence=recurrence)).eval()
    return logit_changes(model, 259, T, PERTURBED)


@pytest.mark.parametrize("recurrence", ["chunk", "naive"])
@pytest.mark.parametrize("name, mode", [(name, "corrected") for name in VARIANTS]
                         + [("triple_latent", "faithful"), ("triple_slot", "faithful")])
def test_causal(name, mode, recurrence):
    for t, diff in _probe(name, mode, recurrence):
        assert (diff[:t] < 1e-6).all(), f"token {t} changed earlier logits"
        assert diff[t] > 1e-4  # the probe does reach the model


@pytest.mark.parametrize("recurrence", ["chunk", "naive"])
def test_faithful_hybrid_leaks_two_tokens_back(recurrence):
    """D2: changing token t moves the logits at t-1 and t-2 (≈0.04 at init) and at no earlier position."""
    for t, diff in _probe("triple_hybrid", "faithful", recurrence):
        leaked = list(range(max(t - 2, 0), t))
        assert (diff[leaked] > 1e-4).all(), f"token {t}: no leak to {leaked}"
        assert (diff[:max(t - 2, 0)] < 1e-6).all(), f"token {t} changed logits before t-2"


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_convolution_pads_with_zeros(mode):
    """Tap k of the kernel reads X_{t-4+k} (corrected: 4 zeros on the left, so position 0 gets
    W₄X₀ + b and position 1 W₃X₀ + W₄X₁ + b) or X_{t-2+k} (faithful, 2|2)."""
    torch.manual_seed(0)
    model = build_model(VARIANTS["triple_hybrid"], **LM, mode=mode, dropout=0.0)
    torch.nn.init.normal_(model.conv.bias)  # the bias is 0 at init: make it visible
    W, bias = model.conv.weight, model.conv.bias  # (d, d, 5), (d,)
    x = torch.randn(1, 9, 64)
    offset = 4 if mode == "corrected" else 2
    padded = torch.cat([torch.zeros(4, 64), x[0], torch.zeros(4, 64)])  # X_t is row t + 4
    expected = torch.stack([sum(W[:, :, k] @ padded[t - offset + k + 4] for k in range(5)) + bias
                            for t in range(9)])
    got = model.convolve(x)[0]
    torch.testing.assert_close(got, expected)
    if mode == "corrected":
        torch.testing.assert_close(got[0], W[:, :, 4] @ x[0, 0] + bias)
        torch.testing.assert_close(got[1], W[:, :, 3] @ x[0, 0] + W[:, :, 4] @ x[0, 1] + bias)


def test_convolution_kernel_init():
    """Spec §1.1: the 1-D convolution kernel is N(0, 0.02²) like the dense weights, its bias 0."""
    torch.manual_seed(0)
    conv = build_model(VARIANTS["triple_hybrid"], **LM, mode="corrected", dropout=0.1).conv
    assert abs(conv.weight.std().item() - 0.02) < 0.001 and conv.weight.mean().abs() < 0.001
    assert conv.bias.abs().max() == 0


@pytest.mark.parametrize("key, value, valid", [("memory", "sparse", "dense, slot"),
                                               ("local_conv", "yes", "true or false")])
def test_bad_values_name_the_key_and_the_valid_values(key, value, valid):
    with pytest.raises(ValueError, match=f"{key}={value!r}; valid: {valid}"):
        TripleLatentConfig(**{"vocab_size": 259, "max_seq_len": 128, "d_model": 64, "n_layers": 1, "n_heads": 4,
                              "state_size": 16, "memory": "dense", "local_conv": False, key: value})
