"""The pair-memory recurrences (naive.py) on the decayed sum's Triton kernels (models/recurrences/
decayed_sum_triton.py), with naive.py's signatures; reads.py writes them on the primitive."""

from models.recurrences.decayed_sum_triton import decayed_sum_one_write
from models.recurrences.pair_memory.reads import pair_memories

running_state, dense_memory, slot_memory = pair_memories(decayed_sum_one_write)
