"""Dropout, and attention with dropout on its weights, whose CPU masks are drawn fast.

On the CPU, torch draws a dropout mask with `bernoulli_`, one Mersenne-Twister double per element
in one thread, slow enough to be half of a small model's training step
(benchmarks/measured/PERFORMANCE.md). Here a CPU mask comes from NumPy's PCG64 instead (float32
uniforms, about three times faster per element), seeded by one draw from
torch's default generator, so the run seed still decides every mask and the same seed gives the
same masks. An element is kept where its uniform u ≥ p, and the kept ones are scaled by 1/(1 − p),
as torch's dropout does. The run's Acceleration record switches these masks on (the runtime does
for CPU runs); off, as in a model built with its defaults, torch's own dropout runs.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration


def keep_mask(shape: torch.Size, p: float, dtype: torch.dtype) -> torch.Tensor:
    """A CPU tensor of `shape`: 1/(1 − p) with probability 1 − p, else 0."""
    seed = int(torch.empty((), dtype=torch.int64).random_())
    mask = np.random.Generator(np.random.PCG64(seed)).random(math.prod(shape), dtype=np.float32)
    np.multiply(mask >= np.float32(p), np.float32(1.0 / (1.0 - p)), out=mask)  # in place: one buffer
    return torch.from_numpy(mask).view(shape).to(dtype)


def dropout(x: torch.Tensor, p: float, training: bool, numpy_masks: bool = False) -> torch.Tensor:
    if not training or p == 0.0:
        return x
    if not numpy_masks or p == 1.0:
        return F.dropout(x, p, training)
    return x * keep_mask(x.shape, p, x.dtype)


class Dropout(nn.Module):
    """nn.Dropout, with NumPy's masks where the run's Acceleration record asks for them."""

    def __init__(self, p: float, acceleration: Acceleration = Acceleration()):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability {p!r}: must be between 0 and 1")
        self.p = p
        self.numpy_masks = acceleration.numpy_dropout

    def forward(self, x):
        return dropout(x, self.p, self.training, self.numpy_masks)

    def extra_repr(self) -> str:
        return f"p={self.p}, numpy_masks={self.numpy_masks}"


def attention(q, k, v, causal: bool, dropout_p: float, numpy_masks: bool = False):
    """F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=dropout_p); with dropout
    and NumPy's masks, its math written out with our dropout on the weights (softmax, drop, then · V)."""
    if dropout_p == 0.0 or not numpy_masks:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=dropout_p)
    *batch, T, head_dim = q.shape
    S = k.size(-2)
    bias = torch.zeros(T, S, dtype=q.dtype)
    if causal:
        bias.fill_(float("-inf")).triu_(1)  # -inf above the diagonal: the future
    scores = torch.baddbmm(bias, q.reshape(-1, T, head_dim), k.reshape(-1, S, head_dim).transpose(1, 2),
                           alpha=head_dim ** -0.5)
    weights = dropout(torch.softmax(scores, dim=-1), dropout_p, True, numpy_masks)
    return (weights @ v.reshape(-1, S, v.size(-1))).view(*batch, T, v.size(-1))
