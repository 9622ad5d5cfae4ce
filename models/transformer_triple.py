"""Transformer-Triple (spec §4.9): the attention baseline of the triple-interaction benchmark.

A pre-LN encoder with bidirectional attention that classifies a whole sequence into 16 classes
from its last position. 107,664 parameters at the paper's settings (V = 53, P = 49, d = 64,
2 layers, 16 classes; §4.12.4).
"""

from dataclasses import dataclass

import torch.nn as nn

from models.layers import TokenPositionEmbedding, init_normal
from models.transformer import Block


@dataclass
class TransformerTripleConfig:
    vocab_size: int
    max_seq_len: int
    n_classes: int
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    dropout: float = 0.1


class TransformerTriple(nn.Module):
    def __init__(self, cfg: TransformerTripleConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = TokenPositionEmbedding(cfg.vocab_size, cfg.max_seq_len, cfg.d_model, cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg, causal=False) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.n_classes)
        self.apply(init_normal)

    def forward(self, idx):  # (B, T) -> logits (B, n_classes), rep (B, d) for the auxiliary heads
        x = self.embed(idx)  # positions 0..T-1 of the table; T = 43 or 49
        for block in self.blocks:
            x = block(x)
        rep = self.ln_f(x[:, -1])
        return self.head(rep), rep
