"""The outer-product matrix-state recurrence (naive.py's notation, w_t = (1 - ρ_t) k_t)

    S_t = ρ_t S_{t-1} + w_t v_tᵀ,   r_t = S_t q_t

as two Triton kernels, forward and backward, one launch each for the whole sequence: the matrix
state's form on CUDA (`matrix_state` below; the guarded one in triton_guarded.py). At the paper's size a training step
on a GPU is launch-bound, and the PyTorch chunked form issues ~30 small kernels per direction.

One program per (batch, head) walks the sequence in chunks of CHUNK tokens with the S×S state in
registers, as the chunked form does (Mamba-2's SSD structure): inside a chunk a masked decay-weighted
(C×C) product, between chunks the state. The forward stores the state entering each chunk; the
backward walks the chunks from the last, carrying dS = ∂L/∂(state leaving the chunk), and takes
dρ as ⟨∂L/∂S_u, S_{u-1}⟩ expanded over the chunk (see _backward), every decay a product of ρ's:
no division by ρ and no difference of large sums. Products are float32 (input_precision="ieee";
TF32 would cost ~1e-3 relative error) and the in-chunk cumulative log ρ is float64, as in
models/recurrences/decayed_sum.decay_matrix.

Why not a library kernel: flash-linear-attention's chunk_simple_gla computes this forward, but
refuses its backward on Hopper with Triton < 3.7.1, and its first call on a machine compiles and
autotunes for minutes. These compile in seconds and run on any Triton GPU
(benchmarks/measured/PERFORMANCE.md).

Layouts: time-major. q, k, v (B, T, H, S) with heads and entries contiguous and any batch and
token strides (IN_B, IN_T, shared), so the model's slices of one projection pass without a copy;
likewise ρ (B, T, H), strides RHO_B, RHO_T. Outputs and their gradients are
contiguous. States (B, H, S, S). Float32 only. Without CUDA, Triton's
interpreter (TRITON_INTERPRET=1) runs the same kernels on the CPU: the tests use it.
"""

import math

import torch
import triton
import triton.language as tl

from models.recurrences.decayed_sum import CHUNK
from models.recurrences.matrix_state import chunk
from models.recurrences.matrix_state.triton_guarded import guarded_state_kernel
from models.recurrences.matrix_state.writes import check, state_writes
from models.recurrences.triton_blocks import decay, dot


@triton.jit
def _chunk(Q, K, V, RHO, IN_B, IN_T, RHO_B, RHO_T, b, h, c0, T, H, S: tl.constexpr, C: tl.constexpr, BLOCK: tl.constexpr):
    """One chunk's inputs: q, k, v (C, BLOCK), 1 - ρ (C), the in-chunk cumulative sum G of log ρ
    (float64, see models/recurrences/decayed_sum.decay_matrix), G before each token, and the token mask.
    Tokens past the end have q = k = v = 0 and ρ = 1: they change nothing."""
    t = c0 + tl.arange(0, C)
    t_ok = t < T
    cols = tl.arange(0, BLOCK)
    at = (b * IN_B + t * IN_T + h * S)[:, None] + cols[None, :]
    ok = t_ok[:, None] & (cols < S)[None, :]
    q = tl.load(Q + at, mask=ok, other=0.0)
    k = tl.load(K + at, mask=ok, other=0.0)
    v = tl.load(V + at, mask=ok, other=0.0)
    rho = tl.load(RHO + b * RHO_B + t * RHO_T + h, mask=t_ok, other=1.0)
    log_rho = tl.log(tl.maximum(rho, 1.1754943508222875e-38)).to(tl.float64)  # ρ = 0 makes no NaN
    cum = tl.cumsum(log_rho, 0)
    return q, k, v, 1 - rho, cum, cum - log_rho, t, t_ok


@triton.jit
def _forward(Q, K, V, RHO, IN_B, IN_T, RHO_B, RHO_T, S0, R, S_END, STATES, T, H, S: tl.constexpr, C: tl.constexpr,
             BLOCK: tl.constexpr, HAS_S0: tl.constexpr, STORE_STATES: tl.constexpr):
    pid = tl.program_id(0).to(tl.int64)  # b·H + h
    b, h = pid // H, pid % H
    rows, cols, steps = tl.arange(0, BLOCK), tl.arange(0, BLOCK), tl.arange(0, C)
    square = rows[:, None] * S + cols[None, :]
    square_ok = (rows < S)[:, None] & (cols < S)[None, :]
    if HAS_S0:
        state = tl.load(S0 + pid * S * S + square, mask=square_ok, other=0.0)
    else:
        state = tl.zeros((BLOCK, BLOCK), dtype=tl.float32)
    for c0 in range(0, T, C):
        q, k, v, gain, cum, _, t, t_ok = _chunk(Q, K, V, RHO, IN_B, IN_T, RHO_B, RHO_T, b, h, c0, T, H, S, C, BLOCK)
        w = gain[:, None] * k
        if STORE_STATES:  # the state entering each chunk, for the backward
            tl.store(STATES + (pid * tl.cdiv(T, C) + c0 // C) * S * S + square, state, mask=square_ok)
        total = tl.sum(tl.where(steps == C - 1, cum, 0.0), 0)
        inside = decay(cum[:, None], cum[None, :], steps[:, None] >= steps[None, :])  # [t, s]: s to t
        r = dot(dot(q, tl.trans(v)) * inside, w)
        r += tl.exp(cum.to(tl.float32))[:, None] * dot(q, tl.trans(state))
        at = ((b * T + t) * H * S + h * S)[:, None] + cols[None, :]
        tl.store(R + at, r, mask=t_ok[:, None] & (cols < S)[None, :])
        to_end = decay(total, cum, t_ok)
        state = tl.exp(total.to(tl.float32)) * state + dot(tl.trans(w * to_end[:, None]), v)
    tl.store(S_END + pid * S * S + square, state, mask=square_ok)


@triton.jit
def _backward(Q, K, V, RHO, IN_B, IN_T, RHO_B, RHO_T, STATES, DR, DS_END, DQ, DK, DV, DRHO, DS0, T, H, S: tl.constexpr,
              C: tl.constexpr, BLOCK: tl.constexpr, HAS_S0: tl.constexpr):
    """Chunks from the last, carrying dS = ∂L/∂(state leaving the chunk). With G local to the chunk
    (G_{-1} = 0), for token u of a chunk entered with state S_in:
        dρ_u = ⟨∂L/∂S_u, S_{u-1}⟩ = Σ_{t≥u} Σ_{s<u} e^{G_t-G_u} e^{G_{u-1}-G_s} (dr_t·w_s)(q_t·v_s)
             + e^{G_{u-1}} Σ_{t≥u} e^{G_t-G_u} dr_t·S_in q_t + e^{G_last-G_u} Σ_{s<u} e^{G_{u-1}-G_s} w_sᵀ dS v_s
             + e^{G_last-G_u} e^{G_{u-1}} ⟨dS, S_in⟩,
    every exponent ≤ 0: no division by ρ, no cancellation."""
    pid = tl.program_id(0).to(tl.int64)
    b, h = pid // H, pid % H
    rows, cols, steps = tl.arange(0, BLOCK), tl.arange(0, BLOCK), tl.arange(0, C)
    square = rows[:, None] * S + cols[None, :]
    square_ok = (rows < S)[:, None] & (cols < S)[None, :]
    grad = tl.load(DS_END + pid * S * S + square, mask=square_ok, other=0.0)
    chunks = tl.cdiv(T, C)
    for n in range(chunks):
        c0 = (chunks - 1 - n) * C
        q, k, v, gain, cum, before, t, t_ok = _chunk(Q, K, V, RHO, IN_B, IN_T, RHO_B, RHO_T, b, h, c0, T, H, S, C, BLOCK)
        w = gain[:, None] * k
        entering = tl.load(STATES + (pid * chunks + c0 // C) * S * S + square, mask=square_ok, other=0.0)
        at = ((b * T + t) * H * S + h * S)[:, None] + cols[None, :]
        ok = t_ok[:, None] & (cols < S)[None, :]
        dr = tl.load(DR + at, mask=ok, other=0.0)
        total = tl.sum(tl.where(steps == C - 1, cum, 0.0), 0)
        inside = decay(cum[:, None], cum[None, :], steps[:, None] >= steps[None, :])  # [t, s]
        later = decay(cum[None, :], cum[:, None], steps[None, :] >= steps[:, None])  # [u, t]: u to t
        earlier = decay(before[:, None], cum[None, :], steps[None, :] < steps[:, None])  # [u, s]: s to u - 1
        from_start = tl.exp(cum.to(tl.float32))
        before_start = tl.exp(tl.maximum(before, -80.0).to(tl.float32))
        to_end = decay(total, cum, t_ok)

        qv = dot(q, tl.trans(v))  # [t, s] = q_t·v_s
        drw = dot(dr, tl.trans(w))  # [t, s] = dr_t·w_s
        d_qv = drw * inside
        v_grad = dot(v, tl.trans(grad))  # [s, i] = (dS v_s)_i
        dq = dot(d_qv, v) + from_start[:, None] * dot(dr, entering)
        dw = dot(tl.trans(qv * inside), dr) + to_end[:, None] * v_grad
        dv = dot(tl.trans(d_qv), q) + to_end[:, None] * dot(w, grad)
        read_entering = tl.sum(dr * dot(q, tl.trans(entering)), 1)  # dr_t·S_in q_t
        written = tl.sum(w * v_grad, 1)  # w_sᵀ dS v_s
        drho = tl.sum(later * dot(earlier, tl.trans(drw * qv)), 1)
        drho += before_start * tl.sum(later * read_entering[None, :], 1)
        drho += to_end * tl.sum(earlier * written[None, :], 1)
        drho += to_end * before_start * tl.sum(tl.sum(grad * entering, 1), 0)
        drho -= tl.sum(dw * k, 1)  # through w = (1 - ρ) k
        tl.store(DQ + at, dq, mask=ok)
        tl.store(DK + at, gain[:, None] * dw, mask=ok)
        tl.store(DV + at, dv, mask=ok)
        tl.store(DRHO + (b * T + t) * H + h, drho, mask=t_ok)
        grad = tl.exp(total.to(tl.float32)) * grad + dot(tl.trans(dr * from_start[:, None]), q)
    if HAS_S0:
        tl.store(DS0 + pid * S * S + square, grad, mask=square_ok)


NUM_WARPS = 4  # level with 8 and faster than 2 for the paper-size training step on a GPU


def _launch_shape(q):
    B, T, H, S = q.shape
    return (B * H,), dict(T=T, H=H, S=S, C=CHUNK, BLOCK=max(16, triton.next_power_of_2(S)), num_warps=NUM_WARPS)


def _readable(x):
    """x (B, T, H, ...) with heads and entries contiguous, as the kernels read it, and its batch
    and token strides."""
    inner = x.shape[2:]
    if x.stride()[2:] != tuple(math.prod(inner[i + 1:]) for i in range(len(inner))):
        x = x.contiguous()
    return x, x.stride()[:2]


class MatrixStateRecurrence(torch.autograd.Function):
    """(q, k, v, ρ, S0 or None) -> (r, S_T), shapes in the module docstring."""

    @staticmethod
    def forward(ctx, q, k, v, rho, state0):
        B, T, H, S = q.shape
        grid, shape = _launch_shape(q)
        (q, in_strides), (k, k_strides), (v, v_strides) = (_readable(x) for x in (q, k, v))
        if not in_strides == k_strides == v_strides:
            (q, in_strides), (k, _), (v, _) = (_readable(x.contiguous()) for x in (q, k, v))
        rho, rho_strides = _readable(rho)
        wants_grad = any(ctx.needs_input_grad)
        r = q.new_empty(q.shape)
        state_end = q.new_empty(B, H, S, S)
        entering = q.new_empty(B, H, triton.cdiv(T, CHUNK), S, S) if wants_grad else state_end
        _forward[grid](q, k, v, rho, *in_strides, *rho_strides, state_end if state0 is None else state0.contiguous(),
                       r, state_end, entering, HAS_S0=state0 is not None, STORE_STATES=wants_grad, **shape)
        if wants_grad:
            ctx.save_for_backward(q, k, v, rho, entering)
            ctx.strides = *in_strides, *rho_strides
            ctx.has_state0 = state0 is not None
        return r, state_end

    @staticmethod
    def backward(ctx, dr, dstate_end):
        q, k, v, rho, entering = ctx.saved_tensors
        grid, shape = _launch_shape(q)
        dq, dk, dv, drho = (x.new_empty(x.shape) for x in (q, k, v, rho))
        dstate0 = torch.empty_like(dstate_end) if ctx.has_state0 else None
        _backward[grid](q, k, v, rho, *ctx.strides, entering, dr.contiguous(), dstate_end.contiguous(),
                        dq, dk, dv, drho, dstate_end if dstate0 is None else dstate0, HAS_S0=ctx.has_state0, **shape)
        return dq, dk, dv, drho, dstate0


def matrix_state_kernel(q, k, v, rho, state0):
    """Shapes as in naive.py (head-major views), outer-product writes only."""
    time_major = lambda x: x.transpose(1, 2)
    r, state = MatrixStateRecurrence.apply(time_major(q), time_major(k), time_major(v), time_major(rho), state0)
    return r.transpose(1, 2), state


def matrix_state(q, k, v, rho, state0, *, delta=None, mix=None, frobenius_guard=False):
    """naive.py's signature: the guarded kernel with the Frobenius guard, this one for outer-product
    writes, and the chunked form for RuleMix writes without the guard, which have no kernel."""
    check(delta, mix)
    if frobenius_guard:
        return guarded_state_kernel(state_writes(k, v, rho, delta, mix), rho, q, state0)
    if mix is not None:
        return chunk.matrix_state(q, k, v, rho, state0, delta=delta, mix=mix)
    return matrix_state_kernel(q, k, v, rho, state0)
