"""The pair-memory recurrences (naive.py) on the shared chunked decayed sum (models/recurrences/
decayed_sum.py), with naive.py's signatures; reads.py writes them on the primitive."""

from models.recurrences.decayed_sum import decayed_sum
from models.recurrences.pair_memory.reads import pair_memories

running_state, dense_memory, slot_memory = pair_memories(
    lambda q, k, v, w, log_rho: decayed_sum(q, [(w, k, v)], log_rho)[0])
