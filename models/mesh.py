"""Memory-as-State-Highways (MeSH; Yu et al., 2025, arXiv 2510.07739, Sec. 3.2): how a shared-depth
model passes its hidden state from one depth step to the next, used by every such family
(models/universal_transformer.py, models/unimatrix.py) in place of "the next step reads this step's
output".

A buffer of M slots per token, each the size of the hidden state: slot 0 holds the embeddings, the
others start at zero. At depth step n, two routers of that step read the state h entering the step,
per token: write weights w = softmax(W_n h + b_n) and read weights r = softmax(R_n h + c_n) over the
slots. The step's output y is added into every slot b in proportion w_b, and the next step's input
is the mixture Σ_b r_b m_b of the updated buffer; the last step's read is the state the model's
readout sees. The routers look at one token's state only, so MeSH keeps a causal model causal.

With M = K + 1 slots and one-hot routers (step n writes slot n + 1 and reads it) the buffer passes
y on unchanged: the base model. With one slot the buffer is h + y, a residual between steps.

Cost: 2·K·(d + 1)·M parameters (K write and K read routers of d → M), and per token and step two
d × M products and a buffer of M·d numbers.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


class MeSH(nn.Module):
    def __init__(self, d: int, slots: int, steps: int):
        super().__init__()
        self.slots = slots
        self.write = nn.ModuleList(nn.Linear(d, slots) for _ in range(steps))
        self.read = nn.ModuleList(nn.Linear(d, slots) for _ in range(steps))

    def forward(self, step: int, h: torch.Tensor, y: torch.Tensor, memory: torch.Tensor | None = None):
        """h: the state entering depth step `step` (B, T, d), the embeddings at step 0; y: the step's
        output (B, T, d); memory: the buffer (B, T, M, d) after the previous step, None at step 0.
        Returns (the next step's input (B, T, d), the buffer)."""
        if memory is None:
            memory = F.pad(h.unsqueeze(-2), (0, 0, 0, self.slots - 1))  # slot 0: the embeddings; the rest zero
        write = F.softmax(self.write[step](h), dim=-1)  # (B, T, M)
        read = F.softmax(self.read[step](h), dim=-1)
        memory = memory + write.unsqueeze(-1) * y.unsqueeze(-2)
        return (read.unsqueeze(-2) @ memory).squeeze(-2), memory
