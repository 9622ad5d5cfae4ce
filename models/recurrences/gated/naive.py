"""The elementwise gated recurrence of the Recurrent-FFN family (spec §4.10), per channel, as its
per-token definition:

    s_t = f_t ⊙ s_{t-1} + x_t        (x_t = i_t ⊙ c_t; f_t = tanh(·) ∈ (-1, 1), signed)

Not a decayed sum (models/recurrences/decayed_sum.py): f is signed and may be 0, so no form takes
a log or divides by a product of gates.

Shapes, in the layout of every recurrence here: f, x (B, H, T, m); s0 = s_{-1} (m,), shared by the
batch and the heads, or None for zeros. Returns every state s (B, H, T, m).
"""

import torch


def gated_recurrence(f, x, s0=None):
    s = torch.zeros_like(x[:, :, 0]) if s0 is None else s0.expand_as(x[:, :, 0])
    states = []
    for f_t, x_t in zip(f.unbind(2), x.unbind(2)):
        s = torch.addcmul(x_t, f_t, s)
        states.append(s)
    return torch.stack(states, 2)
