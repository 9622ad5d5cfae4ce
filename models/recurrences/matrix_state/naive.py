"""The UniMatrix matrix-state recurrence (spec §4.2 steps 3-8), per head h and token t, as its
per-token definition:

    S_t = ρ_t S_{t-1} + (1 - ρ_t) U_t                (ρ_t: one scalar per head; U_t: writes.py)
    S_t ← S_t / max(1, ‖S_t‖_F)                      (optional Frobenius guard, D14)
    r_t = S_t q_t                                    (r[i] = Σ_j S[i, j] q_j)

Shapes: q, k, v, delta (B, H, T, S); rho (B, H, T); mix (B, H, T, 3) or None; state0 (B, H, S, S),
None means zeros. Returns r (B, H, T, S) and the state after the last token (B, H, S, S).
"""

import torch

from models.recurrences.matrix_state.writes import check, state_writes


def _read(states, q):
    # r[i] = Σ_j S[i, j] q_j as multiply-and-sum: a batched matmul of S×S by S×1 blocks is several
    # times slower on CPU, above all in its backward.
    return (states * q.unsqueeze(-2)).sum(-1)


def matrix_state(q, k, v, rho, state0, *, delta=None, mix=None, frobenius_guard=False):
    check(delta, mix)
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
