"""The paper's Transformer baseline (spec §4.1): pre-LN causal decoder, GELU FFN, tied head."""

from collections.abc import Callable
from dataclasses import dataclass

import torch.nn as nn

from models.acceleration import Acceleration
from models.dropout import Dropout
from models.layers import FFN, SelfAttention, TokenPositionEmbedding, init_normal
from models.setting_error import heads_divide


@dataclass
class TransformerConfig:
    vocab_size: int
    max_seq_len: int
    d_model: int
    n_layers: int
    n_heads: int
    dropout: float = 0.1

    def __post_init__(self):
        heads_divide("d_model", self.d_model, self.n_heads)


class Block(nn.Module):
    """Pre-LN block; `causal=False` makes it an encoder block (Transformer-Triple, spec §4.9), and
    `ffn` replaces the GELU FFN (the Recurrent-FFN family, spec §4.10).
    cfg: any config with d_model, n_heads and dropout."""

    def __init__(self, cfg, causal: bool = True, ffn: nn.Module | None = None,
                 acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.d_model)
        self.attn = SelfAttention(cfg.d_model, cfg.n_heads, cfg.dropout, causal=causal, acceleration=acceleration)
        self.ln_2 = nn.LayerNorm(cfg.d_model)
        self.ffn = FFN(cfg.d_model, cfg.dropout, acceleration) if ffn is None else ffn
        self.drop = Dropout(cfg.dropout, acceleration)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.drop(self.ffn(self.ln_2(x)))


class Transformer(nn.Module):
    """`make_ffn()`, if given, builds each block's FFN in place of the GELU FFN; `causal=False` makes
    the blocks bidirectional; `make_head()`, if given, adds `self.head` before initialisation (so the
    random-number order is that of a model built in one piece)."""

    def __init__(self, cfg, make_ffn: Callable[[], nn.Module] | None = None, causal: bool = True,
                 make_head: Callable[[], nn.Module] | None = None, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.cfg = cfg
        self.embed = TokenPositionEmbedding(cfg.vocab_size, cfg.max_seq_len, cfg.d_model, cfg.dropout, acceleration)
        self.blocks = nn.ModuleList(Block(cfg, causal=causal, ffn=None if make_ffn is None else make_ffn(),
                                          acceleration=acceleration)
                                    for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        if make_head is not None:
            self.head = make_head()
        self.apply(init_normal)

    def hidden(self, idx):  # (B, T) -> the last block's output (B, T, d), before LN_f
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        return x

    def forward(self, idx):  # (B, T) -> (B, T, V)
        return self.embed.logits(self.ln_f(self.hidden(idx)))
