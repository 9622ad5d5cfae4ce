"""The auxiliary heads of the triple benchmark (spec §4.9, §5.2.4): three Lin(d→8,+b) maps that
predict the queried tag's value indices a, b, c from a model's representation.

They are built outside the models (not in the reported parameter totals) and keep the framework's
default linear init, U(−1/√d, 1/√d) for weight and bias (spec §1.1 exception 4): no init_normal.
"""

import torch
import torch.nn as nn


class AuxiliaryHeads(nn.Module):
    def __init__(self, d_model: int, n_values: int = 8):
        super().__init__()
        self.heads = nn.ModuleList(nn.Linear(d_model, n_values) for _ in "abc")

    def forward(self, rep):  # (B, d) -> logits (B, 3, n_values) for a, b, c
        return torch.stack([head(rep) for head in self.heads], dim=1)
