"""Building blocks shared by the model families (spec §1, §4.1)."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.dropout import Dropout, attention


def init_normal(module: nn.Module) -> None:
    """Spec §1.1: dense weights and embedding tables N(0, 0.02²), biases 0 (use with Module.apply)."""
    if isinstance(module, (nn.Linear, nn.Embedding)):
        nn.init.normal_(module.weight, mean=0.0, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


class FFN(nn.Module):
    """GELU MLP with biases: W₂ Drop(GELU(W₁ z + b₁)) + b₂, hidden 4d; 8d² + 5d parameters."""

    def __init__(self, d: int, dropout: float, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        self.drop = Dropout(dropout, acceleration)

    def forward(self, z):
        return self.proj(self.drop(F.gelu(self.fc(z))))


class SelfAttention(nn.Module):
    """Multi-head self-attention with a fused q/k/v in-projection; causal unless `causal=False`
    (the bidirectional encoder of Transformer-Triple, spec §4.9).

    The in-projection is a bare Parameter, not an nn.Linear, so that `init_normal` leaves it at
    the Xavier-uniform init of torch's MultiheadAttention (spec §1.1 exception 1, D6); the output
    projection is an nn.Linear and gets N(0, 0.02²).
    """

    def __init__(self, d: int, n_heads: int, dropout: float, causal: bool = True,
                 acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.n_heads = n_heads  # dividing d: the families' settings check it (models/setting_error.py)
        self.dropout = dropout
        self.causal = causal
        self.numpy_masks = acceleration.numpy_dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d, d))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d))
        nn.init.xavier_uniform_(self.in_proj_weight)
        self.out_proj = nn.Linear(d, d)

    def forward(self, x):
        B, T, d = x.shape
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # (B, T, 3d)
        q, k, v = qkv.view(B, T, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)  # 3 × (B, H, T, d/H)
        y = attention(q, k, v, self.causal, self.dropout if self.training else 0.0, self.numpy_masks)
        return self.out_proj(y.transpose(1, 2).reshape(B, T, d))


class TokenPositionEmbedding(nn.Module):
    """Input embedding Drop(E[x_t] + Pos[t]) and the tied output head logits_t = E h_t; a model that
    adds the positions at every depth step (the Universal Transformer) takes the two tables apart."""

    def __init__(self, vocab_size: int, max_seq_len: int, d: int, dropout: float,
                 acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.tok = nn.Embedding(vocab_size, d)
        self.pos = nn.Embedding(max_seq_len, d)
        self.drop = Dropout(dropout, acceleration)

    def forward(self, idx):  # (B, T) -> (B, T, d)
        return self.drop(self.tok(idx) + self.positions(idx.size(1)))

    def tokens(self, idx):  # (B, T) -> Drop(E[x_t]) (B, T, d), for a model that adds the positions at every step
        return self.drop(self.tok(idx))

    def positions(self, T: int):  # -> Pos[0 .. T-1] (T, d)
        if T > self.pos.num_embeddings:
            raise ValueError(f"sequence length {T} exceeds max_seq_len={self.pos.num_embeddings}")
        return self.pos.weight[:T]

    def logits(self, h):  # (B, T, d) -> (B, T, V)
        return F.linear(h, self.tok.weight)
