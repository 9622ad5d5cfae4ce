"""The matrix-state recurrence with the Frobenius guard (triton_guarded.py's notation)

    P_t = ρ_t S_{t-1} + W_t,   S_t = P_t / max(1, ‖P_t‖_F),   r_t = S_t q_t

as a PyTorch loop over the tokens with a backward of its own: UniMatrix-Discovery's fast form off
CUDA. The guard is not linear in the state, so the loop stays; what goes is autograd's record of
it and every (B, H, T, S, S) tensor but the states and their gradients, which roughly halves a
Discovery training step on the CPU (benchmarks/measured/PERFORMANCE.md). Each write comes as factors of rank R plus
a diagonal, W_t = Σ_r left_{t,r} right_{t,r}ᵀ + Diag(diag_t) (RuleMix: R = 2, see
writes.write_factors), so W is never formed. The definition (naive.py)
forms every W_t and leaves autograd ~10 nodes per token to record and replay; here the forward
writes each S_t into one buffer in place (five ops per token), and the backward is the kernel's,
in seven ops per token on (B, H, S, S) slices:
    dS += dr_t q_tᵀ,
    dP_t = (dS - ⟨dS, S_t⟩ S_t) / ‖P_t‖ where ‖P_t‖ ≥ 1 (torch's clamp passes its gradient at 1), else dS,
    dW_t = dP_t,   dS ← ρ_t dP_t;
then for all t at once: dq_t = S_tᵀ dr_t, dρ_t = ⟨dP_t, S_{t-1}⟩, d left_{t,r} = dP_t right_{t,r},
d right_{t,r} = dP_tᵀ left_{t,r}, d diag_t = diagonal(dP_t).

Shapes: left, right (B, H, T, R, S); diag (B, H, T, S) or None; ρ (B, H, T); q (B, H, T, S);
S0 (B, H, S, S) or None. The buffers are token-major, (T, B, H, S, S), so that each token's slice
is contiguous.
"""

import torch


class GuardedStateLoop(torch.autograd.Function):
    """(left, right, diag or None, ρ, q, S0 or None) -> (r, S_T)."""

    @staticmethod
    def forward(ctx, left, right, diag, rho, q, state0):
        B, H, T, S = q.shape
        rank = left.size(-2)
        rho_t = rho.permute(2, 0, 1)[..., None, None]  # token-major views
        left_t = left.permute(2, 0, 1, 4, 3).reshape(T, B * H, S, rank)
        right_t = right.permute(2, 0, 1, 3, 4).reshape(T, B * H, rank, S)
        diag_t = None if diag is None else diag.permute(2, 0, 1, 3)
        states = q.new_empty(T, B, H, S, S)
        norms = q.new_empty(T, B, H, 1, 1)
        state = q.new_zeros(B, H, S, S) if state0 is None else state0
        for t in range(T):
            state = torch.mul(state, rho_t[t], out=states[t])
            state.view(B * H, S, S).baddbmm_(left_t[t], right_t[t])
            if diag_t is not None:
                state.diagonal(dim1=-2, dim2=-1).add_(diag_t[t])
            torch.linalg.vector_norm(state, dim=(-2, -1), keepdim=True, out=norms[t])
            state.div_(norms[t].clamp_min(1.0))
        ctx.save_for_backward(left_t, right_t, rho, q, state0, states, norms)
        ctx.has_diag = diag is not None
        return _read(states, q), state.clone()

    @staticmethod
    def backward(ctx, dr, dstate_end):
        left_t, right_t, rho, q, state0, states, norms = ctx.saved_tensors
        B, H, T, S = q.shape
        rho_t = rho.permute(2, 0, 1)[..., None, None]
        q_t, dr_t = q.permute(2, 0, 1, 3).unsqueeze(-2), dr.permute(2, 0, 1, 3).unsqueeze(-1)  # (T, B, H, 1, S), (T, B, H, S, 1)
        clamped = norms >= 1.0
        scale = torch.where(clamped, norms, 1.0).reciprocal()  # 1 / ‖P_t‖ where clamped, else 1
        projection = clamped * scale  # weight of ⟨dS, S_t⟩ S_t in dP_t: 1 / ‖P_t‖ where clamped, else 0
        d_writes = torch.empty_like(states)
        d_state = dstate_end.clone()
        along = norms.new_empty(norms.shape[1:])
        for t in range(T - 1, -1, -1):
            d_state.addcmul_(dr_t[t], q_t[t])
            torch.sum(d_state * states[t], dim=(-2, -1), keepdim=True, out=along)
            torch.mul(d_state, scale[t], out=d_writes[t])
            d_writes[t].addcmul_(along.mul_(projection[t]), states[t], value=-1.0)
            torch.mul(d_writes[t], rho_t[t], out=d_state)
        dq = (dr_t.transpose(-1, -2) @ states).squeeze(-2).permute(1, 2, 0, 3)
        d_rho = q.new_empty(T, B, H)
        d_rho[1:] = _dot(d_writes[1:], states[:-1])
        d_rho[0] = 0.0 if state0 is None else _dot(d_writes[0], state0)
        d_writes = d_writes.view(T, B * H, S, S)
        d_left = (d_writes @ right_t.transpose(-1, -2)).view(T, B, H, S, -1).permute(1, 2, 0, 4, 3)  # dP_t right_{t,r}
        d_right = (left_t.transpose(-1, -2) @ d_writes).view(T, B, H, -1, S).permute(1, 2, 0, 3, 4)  # dP_tᵀ left_{t,r}
        d_diag = d_writes.diagonal(dim1=-2, dim2=-1).view(T, B, H, S).permute(1, 2, 0, 3) if ctx.has_diag else None
        return d_left, d_right, d_diag, d_rho.permute(1, 2, 0), dq, None if state0 is None else d_state

def _dot(x, y):  # ⟨x, y⟩ of each trailing S×S pair as one batched product, no (…, S, S) temporary
    S = x.size(-1)
    return (x.reshape(-1, 1, S * S) @ y.reshape(-1, S * S, 1)).view(x.shape[:-2])


def _read(states, q):  # r_t = S_t q_t for all t: (T, B, H, S, S), (B, H, T, S) -> (B, H, T, S)
    return (states @ q.permute(2, 0, 1, 3).unsqueeze(-1)).squeeze(-1).permute(1, 2, 0, 3)


def guarded_state_loop(left, right, diag, rho, q, state0):
    """Shapes in the module docstring."""
    return GuardedStateLoop.apply(left, right, diag, rho, q, state0)
