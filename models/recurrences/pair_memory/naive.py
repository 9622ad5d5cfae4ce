"""The recurrences of one generic triple-latent layer (spec §4.8), per head, with s_{-1} = 0 and
all memories 0 before the first token:

    running state   s_t = λ_t s_{t-1} + (1 - λ_t) a_t
    dense pair      P_t = γ_t P_{t-1} + (1 - γ_t) s_{t-1} b_tᵀ,  c_t = P_tᵀ ℓ_t
    slot memory     A_t^k = γ_t A_{t-1}^k + (1 - γ_t) g_t^k s_{t-1},
                    B_t^k = γ_t B_{t-1}^k + (1 - γ_t) g_t^k b_t,
                    score_t^k = (ℓ_t·A_t^k)(r_t·B_t^k)

Both memories write the *previous* running state. Here each is its per-token definition; chunk.py
has the same three with the same signatures.

Shapes: a, b, ell (ℓ), r, s (B, H, T, S); lam (λ), gamma (γ) (B, H, T); g (B, H, T, K).
"""

import torch


def running_state(a, lam):
    s = torch.zeros_like(a[:, :, 0])
    states = []
    for a_t, lam_t in zip(a.unbind(2), lam.unsqueeze(-1).unbind(2)):
        s = lam_t * s + (1 - lam_t) * a_t
        states.append(s)
    return torch.stack(states, 2)


def dense_memory(s, b, ell, gamma):
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


def slot_memory(s, b, ell, r, g, gamma):
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
