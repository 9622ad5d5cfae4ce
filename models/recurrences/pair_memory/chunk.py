"""The pair-memory recurrences (naive.py) as the shared chunked decayed sum (models/recurrences/
decayed_sum.py), with naive.py's signatures. Each is S_t = ρ_t S_{t-1} + (1 - ρ_t) v_t k_tᵀ read
as S_t q_t: the running state with k = q = 1 (a vector memory), the dense pair memory with
q = ℓ, k = s_{t-1}, v = b, and each factor of a slot score with q = ℓ or r, k = s_{t-1} or b, v = g."""

import torch.nn.functional as F

from models.recurrences.decayed_sum import decayed_sum, log_retention


def _previous(s):  # (B, H, T, S) -> s_{t-1} at t, with s_{-1} = 0
    return F.pad(s, (0, 0, 1, 0))[:, :, :-1]


def _memory_read(rho, q, k, v):  # Σ_{j≤t} (Π_{j<u≤t} ρ_u)(1 - ρ_j)(q_t·k_j) v_j
    return decayed_sum(q, [(1 - rho, k, v)], log_retention(rho))[0]


def running_state(a, lam):
    unit = a.new_ones(1, 1, a.size(2), 1)
    return _memory_read(lam, unit, unit, a)


def dense_memory(s, b, ell, gamma):
    return _memory_read(gamma, ell, _previous(s), b)


def slot_memory(s, b, ell, r, g, gamma):
    # (ℓ_t·A_t^k)(r_t·B_t^k), each a decayed sum of the slot weights g^k
    return _memory_read(gamma, ell, _previous(s), g) * _memory_read(gamma, r, b, g)
