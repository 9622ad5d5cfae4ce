"""The matrix state (naive.py) in chunks, for the writes that are linear in the state. Unrolled,
S_t = (Π_{u≤t} ρ_u) S0 + Σ_{s≤t} (Π_{s<u≤t} ρ_u)(1 - ρ_s) U_s, and (1 - ρ_s) U_s = a k vᵀ + b v kᵀ
+ c Diag(δ) (writes.write_weights), so r_t is the shared decayed sum (models/recurrences/
decayed_sum.py) of the rank-one writes a_s k_s v_sᵀ and b_s v_s k_sᵀ and the diagonal c_s Diag(δ_s).
With the Frobenius guard, which is not linear in the state, the fast form on the CPU is the
per-token loop with its own backward (guarded_loop.py). Signature and shapes as in naive.py."""

from models.recurrences.decayed_sum import decayed_sum, log_retention
from models.recurrences.matrix_state.guarded_loop import guarded_state_loop
from models.recurrences.matrix_state.writes import check, write_factors, write_weights


def matrix_state(q, k, v, rho, state0, *, delta=None, mix=None, frobenius_guard=False):
    check(delta, mix)
    if frobenius_guard:
        return guarded_state_loop(*write_factors(k, v, rho, delta, mix), rho, q, state0)
    a, b, c = write_weights(rho, mix)
    if mix is None:
        return decayed_sum(q, [(a, v, k)], log_retention(rho), state0)
    return decayed_sum(q, [(a, v, k), (b, k, v)], log_retention(rho), state0, diagonal=(c, delta))
