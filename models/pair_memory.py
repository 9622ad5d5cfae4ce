"""The recurrences of one generic triple-latent layer (spec §4.8), per head, with s_{-1} = 0 and
all memories 0 before the first token:

    running state   s_t = λ_t s_{t-1} + (1 - λ_t) a_t
    dense pair      P_t = γ_t P_{t-1} + (1 - γ_t) s_{t-1} b_tᵀ,  c_t = P_tᵀ ℓ_t
    slot memory     A_t^k = γ_t A_{t-1}^k + (1 - γ_t) g_t^k s_{t-1},
                    B_t^k = γ_t B_{t-1}^k + (1 - γ_t) g_t^k b_t,
                    score_t^k = (ℓ_t·A_t^k)(r_t·B_t^k)

Both memories write the *previous* running state. Each recurrence has two forms with one
signature, as in flash-linear-attention's naive.py files: the per-token loop (the definition) and
an exact chunked form; RECURRENCES maps the config's `recurrence` ("reference" | "fast") to them.

Shapes: a, b, ell (ℓ), r, s (B, H, T, S); lam (λ), gamma (γ) (B, H, T); g (B, H, T, K).
"""

from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F

from models.matrix_state import decay_matrix

# Chunk length of the fast forms: on CPU (one thread, batch 8, H = 4, S = 16, K = 8) 16 was the
# fastest of 4...512, or level with 8, at every T in 64...512, forward and backward; the full T×T
# form (chunk ≥ T) is 2-4x slower at T = 64 and 40-80x slower at T = 512.
CHUNK = 16


def _previous(s):  # (B, H, T, S) -> s_{t-1} at t, with s_{-1} = 0
    return F.pad(s, (0, 0, 1, 0))[:, :, :-1]


# --- reference: the definition, one Python iteration per token -----------------------------------

def running_state_reference(a, lam):
    s = torch.zeros_like(a[:, :, 0])
    states = []
    for a_t, lam_t in zip(a.unbind(2), lam.unsqueeze(-1).unbind(2)):
        s = lam_t * s + (1 - lam_t) * a_t
        states.append(s)
    return torch.stack(states, 2)


def dense_memory_reference(s, b, ell, gamma):
    B, H, T, S = s.shape
    pair = s.new_zeros(B, H, S, S)  # P[i, j] = Σ weight · s_{t-1, i} b_{t, j}
    s_prev = s.new_zeros(B, H, S)
    readouts = []
    for t in range(T):
        gamma_t = gamma[:, :, t, None, None]
        pair = gamma_t * pair + (1 - gamma_t) * s_prev.unsqueeze(-1) * b[:, :, t].unsqueeze(-2)
        readouts.append((pair * ell[:, :, t].unsqueeze(-1)).sum(-2))  # c[j] = Σ_i P[i, j] ℓ_i
        s_prev = s[:, :, t]
    return torch.stack(readouts, 2)  # (B, H, T, S)


def slot_memory_reference(s, b, ell, r, g, gamma):
    B, H, T, S = s.shape
    mem_a = s.new_zeros(B, H, g.size(-1), S)  # A^k, one row per slot
    mem_b = torch.zeros_like(mem_a)  # B^k
    s_prev = s.new_zeros(B, H, S)
    scores = []
    for t in range(T):
        gamma_t = gamma[:, :, t, None, None]
        write = (1 - gamma_t) * g[:, :, t].unsqueeze(-1)  # (B, H, K, 1)
        mem_a = gamma_t * mem_a + write * s_prev.unsqueeze(-2)
        mem_b = gamma_t * mem_b + write * b[:, :, t].unsqueeze(-2)
        scores.append((mem_a * ell[:, :, t].unsqueeze(-2)).sum(-1) * (mem_b * r[:, :, t].unsqueeze(-2)).sum(-1))
        s_prev = s[:, :, t]
    return torch.stack(scores, 2)  # (B, H, T, K)


# --- fast: exact chunked form ----------------------------------------------------------------------

def _decayed_sum(rho, k, q=None, v=None, chunk=CHUNK):
    """y_t = Σ_{j≤t} (Π_{j<u≤t} ρ_u)(1 - ρ_j) w_{t,j} k_j with w_{t,j} = q_t·v_j, or 1 without q, v.
    That is M_t q_t for the memory M_t = ρ_t M_{t-1} + (1 - ρ_t) k_t v_tᵀ (M_{-1} = 0), or, without
    q and v, the vector memory M_t = ρ_t M_{t-1} + (1 - ρ_t) k_t itself.

    Chunked: inside a chunk of C tokens the sum is a masked C×C product; the memory entering each
    chunk is the decayed sum of the chunks before it, which is the same recurrence one level up
    (N chunks, an N×N product), so there is no Python loop. O(T·C·(S + K)) time per head.
    rho (B, H, T); k (B, H, T, Dk); q, v (B, H, T, Dv) or None. Returns (B, H, T, Dk).
    """
    T = rho.size(-1)
    C = min(chunk, T)
    pad = -T % C
    if pad:  # ρ = 1 and k = 0 after the last token: the padding writes nothing and is cut off
        rho = F.pad(rho, (0, pad), value=1.0)
        k, q, v = (None if x is None else F.pad(x, (0, 0, 0, pad)) for x in (k, q, v))
    N = (T + pad) // C

    def chunks(x):  # (B, H, N·C, D) -> (B, H, N, C, D)
        return x.unflatten(2, (N, C))

    kc = chunks(k)
    log_rho = torch.log(rho.clamp_min(torch.finfo(rho.dtype).tiny)).unflatten(-1, (N, C))  # ρ = 0 stays finite
    weight = decay_matrix(log_rho) * (1 - rho.unflatten(-1, (N, C))).unsqueeze(-2)  # (B, H, N, C, C) [t, j]
    if q is not None:
        qc, vc = chunks(q), chunks(v)
        y = (weight * (qc @ vc.transpose(-1, -2))) @ kc
    else:
        y = weight @ kc
    if N == 1:
        return y.flatten(2, 3)[:, :, :T]

    own = weight[..., -1, :].unsqueeze(-1) * kc  # (B, H, N, C, Dk): each write, decayed to its chunk's end
    own = own.sum(-2) if q is None else own.transpose(-1, -2) @ vc  # chunk n's writes at its end
    # Memory at the end of chunk n: Σ_{m≤n} (Π_{m<p≤n} ρ over chunk p) own_m; chunk n starts from the end of n-1.
    ends = decay_matrix(log_rho.sum(-1)) @ own.flatten(3)  # (B, H, N, Dk) or (B, H, N, Dk·Dv)
    starts = F.pad(ends, (0, 0, 1, 0))[:, :, :-1].unflatten(-1, own.shape[3:])
    # Π_{chunk start ≤ u ≤ t} ρ_u, kept above e^-80 like decay_matrix, out of exp's slow denormal range
    carry = log_rho.cumsum(-1).clamp_min(-80.0).exp().unsqueeze(-1)  # (B, H, N, C, 1)
    y = y + carry * (starts.unsqueeze(-2) if q is None else qc @ starts.transpose(-1, -2))
    return y.flatten(2, 3)[:, :, :T]


def running_state_chunked(a, lam):
    return _decayed_sum(lam, a)


def dense_memory_chunked(s, b, ell, gamma):
    # c_t = Σ_{j≤t} (Π_{j<u≤t} γ_u)(1 - γ_j)(ℓ_t·s_{j-1}) b_j
    return _decayed_sum(gamma, b, ell, _previous(s))


def slot_memory_chunked(s, b, ell, r, g, gamma):
    # ℓ_t·A_t^k = Σ_{j≤t} (Π_{j<u≤t} γ_u)(1 - γ_j)(ℓ_t·s_{j-1}) g_j^k, and r_t·B_t^k likewise with b_j
    return _decayed_sum(gamma, g, ell, _previous(s)) * _decayed_sum(gamma, g, r, b)


class Recurrences(NamedTuple):
    running_state: Callable
    dense_memory: Callable
    slot_memory: Callable


RECURRENCES = {
    "reference": Recurrences(running_state_reference, dense_memory_reference, slot_memory_reference),
    "fast": Recurrences(running_state_chunked, dense_memory_chunked, slot_memory_chunked),
}
