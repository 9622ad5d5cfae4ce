"""The shared chunked primitive (models/recurrences/decayed_sum.py) equals its per-token definition,
S_t = ρ_t S_{t-1} + Σ w_t v_t k_tᵀ + Diag(w_t d_t), y_t = S_t q_t, at every chunk length, with and
without a carried state, a second write and a diagonal (values, final state, gradients)."""
import pytest
import torch

from models.recurrences.decayed_sum import CHUNK, decayed_sum

B, H, Dk, Dv = 2, 3, 5, 4


def _definition(q, writes, log_rho, state0, diagonal):
    state = state0 if state0 is not None else q.new_zeros(B, H, Dv, q.size(-1))
    ys = []
    for t in range(log_rho.size(-1)):
        state = log_rho[..., t, None, None].exp() * state
        for w, k, v in writes:
            state = state + w[..., t, None, None] * v[..., t, :, None] * k[..., t, None, :]
        if diagonal is not None:
            state = state + torch.diag_embed(diagonal[0][..., t, None] * diagonal[1][..., t, :])
        ys.append(state @ q[..., t, :, None])
    return torch.cat(ys, -1).transpose(-1, -2), state


def _inputs(T, square, two_writes, with_state0, seed=0):
    g = torch.Generator().manual_seed(seed)
    dk = Dv if square else Dk
    rand = lambda *shape: (torch.rand(*shape, generator=g) * 2 - 1).requires_grad_()
    writes = [(torch.rand(B, H, T, generator=g).requires_grad_(), rand(B, H, T, dk), rand(B, H, T, Dv))]
    if two_writes:
        writes.append((torch.rand(B, H, T, generator=g).requires_grad_(), rand(B, H, T, dk), rand(B, H, T, Dv)))
    log_rho = torch.log(torch.sigmoid(2 * torch.randn(B, H, T, generator=g))).requires_grad_()
    diagonal = (torch.rand(B, H, T, generator=g).requires_grad_(), rand(B, H, T, Dv)) if square else None
    state0 = rand(B, H, Dv, dk) if with_state0 else None
    return rand(B, H, T, dk), writes, log_rho, state0, diagonal


def _leaves(q, writes, log_rho, state0, diagonal):
    return [x for x in (q, *(x for w in writes for x in w), log_rho, state0, *(diagonal or ())) if x is not None]


@pytest.mark.parametrize("T", [1, 7, 16, CHUNK + 1, 100])
@pytest.mark.parametrize("chunk", [4, 16, CHUNK, 64])
@pytest.mark.parametrize("square, two_writes", [(False, False), (True, True)])
@pytest.mark.parametrize("with_state0", [False, True])
def test_chunked_equals_definition(T, chunk, square, two_writes, with_state0):
    q, writes, log_rho, state0, diagonal = _inputs(T, square, two_writes, with_state0)
    leaves = _leaves(q, writes, log_rho, state0, diagonal)
    results = []
    for fn in (lambda: decayed_sum(q, writes, log_rho, state0, diagonal=diagonal, chunk=chunk),
               lambda: _definition(q, writes, log_rho, state0, diagonal)):
        y, state = fn()
        g = torch.Generator().manual_seed(1)
        loss = (y * torch.randn(y.shape, generator=g)).sum() + (state * torch.randn(state.shape, generator=g)).sum()
        results.append([y, state, *torch.autograd.grad(loss, leaves)])
    for got, expected in zip(*results, strict=True):
        assert ((got - expected).abs().max() / expected.abs().max().clamp_min(1e-30)).item() <= 1e-5
