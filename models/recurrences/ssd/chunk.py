"""The SSD (naive.py) as the shared chunked decayed sum (models/recurrences/decayed_sum.py), which
is the paper's own chunked algorithm (its Listing 1): log ρ = dt·A, weight w = dt, q = C, k = B,
v = x. Signature and shapes as in naive.py."""

from models.recurrences.decayed_sum import decayed_sum


def ssd(x, dt, A, B, C):
    return decayed_sum(C, [(dt, B, x)], dt * A[:, None])[0]
