"""The one chunked primitive behind the matrix state, the pair memories and Mamba-2's SSD: a decayed
sum of weighted outer products, per head,

    S_t = ρ_t S_{t-1} + Σ_writes w_t v_t k_tᵀ (+ Diag(w_t d_t)),   y_t = S_t q_t,

that is y_t = Σ_{s≤t} (Π_{s<u≤t} ρ_u) w_s (q_t·k_s) v_s plus (Π_{u≤t} ρ_u) S0 q_t. The decay comes
in as log ρ (the SSD's dt·A directly, the gates' log ρ otherwise), so every op forms its decays the
same way: differences of one float64 cumulative sum in `decay_matrix`, clamped at e^-80.

Taken in chunks of CHUNK tokens (the structure of Mamba-2's SSD): inside a chunk, a masked C×C
product; each chunk's own writes, decayed to its end, form its end state; the state entering each
chunk is the decayed sum of S0 and the end states before it, one (N+1)×(N+1) decay matrix over the
N chunks. No Python loop; O(T·C·D + T·D²) time. Tokens padded at the end have log ρ = 0 and w = 0,
so they change nothing.

Shapes, in the layout of every recurrence here, (B, H, T, D): q (B, H, T, Dk); k (B, H, T, Dk);
v (B, H, T, Dv); w and log ρ (B, H, T); S0 and the final state (B, H, Dv, Dk). q and k may have
H = 1 (shared by the heads, as the SSD's C and B are).
"""

import torch

# Tokens per chunk, in every form and kernel: on a CPU the paper-size training steps of UniMatrix,
# Triple-Latent and Mamba-2 were faster with 16 than with 32, or level; on a GPU the kernels' S×S
# state and C×C blocks fit in registers at 16 and not at 64.
CHUNK = 16
LOG_FLOOR = -80.0  # decays below e^-80 ≈ 2e-35 are taken as e^-80: out of exp's slow denormal range


def decay_matrix(log_rho):  # (..., T) -> (..., T, T), [t, s] = Π_{s<u≤t} ρ_u for s ≤ t, else 0
    """Differences of the cumulative log-retention, taken in float64: the sums grow like T·|log ρ|,
    and in float32 their difference would lose the decay of nearby pairs to rounding.

    Before exp the exponent is clamped to [LOG_FLOOR, 0]: entries with s > t (exponent ≥ 0) become 1
    and are then masked to exact zeros with zero gradient (no inf, no NaN); the floor keeps exp out
    of its slow denormal path (over 10x slower on CPU) at no visible cost.
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
        decay = decay.clamp_(LOG_FLOOR, 0.0).exp_().masked_fill_(~causal, 0.0)
        ctx.save_for_backward(decay)
        return decay

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad):
        (decay,) = ctx.saved_tensors
        g = grad * decay
        clamped = torch.tensor(LOG_FLOOR, dtype=decay.dtype).exp().item()  # the value of every clamped entry
        g = g.masked_fill_(decay <= clamped, 0.0)  # masked (0) and clamped entries have no gradient
        # In float64, as autograd took them: the two sums nearly cancel for long-lived states.
        grad_cum = g.sum(-1, dtype=torch.float64) - g.sum(-2, dtype=torch.float64)
        return grad_cum.flip(-1).cumsum(-1).flip(-1).to(grad.dtype)


def log_retention(rho):
    """log ρ with ρ = 0 kept finite (log of the smallest normal float instead of -inf)."""
    return torch.log(rho.clamp_min(torch.finfo(rho.dtype).tiny))


def _chunks(x, length):  # (B, H, T, ...) -> (B, H, N, length, ...), zero-padded at the end
    pad = -x.size(2) % length
    if pad:
        x = torch.cat([x, x.new_zeros(*x.shape[:2], pad, *x.shape[3:])], 2)
    return x.unflatten(2, (-1, length))


def decayed_sum(q, writes, log_rho, state0=None, *, diagonal=None, chunk=CHUNK):
    """writes: a sequence of (w, k, v), each a rank-one write w_t v_t k_tᵀ per token, summed;
    diagonal: (w, d) or None, a write w_t Diag(d_t) per token (Dk = Dv). Returns y (B, H, T, Dv)
    and the state after the last token (B, H, Dv, Dk)."""
    B, H, T = log_rho.shape
    C = min(chunk, T)
    g = _chunks(log_rho, C)  # (B, H, N, C)
    q = _chunks(q, C)  # (B, H, N, C, Dk)
    decay = decay_matrix(g)  # (B, H, N, C, C) [t, s]: from s to t inside a chunk
    to_end = decay[..., -1, :]  # (B, H, N, C): from s to the chunk's last token

    y = own = None  # own: each chunk's writes, decayed to its end (B, H, N, Dv, Dk)
    for w, k, v in writes:
        w, k, v = _chunks(w, C), _chunks(k, C), _chunks(v, C)
        y_write = (decay * (q @ k.transpose(-1, -2))) @ (w.unsqueeze(-1) * v)
        own_write = ((to_end * w).unsqueeze(-1) * v).transpose(-1, -2) @ k
        y = y_write if y is None else y + y_write
        own = own_write if own is None else own + own_write
    if diagonal is not None:
        w, d = (_chunks(x, C) for x in diagonal)
        y = y + q * (decay @ (w.unsqueeze(-1) * d))
        own = own + torch.diag_embed(((to_end * w).unsqueeze(-2) @ d).squeeze(-2))

    # S0 enters as the end state of a chunk before the first: ends[z] = state after chunk z - 1.
    Dv, Dk = own.shape[-2:]
    start = own.new_zeros(B, H, 1, Dv, Dk) if state0 is None else state0.unsqueeze(2)
    totals = torch.cat([g.new_zeros(B, H, 1), g.sum(-1)], -1)  # (B, H, N + 1); the first is never used
    ends = (decay_matrix(totals) @ torch.cat([start, own], 2).flatten(-2)).unflatten(-1, (Dv, Dk))
    from_start = g.cumsum(-1).clamp_min(LOG_FLOOR).exp()  # Π_{chunk start ≤ u ≤ t} ρ_u, as in decay_matrix
    y = y + from_start.unsqueeze(-1) * (q @ ends[:, :, :-1].transpose(-1, -2))
    return y.flatten(2, 3)[:, :, :T], ends[:, :, -1]
