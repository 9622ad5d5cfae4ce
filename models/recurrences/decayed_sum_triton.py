"""The shared primitive of decayed_sum.py for one write and no carried state,

    y_t = Σ_{s≤t} (Π_{s<u≤t} ρ_u) w_s (q_t·k_s) v_s,

as two Triton kernels, forward and backward: the pair memories' and the SSD's form on CUDA, where
the PyTorch chunked form issues dozens of small kernels per direction.

One program per (batch, head) walks the sequence in chunks of CHUNK tokens with the Dk×Dv state
Σ_s (decay) w_s k_s v_sᵀ in registers, as decayed_sum.py and matrix_state/triton.py do: inside a
chunk a masked decay-weighted C×C product, between chunks the state. The forward stores the state
entering each chunk; the backward walks the chunks from the last, carrying dS = ∂L/∂(state leaving
the chunk). Decays follow decayed_sum.py: differences of a float64 in-chunk cumulative log ρ,
exponents clamped to [LOG_FLOOR, 0]; products are float32 (input_precision="ieee").

Shapes as in decayed_sum.py: q, k (B, Hq, T, Dk) with Hq = 1 (shared by the heads, as the SSD's
C and B are) or H; v (B, H, T, Dv); w and log ρ (B, H, T); any of them may broadcast over batch
and heads, and q and k are read through their strides, so a shared or broadcast one is never
copied per head. Float32 only. Without CUDA, Triton's interpreter (TRITON_INTERPRET=1) runs the
same kernels on the CPU: the tests use it.
"""

import torch
import triton
import triton.language as tl

from models.recurrences.decayed_sum import CHUNK
from models.recurrences.triton_blocks import clamped_exp, decay, dot


@triton.jit
def _chunk(Q, K, QK_B, QK_H, QK_T, V, W, LOG_RHO, b, h, c0, T, H, DK, DV, C: tl.constexpr, BK: tl.constexpr,
           BV: tl.constexpr):
    """One chunk's inputs: q, k (C, BK), v (C, BV), w (C), the in-chunk cumulative log ρ (float64),
    the token mask, and where v's rows lie (y, dy and dv share v's layout). Tokens past the end have
    q = k = v = w = 0 and log ρ = 0: they change nothing."""
    t = c0 + tl.arange(0, C)
    t_ok = t < T
    k_cols, v_cols = tl.arange(0, BK), tl.arange(0, BV)
    qk_at = (b * QK_B + h * QK_H + t * QK_T)[:, None] + k_cols[None, :]
    qk_ok = t_ok[:, None] & (k_cols < DK)[None, :]
    q = tl.load(Q + qk_at, mask=qk_ok, other=0.0)
    k = tl.load(K + qk_at, mask=qk_ok, other=0.0)
    token = (b * H + h) * T + t  # index into (B, H, T)
    v_at = (token * DV)[:, None] + v_cols[None, :]
    v_ok = t_ok[:, None] & (v_cols < DV)[None, :]
    v = tl.load(V + v_at, mask=v_ok, other=0.0)
    w = tl.load(W + token, mask=t_ok, other=0.0)
    cum = tl.cumsum(tl.load(LOG_RHO + token, mask=t_ok, other=0.0).to(tl.float64), 0)
    return q, k, v, w, cum, token, t_ok, v_at, v_ok


@triton.jit
def _decays(cum, C: tl.constexpr):
    """From the cumulative log ρ: [t, s] decay from s to t (0 for s > t), from the chunk's start to
    each t, from each s to the chunk's end, and across the whole chunk."""
    steps = tl.arange(0, C)
    total = tl.sum(tl.where(steps == C - 1, cum, 0.0), 0)
    inside = decay(cum[:, None], cum[None, :], steps[:, None] >= steps[None, :])
    return inside, clamped_exp(cum), clamped_exp(total - cum), clamped_exp(total)


@triton.jit
def _forward(Q, K, QK_B, QK_H, QK_T, V, W, LOG_RHO, Y, STATES, T, H, DK, DV, C: tl.constexpr, BK: tl.constexpr,
             BV: tl.constexpr, STORE_STATES: tl.constexpr):
    pid = tl.program_id(0).to(tl.int64)  # b·H + h
    b, h = pid // H, pid % H
    rows, cols = tl.arange(0, BK), tl.arange(0, BV)
    square = rows[:, None] * DV + cols[None, :]
    square_ok = (rows < DK)[:, None] & (cols < DV)[None, :]
    chunks = tl.cdiv(T, C)
    state = tl.zeros((BK, BV), dtype=tl.float32)  # Σ_s (decay to here) w_s k_s v_sᵀ
    for n in range(chunks):
        q, k, v, w, cum, _, t_ok, v_at, v_ok = _chunk(Q, K, QK_B, QK_H, QK_T, V, W, LOG_RHO, b, h, n * C, T, H, DK,
                                                      DV, C, BK, BV)
        if STORE_STATES:  # the state entering each chunk, for the backward
            tl.store(STATES + (pid * chunks + n) * DK * DV + square, state, mask=square_ok)
        inside, from_start, to_end, across = _decays(cum, C)
        y = dot(dot(q, tl.trans(k)) * inside * w[None, :], v) + from_start[:, None] * dot(q, state)
        tl.store(Y + v_at, y, mask=v_ok)
        state = across * state + dot(tl.trans(k * (w * to_end)[:, None]), v)


@triton.jit
def _backward(Q, K, QK_B, QK_H, QK_T, V, W, LOG_RHO, STATES, DY, DQ, DK_OUT, DV_OUT, DW, DLOG_RHO, T, H, DK, DV,
              C: tl.constexpr, BK: tl.constexpr, BV: tl.constexpr):
    """Chunks from the last, carrying dS. With G the in-chunk cumulative log ρ and S_in the state
    entering the chunk, log ρ_u is in the decay of every pair s < u ≤ t, so

        ∂L/∂log ρ_u = Σ_{t≥u} Σ_{s<u} e^{G_t-G_s} w_s (dy_t·v_s)(q_t·k_s)
                    + Σ_{t≥u} e^{G_t} dy_t·(S_inᵀ q_t)
                    + Σ_{s<u} e^{G_last-G_s} w_s k_sᵀ dS v_s
                    + e^{G_last} ⟨dS, S_in⟩,

    sums of products of decays, every exponent ≤ 0: no division by ρ and no difference of large sums.
    dq and dk are written per head (B, H, T, Dk); the caller sums them over shared heads."""
    pid = tl.program_id(0).to(tl.int64)
    b, h = pid // H, pid % H
    rows, cols, steps = tl.arange(0, BK), tl.arange(0, BV), tl.arange(0, C)
    square = rows[:, None] * DV + cols[None, :]
    square_ok = (rows < DK)[:, None] & (cols < DV)[None, :]
    until = steps[:, None] >= steps[None, :]  # [t, u]: t ≥ u
    before = (steps[:, None] < steps[None, :]).to(tl.float32)  # [s, u]: s < u
    chunks = tl.cdiv(T, C)
    grad = tl.zeros((BK, BV), dtype=tl.float32)  # dS
    for n in range(chunks):
        c0 = (chunks - 1 - n) * C
        q, k, v, w, cum, token, t_ok, v_at, v_ok = _chunk(Q, K, QK_B, QK_H, QK_T, V, W, LOG_RHO, b, h, c0, T, H, DK,
                                                          DV, C, BK, BV)
        entering = tl.load(STATES + (pid * chunks + c0 // C) * DK * DV + square, mask=square_ok, other=0.0)
        dy = tl.load(DY + v_at, mask=v_ok, other=0.0)
        inside, from_start, to_end, across = _decays(cum, C)

        qk = dot(q, tl.trans(k))  # [t, s] = q_t·k_s
        d_qk = dot(dy, tl.trans(v)) * w[None, :] * inside  # [t, s] = ∂L/∂(q_t·k_s)
        k_grad = dot(k, grad)  # [s, :] = k_sᵀ dS
        du = dot(tl.trans(qk * inside), dy) + to_end[:, None] * k_grad  # ∂L/∂(w_s v_s)
        dq = dot(d_qk, k) + from_start[:, None] * dot(dy, tl.trans(entering))
        dk = dot(tl.trans(d_qk), q) + (w * to_end)[:, None] * dot(v, tl.trans(grad))

        pairs = tl.sum(tl.where(until, dot(d_qk * qk, before), 0.0), 0)
        read = from_start * tl.sum(dy * dot(q, entering), 1)  # e^{G_t} dy_t·(S_inᵀ q_t)
        written = w * to_end * tl.sum(k_grad * v, 1)  # e^{G_last-G_s} w_s k_sᵀ dS v_s
        dlog_rho = pairs + tl.sum(tl.where(until, read[:, None], 0.0), 0)
        dlog_rho += tl.sum(before * written[:, None], 0) + across * tl.sum(tl.sum(grad * entering, 1), 0)

        qk_at = (token * DK)[:, None] + rows[None, :]
        qk_ok = t_ok[:, None] & (rows < DK)[None, :]
        tl.store(DQ + qk_at, dq, mask=qk_ok)
        tl.store(DK_OUT + qk_at, dk, mask=qk_ok)
        tl.store(DV_OUT + v_at, w[:, None] * du, mask=v_ok)
        tl.store(DW + token, tl.sum(v * du, 1), mask=t_ok)
        tl.store(DLOG_RHO + token, dlog_rho, mask=t_ok)
        grad = across * grad + dot(tl.trans(q * from_start[:, None]), dy)


NUM_WARPS = 4  # matrix_state/triton.py's choice for tiles of the same sizes


def _launch(B, H, T, Dk, Dv):
    blocks = dict(BK=max(16, triton.next_power_of_2(Dk)), BV=max(16, triton.next_power_of_2(Dv)))
    return (B * H,), dict(T=T, H=H, DK=Dk, DV=Dv, C=CHUNK, num_warps=NUM_WARPS, **blocks)


def _queries_and_keys(q, k, shape):
    """q and k broadcast to `shape` (B, H, T, Dk) as views with one set of strides and unit entry
    stride: a shared head or batch reads with stride 0."""
    q, k = q.expand(shape), k.expand(shape)
    if q.stride() != k.stride() or q.stride(-1) != 1:
        q, k = q.contiguous(), k.contiguous()
    return q, k, q.stride()[:3]


class DecayedSum(torch.autograd.Function):
    """(q, k, v, w, log ρ) -> y, shapes in the module docstring."""

    @staticmethod
    def forward(ctx, q, k, v, w, log_rho):
        B, H, T = torch.broadcast_shapes(q.shape[:3], k.shape[:3], v.shape[:3], w.shape, log_rho.shape)
        Dk, Dv = q.size(-1), v.size(-1)
        q_full, k_full, qk_strides = _queries_and_keys(q, k, (B, H, T, Dk))
        v_full, w_full, log_rho_full = (x.expand(B, H, *x.shape[2:]).contiguous() for x in (v, w, log_rho))
        grid, shape = _launch(B, H, T, Dk, Dv)
        wants_grad = any(ctx.needs_input_grad)
        y = v_full.new_empty(B, H, T, Dv)
        states = y.new_empty(B, H, triton.cdiv(T, CHUNK), Dk, Dv) if wants_grad else y
        _forward[grid](q_full, k_full, *qk_strides, v_full, w_full, log_rho_full, y, states, STORE_STATES=wants_grad,
                       **shape)
        if wants_grad:
            ctx.save_for_backward(q_full, k_full, v_full, w_full, log_rho_full, states)
            ctx.qk_strides = qk_strides
            ctx.shapes = [x.shape for x in (q, k, v, w, log_rho)]
        return y

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dy):
        q, k, v, w, log_rho, states = ctx.saved_tensors
        B, H, T, Dv = v.shape
        grid, shape = _launch(B, H, T, q.size(-1), Dv)
        dq, dk = (q.new_empty(B, H, T, q.size(-1)) for _ in range(2))
        dv, dw, dlog_rho = (torch.empty_like(x) for x in (v, w, log_rho))
        _backward[grid](q, k, *ctx.qk_strides, v, w, log_rho, states, dy.contiguous(), dq, dk, dv, dw, dlog_rho,
                        **shape)
        return tuple(d.sum_to_size(s) for d, s in zip((dq, dk, dv, dw, dlog_rho), ctx.shapes))


def decayed_sum_one_write(q, k, v, w, log_rho):
    """decayed_sum(q, [(w, k, v)], log_rho)[0] as the kernels compute it."""
    return DecayedSum.apply(q, k, v, w, log_rho)
