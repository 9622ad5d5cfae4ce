"""The matrix state's write (1 - ρ_t) U_t (spec §4.2 steps 3-4), which does not depend on the state:
every form takes it from here, as a whole matrix, as factors, or as per-token weights.

    U_t = k_t v_tᵀ                                   (outer-product write), or with RuleMix
    U_t = π1 k_t v_tᵀ + π2 Diag(δ_t) + π3 ½(k_t v_tᵀ + v_t k_tᵀ)

Shapes: k, v, delta (B, H, T, S); rho (B, H, T); mix (B, H, T, 3) = (π1, π2, π3), None means
outer-product writes only.
"""

import torch


def write_weights(rho, mix):
    """(1 - ρ) U = a k vᵀ + b v kᵀ + c Diag(δ), since π1 O + π2 D + π3 ½(O + Oᵀ) has these
    coefficients: a = (1 - ρ)(π1 + ½π3), b = (1 - ρ) ½π3, c = (1 - ρ) π2. b, c are None without
    RuleMix. Shapes (B, H, T)."""
    gain = 1 - rho
    if mix is None:
        return gain, None, None
    p1, p2, p3 = mix.unbind(-1)
    return gain * (p1 + 0.5 * p3), gain * 0.5 * p3, gain * p2


def state_writes(k, v, rho, delta, mix):
    """(1 - ρ_t) U_t for all t at once (B, H, T, S, S)."""
    a, b, c = write_weights(rho, mix)
    writes = (a.unsqueeze(-1) * k).unsqueeze(-1) * v.unsqueeze(-2)  # [i, j] = a k_i v_j
    if mix is not None:
        writes = writes + (b.unsqueeze(-1) * v).unsqueeze(-1) * k.unsqueeze(-2)
        writes = writes + torch.diag_embed(c.unsqueeze(-1) * delta)
    return writes


def write_factors(k, v, rho, delta, mix):
    """(1 - ρ_t) U_t as factors: Σ_r left_{t,r} right_{t,r}ᵀ + Diag(diag_t), left and right
    (B, H, T, R, S), diag (B, H, T, S) or None; R = 1 without RuleMix, 2 with it (a k vᵀ + b v kᵀ)."""
    a, b, c = write_weights(rho, mix)
    if mix is None:
        return (a.unsqueeze(-1) * k).unsqueeze(-2), v.unsqueeze(-2), None
    left = torch.stack([a.unsqueeze(-1) * k, b.unsqueeze(-1) * v], -2)
    return left, torch.stack([v, k], -2), c.unsqueeze(-1) * delta


def check(delta, mix):
    if mix is not None and delta is None:
        raise ValueError("RuleMix writes (mix) need the diagonal write delta")
