"""The gated recurrence (naive.py) as an exact chunked scan with its own backward; naive.py's
signature. Each (batch, head) row is one independent sequence, so the scan runs on them flattened
to (B·H, T, m)."""

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

# Chunk length of the scan: on CPU (one thread, B = 16, m = 64 and 128, T = 64...256, forward
# and backward) 8 was the fastest of 4...32 or level with 16 within run-to-run noise.
CHUNK = 8


def _scan(f, x, s0=None, chunk=CHUNK):
    """s_t = f_t s_{t-1} + x_t, in place and outside autograd.

    All chunks of C tokens advance together, each from a zero state (the first from s0), in C steps
    of one (B, N, m) update, keeping the running product of their gates; then each chunk adds its
    entry state times that product, one chunk after another (N steps). C + N small steps, not T.
    """
    B, T, m = x.shape
    C = min(chunk, T)
    pad = -T % C
    if pad:  # tokens after the last one; cut off at the end
        f, x = F.pad(f, (0, 0, 0, pad)), F.pad(x, (0, 0, 0, pad))
    N = (T + pad) // C
    f, x = f.reshape(B, N, C, m), x.reshape(B, N, C, m)
    s, gain = torch.empty_like(x), torch.empty_like(f)  # gain[:, n, c] = f at chunk n's tokens 0..c, multiplied
    s[:, :, 0], gain[:, :, 0] = x[:, :, 0], f[:, :, 0]
    if s0 is not None:
        s[:, 0, 0].addcmul_(f[:, 0, 0], s0)
    for c in range(1, C):
        torch.addcmul(x[:, :, c], f[:, :, c], s[:, :, c - 1], out=s[:, :, c])
        torch.mul(gain[:, :, c - 1], f[:, :, c], out=gain[:, :, c])
    for n in range(1, N):
        s[:, n].addcmul_(gain[:, n], s[:, n - 1, -1:])
    return s.reshape(B, N * C, m)[:, :T]


class _ChunkedScan(torch.autograd.Function):
    """The gradient of a linear recurrence is the same recurrence run backwards:
    ds_t = g_t + f_{t+1} ds_{t+1}, then dx_t = ds_t, df_t = ds_t s_{t-1} and ds0 = Σ_batch f_0 ds_0."""

    @staticmethod
    def forward(ctx, f, x, s0):
        s = _scan(f, x, s0)
        ctx.save_for_backward(f, s, s0)
        return s

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        f, s, s0 = ctx.saved_tensors
        # Reversed, token t's gate is f_{t+1}; f_0, rolled to the end, meets the zero state before the first.
        ds = _scan(f.roll(-1, 1).flip(1), g.flip(1)).flip(1)
        df = ds * s.roll(1, 1)
        if s0 is None:
            df[:, 0] = 0
            return df, ds, None
        df[:, 0] = ds[:, 0] * s0
        return df, ds, (f[:, 0] * ds[:, 0]).sum(0)


def gated_recurrence(f, x, s0=None):
    B, H, T, m = x.shape
    s = _ChunkedScan.apply(f.reshape(B * H, T, m), x.reshape(B * H, T, m), s0)
    return s.view(B, H, T, m)
