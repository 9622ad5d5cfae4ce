"""The matrix-state recurrence with the Frobenius guard (naive.py's notation)

    P_t = ρ_t S_{t-1} + W_t,   S_t = P_t / max(1, ‖P_t‖_F),   r_t = S_t q_t

as two sequential Triton kernels, forward and backward, one launch each for the whole sequence:
the fast form on CUDA of UniMatrix-Discovery. The guard is not linear in the state, so there is no
chunked form; the per-token loop in PyTorch launches several kernels per token and direction, and
a GPU step is launch-bound. Here one program per (batch, head) walks the tokens with the S×S state
in registers.
W_t, the write of any rule (outer, diagonal, symmetric, mixed), comes in computed
(writes.state_writes), so autograd takes its gradient on to k, v, δ, the mixing
weights and the (1 - ρ) factor.

The forward stores every S_t and ‖P_t‖ for the backward, which walks the tokens from the last,
carrying dS = ∂L/∂S_t:
    dS += dr_t q_tᵀ,   dq_t = S_tᵀ dr_t,
    dP_t = (dS - ⟨dS, S_t⟩ S_t) / ‖P_t‖ where ‖P_t‖ ≥ 1 (torch's clamp passes its gradient at 1), else dS,
    dW_t = dP_t,   dρ_t = ⟨dP_t, S_{t-1}⟩,   dS ← ρ_t dP_t.

Layouts: head-major and contiguous: W (B, H, T, S, S), ρ (B, H, T), q (B, H, T, S), states
(B, H, S, S). Float32 only. Without CUDA, Triton's interpreter (TRITON_INTERPRET=1) runs the same
kernels on the CPU: the tests use it.
"""

import torch
import triton
import triton.language as tl


@triton.jit
def _tile(S: tl.constexpr, BLOCK: tl.constexpr):  # offsets of an S×S matrix in a BLOCK×BLOCK tile, its mask
    rows, cols = tl.arange(0, BLOCK), tl.arange(0, BLOCK)
    return rows[:, None] * S + cols[None, :], (rows < S)[:, None] & (cols < S)[None, :], rows, cols


@triton.jit
def _forward(W, RHO, Q, S0, R, STATES, NORMS, S_END, T, S: tl.constexpr, BLOCK: tl.constexpr,
             HAS_S0: tl.constexpr, STORE_STATES: tl.constexpr):
    bh = tl.program_id(0)
    tile, ok, rows, cols = _tile(S, BLOCK)
    state = tl.zeros((BLOCK, BLOCK), tl.float32)
    if HAS_S0:
        state = tl.load(S0 + bh * S * S + tile, mask=ok, other=0.0)
    for t in range(T):
        at = bh * T + t
        p = tl.load(RHO + at) * state + tl.load(W + at * S * S + tile, mask=ok, other=0.0)
        norm = tl.sqrt(tl.sum(tl.sum(p * p, 1), 0))
        state = p / tl.maximum(norm, 1.0)
        q = tl.load(Q + at * S + cols, mask=cols < S, other=0.0)
        tl.store(R + at * S + rows, tl.sum(state * q[None, :], 1), mask=rows < S)
        if STORE_STATES:
            tl.store(STATES + at * S * S + tile, state, mask=ok)
            tl.store(NORMS + at, norm)
    tl.store(S_END + bh * S * S + tile, state, mask=ok)


@triton.jit
def _backward(RHO, Q, S0, STATES, NORMS, DR, DS_END, DW, DRHO, DQ, DS0, T, S: tl.constexpr, BLOCK: tl.constexpr,
              HAS_S0: tl.constexpr):
    bh = tl.program_id(0)
    tile, ok, rows, cols = _tile(S, BLOCK)
    d_state = tl.load(DS_END + bh * S * S + tile, mask=ok, other=0.0)
    for i in range(T):
        t = T - 1 - i
        at = bh * T + t
        state = tl.load(STATES + at * S * S + tile, mask=ok, other=0.0)
        dr = tl.load(DR + at * S + rows, mask=rows < S, other=0.0)
        q = tl.load(Q + at * S + cols, mask=cols < S, other=0.0)
        d_state += dr[:, None] * q[None, :]
        tl.store(DQ + at * S + cols, tl.sum(state * dr[:, None], 0), mask=cols < S)
        norm = tl.load(NORMS + at)
        clamped = norm >= 1.0
        along = tl.where(clamped, tl.sum(tl.sum(d_state * state, 1), 0), 0.0)
        d_p = (d_state - along * state) / tl.where(clamped, norm, 1.0)
        tl.store(DW + at * S * S + tile, d_p, mask=ok)
        later = (rows * 0 + t > 0)[:, None]  # t > 0 as a tensor: a mask must be one
        previous = tl.load(STATES + (at - 1) * S * S + tile, mask=ok & later, other=0.0)
        if HAS_S0:
            previous += tl.load(S0 + bh * S * S + tile, mask=ok & ~later, other=0.0)
        tl.store(DRHO + at, tl.sum(tl.sum(d_p * previous, 1), 0))
        d_state = tl.load(RHO + at) * d_p
    if HAS_S0:
        tl.store(DS0 + bh * S * S + tile, d_state, mask=ok)


def _launch_shape(q):
    B, H, T, S = q.shape
    block = max(16, triton.next_power_of_2(S))
    return (B * H,), dict(T=T, S=S, BLOCK=block, num_warps=max(1, block * block // 256))


class GuardedStateRecurrence(torch.autograd.Function):
    """(W, ρ, q, S0 or None) -> (r, S_T), shapes in the module docstring."""

    @staticmethod
    def forward(ctx, writes, rho, q, state0):
        B, H, T, S = q.shape
        grid, shape = _launch_shape(q)
        writes, rho, q = writes.contiguous(), rho.contiguous(), q.contiguous()
        state0 = None if state0 is None else state0.contiguous()
        wants_grad = any(ctx.needs_input_grad)
        r, state_end = q.new_empty(q.shape), q.new_empty(B, H, S, S)
        states = q.new_empty(B, H, T, S, S) if wants_grad else state_end
        norms = q.new_empty(B, H, T) if wants_grad else state_end
        _forward[grid](writes, rho, q, state_end if state0 is None else state0, r, states, norms, state_end,
                       HAS_S0=state0 is not None, STORE_STATES=wants_grad, **shape)
        if wants_grad:
            ctx.save_for_backward(rho, q, state0, states, norms)
        return r, state_end

    @staticmethod
    def backward(ctx, dr, dstate_end):
        rho, q, state0, states, norms = ctx.saved_tensors
        grid, shape = _launch_shape(q)
        dwrites, drho, dq = states.new_empty(states.shape), rho.new_empty(rho.shape), q.new_empty(q.shape)
        dstate0 = None if state0 is None else torch.empty_like(state0)
        _backward[grid](rho, q, dstate_end if state0 is None else state0, states, norms, dr.contiguous(),
                        dstate_end.contiguous(), dwrites, drho, dq, dstate_end if dstate0 is None else dstate0,
                        HAS_S0=state0 is not None, **shape)
        return dwrites, drho, dq, dstate0


def guarded_state_kernel(writes, rho, q, state0):
    """Shapes as in naive.py; writes (B, H, T, S, S) from writes.state_writes."""
    return GuardedStateRecurrence.apply(writes, rho, q, state0)
