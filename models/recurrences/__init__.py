"""The recurrences of the models, one folder per operation: naive.py (the per-token definition),
chunk.py (the exact PyTorch chunked form) and, where there is one, triton.py (the CUDA kernel),
each with one signature; the folder's __init__ picks the form from the run's Acceleration record.

One layout for all of them, (B, H, T, D): the models' projections split into heads there, and each
head's recurrence then runs over the contiguous tokens of a (T, D) slice. The matrix state, the
pair memories and the SSD are one algorithm, the chunked decayed sum of decayed_sum.py; the gated
recurrence (elementwise, signed gates) is its own.
"""
