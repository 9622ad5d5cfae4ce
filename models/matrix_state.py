"""The UniMatrix matrix-state recurrence (spec §4.2 steps 3-8), per head h and token t:

    U_t = k_t v_tᵀ                                   (outer-product write), or with RuleMix
    U_t = π1 k_t v_tᵀ + π2 Diag(δ_t) + π3 ½(k_t v_tᵀ + v_t k_tᵀ)
    S_t = ρ_t S_{t-1} + (1 - ρ_t) U_t                (ρ_t: one scalar per head)
    S_t ← S_t / max(1, ‖S_t‖_F)                      (optional Frobenius guard, D14)
    r_t = S_t q_t                                    (r[i] = Σ_j S[i, j] q_j)

Two forms with one signature, as in flash-linear-attention's naive.py files: the per-token loop
(the definition) and an exact chunked form for the cases that are linear in the state.

Shapes: q, k, v, delta (B, H, T, S); rho (B, H, T); mix (B, H, T, 3) = (π1, π2, π3), None means
outer-product writes only; state0 (B, H, S, S), None means zeros.
Returns r (B, H, T, S) and the state after the last token (B, H, S, S).
"""

import functools

import torch

from models.guarded_state_loop import guarded_state_loop

FORMS = ("fast", "reference")
CHUNK = 32  # chunk length of the fast form; see matrix_state_chunked


def _write_weights(rho, mix):
    """(1 - ρ) U = a k vᵀ + b v kᵀ + c Diag(δ), since π1 O + π2 D + π3 ½(O + Oᵀ) has these
    coefficients: a = (1 - ρ)(π1 + ½π3), b = (1 - ρ) ½π3, c = (1 - ρ) π2. b, c are None without
    RuleMix. Shapes (B, H, T)."""
    gain = 1 - rho
    if mix is None:
        return gain, None, None
    p1, p2, p3 = mix.unbind(-1)
    return gain * (p1 + 0.5 * p3), gain * 0.5 * p3, gain * p2


def _read(states, q):
    # r[i] = Σ_j S[i, j] q_j as multiply-and-sum: a batched matmul of S×S by S×1 blocks is several
    # times slower on CPU, above all in its backward.
    return (states * q.unsqueeze(-2)).sum(-1)


def state_writes(k, v, rho, delta, mix):
    """(1 - ρ_t) U_t for all t at once (B, H, T, S, S): steps 3-4 do not depend on the state."""
    a, b, c = _write_weights(rho, mix)
    writes = (a.unsqueeze(-1) * k).unsqueeze(-1) * v.unsqueeze(-2)  # [i, j] = a k_i v_j
    if mix is not None:
        writes = writes + (b.unsqueeze(-1) * v).unsqueeze(-1) * k.unsqueeze(-2)
        writes = writes + torch.diag_embed(c.unsqueeze(-1) * delta)
    return writes


def write_factors(k, v, rho, delta, mix):
    """(1 - ρ_t) U_t as factors: Σ_r left_{t,r} right_{t,r}ᵀ + Diag(diag_t), left and right
    (B, H, T, R, S), diag (B, H, T, S) or None; R = 1 without RuleMix, 2 with it (a k vᵀ + b v kᵀ)."""
    a, b, c = _write_weights(rho, mix)
    if mix is None:
        return (a.unsqueeze(-1) * k).unsqueeze(-2), v.unsqueeze(-2), None
    left = torch.stack([a.unsqueeze(-1) * k, b.unsqueeze(-1) * v], -2)
    return left, torch.stack([v, k], -2), c.unsqueeze(-1) * delta


def matrix_state_reference(q, k, v, rho, state0, *, delta=None, mix=None, frobenius_guard=False):
    _check(delta, mix)
    B, H, _, S = q.shape
    state = q.new_zeros(B, H, S, S) if state0 is None else state0
    writes = state_writes(k, v, rho, delta, mix)
    states = []
    for rho_t, write_t in zip(rho[..., None, None].unbind(2), writes.unbind(2)):
        state = torch.addcmul(write_t, rho_t, state)
        if frobenius_guard:
            state = state / torch.linalg.vector_norm(state, dim=(-2, -1), keepdim=True).clamp_min(1.0)
        states.append(state)
    r = _read(torch.stack(states, dim=2), q)
    return r, state


def decay_matrix(log_rho):  # (B, H, T) -> (B, H, T, T), [t, s] = Π_{s<u≤t} ρ_u for s ≤ t, else 0
    """Differences of the cumulative log-retention, taken in float64: the sums grow like T·|log ρ|,
    and in float32 their difference would lose the decay of nearby pairs to rounding.

    Before exp the exponent is clamped to [-80, 0]: entries with s > t (exponent ≥ 0) become 1 and
    are then masked to exact zeros with zero gradient (no inf, no NaN); decays below e^-80 ≈ 2e-35
    become e^-80, which keeps exp out of its slow denormal path (over 10x slower on CPU) at no visible cost.
    """
    return _DecayMatrix.apply(log_rho)


class _DecayMatrix(torch.autograd.Function):
    """decay_matrix with its backward written out: with G = dL/dD ⊙ D where an entry is causal and
    not clamped, dL/dcum_t = Σ_s G[t, s] - Σ_s G[s, t], and dL/dlog ρ_u = Σ_{t≥u} dL/dcum_t. Autograd
    would differentiate the float64 difference, the clamp and the mask one by one over T×T
    tensors, which on a CPU costs more than the rest of the chunked form's backward."""

    @staticmethod
    def forward(ctx, log_rho):
        T = log_rho.size(-1)
        cum = log_rho.double().cumsum(-1)
        causal = torch.ones(T, T, dtype=torch.bool, device=log_rho.device).tril()
        decay = (cum.unsqueeze(-1) - cum.unsqueeze(-2)).to(log_rho.dtype)
        decay = decay.clamp_(-80.0, 0.0).exp_().masked_fill_(~causal, 0.0)
        ctx.save_for_backward(decay)
        return decay

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (decay,) = ctx.saved_tensors
        g = grad * decay
        clamped = torch.tensor(-80.0, dtype=decay.dtype).exp().item()  # the value of every clamped entry
        g = g.masked_fill_(decay <= clamped, 0.0)  # masked (0) and clamped entries have no gradient
        # In float64, as autograd took them: the two sums nearly cancel for long-lived states.
        grad_cum = g.sum(-1, dtype=torch.float64) - g.sum(-2, dtype=torch.float64)
        return grad_cum.flip(-1).cumsum(-1).flip(-1).to(grad.dtype)


def _chunks(x, length):  # (B, H, T, ...) -> (B, H, N, length, ...), zero-padded at the end
    pad = -x.size(2) % length
    if pad:
        x = torch.cat([x, x.new_zeros(*x.shape[:2], pad, *x.shape[3:])], 2)
    return x.unflatten(2, (-1, length))


def matrix_state_chunked(q, k, v, rho, state0, *, delta=None, mix=None, frobenius_guard=False, chunk=CHUNK):
    """Unrolled, S_t = (Π_{u≤t} ρ_u) S0 + Σ_{s≤t} (Π_{s<u≤t} ρ_u)(1 - ρ_s) U_s, so r_t is a
    decay-weighted causal attention: O_s q_t = k_s (v_s·q_t), Diag(δ_s) q_t = δ_s ⊙ q_t,
    O_sᵀ q_t = v_s (k_s·q_t). Taken in chunks of `chunk` tokens (the structure of Mamba-2's SSD):
    inside a chunk that attention is a masked (C×C) product; each chunk's own writes, decayed to
    its end, form its end state; the state entering every chunk is the decayed sum of S0 and the
    end states before it, one (N+1)×(N+1) decay matrix over the N chunks. No Python loop; O(T·C·S
    + T·S²) time. Tokens padded at the end have ρ = 1 and no write, so they change nothing."""
    if frobenius_guard:
        raise ValueError("the Frobenius guard is not linear in the state; use matrix_state_reference")
    _check(delta, mix)
    B, H, T, S = q.shape
    C = min(chunk, T)
    log_rho = torch.log(rho.clamp_min(torch.finfo(rho.dtype).tiny))  # keeps ρ = 0 from making NaNs
    a, b, c = _write_weights(rho, mix)
    g, a = _chunks(log_rho, C), _chunks(a, C)  # (B, H, N, C)
    q, k, v = _chunks(q, C), _chunks(k, C), _chunks(v, C)  # (B, H, N, C, S)
    decay = decay_matrix(g)  # (B, H, N, C, C) [t, s]: from s to t inside a chunk
    to_end = decay[..., -1, :]  # (B, H, N, C): from s to the chunk's last token

    r = (decay * (q @ v.transpose(-1, -2))) @ (a.unsqueeze(-1) * k)
    own = ((to_end * a).unsqueeze(-1) * k).transpose(-1, -2) @ v  # (B, H, N, S, S)
    if mix is not None:
        b, c, delta = _chunks(b, C), _chunks(c, C), _chunks(delta, C)
        r = r + (decay * (q @ k.transpose(-1, -2))) @ (b.unsqueeze(-1) * v)
        r = r + q * (decay @ (c.unsqueeze(-1) * delta))
        own = own + ((to_end * b).unsqueeze(-1) * v).transpose(-1, -2) @ k
        own = own + torch.diag_embed(((to_end * c).unsqueeze(-2) @ delta).squeeze(-2))

    # S0 enters as the end state of a chunk before the first: ends[z] = state after chunk z - 1.
    start = q.new_zeros(B, H, 1, S, S) if state0 is None else state0.unsqueeze(2)
    totals = torch.cat([g.new_zeros(B, H, 1), g.sum(-1)], -1)  # (B, H, N + 1); the first is never used
    ends = (decay_matrix(totals) @ torch.cat([start, own], 2).flatten(-2)).unflatten(-1, (S, S))
    from_start = g.cumsum(-1).clamp_min(-80.0).exp()  # Π_{chunk start ≤ u ≤ t} ρ_u, as in decay_matrix
    r = r + from_start.unsqueeze(-1) * (q @ ends[:, :, :-1].transpose(-1, -2))
    return r.flatten(2, 3)[:, :, :T], ends[:, :, -1]


def matrix_state(q, k, v, rho, state0, *, delta=None, mix=None, frobenius_guard=False, form="fast"):
    """form="fast": with the Frobenius guard, on CUDA its Triton kernels (models/guarded_state_kernel.py),
    elsewhere the loop with its own backward (models/guarded_state_loop.py); without it, on CUDA the
    Triton kernels for outer-product writes (models/matrix_state_kernel.py), else the chunked form."""
    if form not in FORMS:
        raise ValueError(f"unknown recurrence form {form!r}; valid: {', '.join(FORMS)}")
    if form == "reference":
        return matrix_state_reference(q, k, v, rho, state0, delta=delta, mix=mix, frobenius_guard=frobenius_guard)
    kernels = _kernels() if q.device.type == "cuda" and q.dtype == torch.float32 else None
    if frobenius_guard:
        _check(delta, mix)
        if kernels is None:
            return guarded_state_loop(*write_factors(k, v, rho, delta, mix), rho, q, state0)
        return kernels[1](state_writes(k, v, rho, delta, mix), rho, q, state0)
    if mix is None and kernels is not None:
        return kernels[0](q, k, v, rho, state0)
    return matrix_state_chunked(q, k, v, rho, state0, delta=delta, mix=mix)


@functools.cache
def _kernels():
    """The Triton kernels (outer products, guarded), or None where Triton is not installed (CPU
    builds of torch)."""
    try:
        from models.guarded_state_kernel import guarded_state_kernel
        from models.matrix_state_kernel import matrix_state_kernel
    except ImportError:
        return None
    return matrix_state_kernel, guarded_state_kernel


def _check(delta, mix):
    if mix is not None and delta is None:
        raise ValueError("RuleMix writes (mix) need the diagonal write delta")
