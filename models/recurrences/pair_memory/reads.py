"""The three pair memories (naive.py) written on one single-write decayed sum, so that chunk.py and
triton.py differ only in which form of the primitive computes it. Each is S_t = ρ_t S_{t-1} +
(1 - ρ_t) v_t k_tᵀ read as S_t q_t: the running state with k = q = 1 (a vector memory), the dense
pair memory with q = ℓ, k = s_{t-1}, v = b, and each factor of a slot score with q = ℓ or r,
k = s_{t-1} or b, v = g."""

import torch.nn.functional as F

from models.recurrences.decayed_sum import log_retention


def _previous(s):  # (B, H, T, S) -> s_{t-1} at t, with s_{-1} = 0
    return F.pad(s, (0, 0, 1, 0))[:, :, :-1]


def pair_memories(one_write):
    """running_state, dense_memory and slot_memory with naive.py's signatures, on
    one_write(q, k, v, w, log ρ) = Σ_{s≤t} (Π_{s<u≤t} ρ_u) w_s (q_t·k_s) v_s."""

    def memory_read(rho, q, k, v):  # Σ_{j≤t} (Π_{j<u≤t} ρ_u)(1 - ρ_j)(q_t·k_j) v_j
        return one_write(q, k, v, 1 - rho, log_retention(rho))

    def running_state(a, lam):
        unit = a.new_ones(1, 1, a.size(2), 1)
        return memory_read(lam, unit, unit, a)

    def dense_memory(s, b, ell, gamma):
        return memory_read(gamma, ell, _previous(s), b)

    def slot_memory(s, b, ell, r, g, gamma):
        # (ℓ_t·A_t^k)(r_t·B_t^k), each a decayed sum of the slot weights g^k
        return memory_read(gamma, ell, _previous(s), g) * memory_read(gamma, r, b, g)

    return running_state, dense_memory, slot_memory
