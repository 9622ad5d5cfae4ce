"""The SSD recurrence of Mamba-2 (Dao & Gu 2024, "Transformers are SSMs"), per head h, with a
scalar decay per head and token and h_{-1} = 0:

    h_t = exp(dt_t A) h_{t-1} + dt_t x_t B_tᵀ        (h_t: P×N)
    y_t = h_t C_t

B and C are shared by all heads (one group, as in Mamba-2's default). Two forms with one
signature, as in flash-linear-attention's naive.py files: the per-token loop (the definition) and
the exact chunked SSD algorithm of the paper (its Listing 1, "ssd_minimal"), whose only extra
argument is the chunk length. The D skip is not part of the recurrence.

Shapes: x (b, T, H, P); dt (b, T, H), > 0; A (H,), < 0; B, C (b, T, N). Returns y (b, T, H, P).
"""

import torch
import torch.nn.functional as F

# Chunk length of the fast form (Mamba2Config.chunk sets it). On CPU (one thread, b = 8, H = 4,
# P = 32, N = 16, forward + backward) 16 was level with 32 and faster than 8 or 64 at T = 64 and 512.
CHUNK = 16


def ssd_reference(x, dt, A, B, C):
    b, T, H, P = x.shape
    h = x.new_zeros(b, H, P, B.size(-1))
    ys = []
    for t in range(T):
        decay = torch.exp(dt[:, t] * A)[..., None, None]  # (b, H, 1, 1)
        write = (dt[:, t, :, None] * x[:, t]).unsqueeze(-1) * B[:, t, None, None, :]  # (b, H, P, N)
        h = decay * h + write
        ys.append((h * C[:, t, None, None, :]).sum(-1))
    return torch.stack(ys, 1)


def segsum(a):  # (..., L) -> (..., L, L), [t, s] = a_{s+1} + ... + a_t for s ≤ t, -inf above
    """Sums of the segments (s, t], taken as a masked cumulative sum rather than as differences of
    one cumulative sum, which would cancel catastrophically once the sums are large."""
    L = a.size(-1)
    ones = torch.ones(L, L, dtype=torch.bool, device=a.device)
    sums = a.unsqueeze(-1).expand(*a.shape, L).masked_fill(~ones.tril(-1), 0.0).cumsum(-2)  # [t, s]: a_t
    return sums.masked_fill(~ones.tril(), -torch.inf)


def ssd_chunked(x, dt, A, B, C, chunk=CHUNK):
    """Chunks of `chunk` tokens: inside a chunk the output is a masked (C Bᵀ ⊙ decay) product; the
    state entering each chunk is the decayed sum of the chunk states before it, itself a masked
    product one level up (a c×c decay matrix over the c chunks), so there is no Python loop.
    Zero padding at the end (dt = 0: no decay, no write) is cut off again."""
    b, T, H, P = x.shape
    pad = -T % chunk
    x, dt, B, C = (F.pad(v, (0,) * (2 * v.dim() - 4) + (0, pad)) for v in (x, dt, B, C))
    c = (T + pad) // chunk
    X = (x * dt.unsqueeze(-1)).unflatten(1, (c, chunk)).permute(0, 3, 1, 2, 4)  # (b, H, c, l, P)
    Bc, Cc = B.unflatten(1, (c, chunk)).unsqueeze(1), C.unflatten(1, (c, chunk)).unsqueeze(1)  # (b, 1, c, l, N)
    a = (dt * A).unflatten(1, (c, chunk)).permute(0, 3, 1, 2)  # (b, H, c, l): log-decay per token
    a_cum = a.cumsum(-1)

    # 1. within each chunk: y_t = Σ_{s≤t in the chunk} (C_t·B_s) exp(a_{s+1} + ... + a_t) dt_s x_s
    y = ((Cc @ Bc.transpose(-1, -2)) * segsum(a).exp()) @ X
    # 2. each chunk's own writes, decayed to its end: (b, H, c, P, N)
    states = (X * (a_cum[..., -1:] - a_cum).exp().unsqueeze(-1)).transpose(-1, -2) @ Bc
    # 3. state at the end of chunk z = Σ_{k≤z} exp(a summed over chunks k+1 ... z) states_k;
    #    chunk z starts from the end of chunk z-1 (chunk 0 from zero)
    ends = (segsum(a_cum[..., -1]).exp() @ states.flatten(-2)).unflatten(-1, (P, -1))  # (b, H, c, P, N)
    entering = F.pad(ends, (0, 0, 0, 0, 1, 0))[:, :, :-1]
    # 4. its contribution at each token: exp(a_1 + ... + a_t within the chunk) C_t·h_entering
    y = y + a_cum.exp().unsqueeze(-1) * (Cc @ entering.transpose(-1, -2))
    return y.permute(0, 2, 3, 1, 4).flatten(1, 2)[:, :T]

