"""Transformer-Triple (spec §4.9): the attention baseline of the triple-interaction benchmark.

A pre-LN encoder with bidirectional attention that classifies a whole sequence into 16 classes
from its last position. 107,664 parameters at the paper's settings (V = 53, P = 49, d = 64,
2 layers, 16 classes; §4.12.4).
"""

from dataclasses import dataclass

import torch.nn as nn

from models.acceleration import Acceleration
from models.setting_error import heads_divide
from models.transformer import Transformer


@dataclass
class TransformerTripleConfig:
    vocab_size: int
    max_seq_len: int
    n_classes: int
    d_model: int
    n_layers: int
    n_heads: int
    dropout: float = 0.1

    def __post_init__(self):
        heads_divide("d_model", self.d_model, self.n_heads)


class TransformerTriple(Transformer):
    def __init__(self, cfg: TransformerTripleConfig, acceleration: Acceleration = Acceleration()):
        super().__init__(cfg, causal=False, make_head=lambda: nn.Linear(cfg.d_model, cfg.n_classes),
                         acceleration=acceleration)

    def forward(self, idx):  # (B, T) -> logits (B, n_classes), rep (B, d) for the auxiliary heads
        rep = self.ln_f(self.hidden(idx)[:, -1])  # positions 0..T-1 of the table; T = 43 or 49
        return self.head(rep), rep
