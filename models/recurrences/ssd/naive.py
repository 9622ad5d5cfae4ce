"""The SSD recurrence of Mamba-2 (Dao & Gu 2024, "Transformers are SSMs"), per head h, with a
scalar decay per head and token and h_{-1} = 0, as its per-token definition:

    h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_tᵀ        (h_t: P×N)
    y_t = h_t C_t

B and C are shared by all heads (one group, as in Mamba-2's default), hence their head axis of 1.
The D skip is not part of the recurrence.

Shapes: x (b, H, T, P); dt (b, H, T), > 0; A (H,), < 0; B, C (b, 1, T, N). Returns y (b, H, T, P).
"""

import torch


def ssd(x, dt, A, B, C):
    b, H, T, P = x.shape
    h = x.new_zeros(b, H, P, B.size(-1))
    ys = []
    for t in range(T):
        decay = torch.exp(dt[:, :, t] * A)[..., None, None]  # (b, H, 1, 1)
        write = (dt[:, :, t, None] * x[:, :, t]).unsqueeze(-1) * B[:, :, t].unsqueeze(-2)  # (b, H, P, N)
        h = decay * h + write
        ys.append((h * C[:, :, t].unsqueeze(-2)).sum(-1))
    return torch.stack(ys, 2)
