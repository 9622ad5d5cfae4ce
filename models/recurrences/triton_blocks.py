"""Triton helpers shared by the recurrences' kernels (decayed_sum_triton.py, matrix_state/triton.py),
so that every kernel multiplies and decays as models/recurrences/decayed_sum.py does."""

import triton
import triton.language as tl

from models.recurrences.decayed_sum import LOG_FLOOR

_FLOOR = tl.constexpr(LOG_FLOOR)  # a jit function reads module constants only as constexpr


@triton.jit
def dot(a, b):  # float32 products in float32 (Triton would take TF32 tensor cores: ~1e-3 error)
    return tl.dot(a, b, input_precision="ieee")


@triton.jit
def clamped_exp(exponent):  # exp of an exponent clamped to [LOG_FLOOR, 0], as in decay_matrix, in float32
    return tl.exp(tl.minimum(tl.maximum(exponent, _FLOOR), 0.0).to(tl.float32))


@triton.jit
def decay(later, earlier, keep):  # exp(later - earlier) where keep, else 0; exponent clamped as in decay_matrix
    return tl.where(keep, clamped_exp(later - earlier), 0.0)
