"""The localized Recurrent-FFN family (spec §4.10): the Transformer baseline with each block's
GELU FFN replaced by a recurrent module F of u_t = LN₂(X_t), all projections bias-free:

    f_t = tanh(W_f u_t), i_t = σ(W_i u_t), c_t = silu(W_c u_t),  s_t = f_t ⊙ s_{t-1} + i_t ⊙ c_t
    Recurrent-FFN (plain)  y_t = W_o silu(s_t),               s_{-1} = 0
    Recurrent-FFN-Readout  y_t = W_o silu((W_q u_t) ⊙ s_t),   s_{-1} learned (init 0)
    Recurrent-FFN-Hybrid   the Readout recurrence at width R = ⌊m/2⌋, plus a local SwiGLU branch
                           W_dn Drop((W_up u_t) ⊙ silu(W_gt u_t)) of width Λ = m - R (A16)

F's closing Drop is the block's residual dropout (Block.drop), so F itself returns y.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.dropout import Dropout
from models.recurrences import gated
from models.setting_error import heads_divide, require
from models.transformer import Transformer


@dataclass
class RecurrentFFNConfig:
    vocab_size: int
    max_seq_len: int
    d_model: int
    n_layers: int
    n_heads: int
    state_size: int  # m: the state width, or the Hybrid's budget R + Λ
    readout: bool  # learned s_{-1} and the W_q readout gate
    local_branch: bool  # Hybrid: needs readout
    dropout: float = 0.1

    def __post_init__(self):
        heads_divide("d_model", self.d_model, self.n_heads)
        for key in ("readout", "local_branch"):
            require(isinstance(getattr(self, key), bool), key, getattr(self, key), "true or false")
        # the Hybrid is the Readout recurrence plus a local branch
        require(self.readout or not self.local_branch, "local_branch", self.local_branch, "false unless readout is true")


class RecurrentFFN(nn.Module):
    def __init__(self, cfg: RecurrentFFNConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        d, m = cfg.d_model, cfg.state_size
        width = m // 2 if cfg.local_branch else m  # R
        self.recurrence = gated.form(acceleration)
        self.n_in = 4 if cfg.readout else 3
        self.w_in = nn.Linear(d, self.n_in * width, bias=False)  # rows: W_f, W_i, W_c[, W_q]
        self.s0 = nn.Parameter(torch.zeros(width)) if cfg.readout else None  # spec §1.1 exception 2
        self.w_o = nn.Linear(width, d, bias=False)  # W_o, or W_ro in the Hybrid
        if cfg.local_branch:
            self.w_local = nn.Linear(d, 2 * (m - width), bias=False)  # rows: W_up, W_gt
            self.w_dn = nn.Linear(m - width, d, bias=False)
            self.drop = Dropout(cfg.dropout, acceleration)
        self.local_branch = cfg.local_branch

    def forward(self, u):  # (B, T, d) -> (B, T, d)
        f, i, c, *q = self.w_in(u).chunk(self.n_in, -1)  # each (B, T, R)
        # one head: the recurrence's layout is (B, H, T, R)
        s = self.recurrence.gated_recurrence(torch.tanh(f).unsqueeze(1), (torch.sigmoid(i) * F.silu(c)).unsqueeze(1),
                                             self.s0).squeeze(1)  # (B, T, R)
        y = self.w_o(F.silu(q[0] * s if q else s))
        if self.local_branch:
            up, gate = self.w_local(u).chunk(2, -1)  # each (B, T, Λ)
            y = y + self.w_dn(self.drop(up * F.silu(gate)))
        return y


class RecurrentFFNTransformer(Transformer):
    def __init__(self, cfg: RecurrentFFNConfig, acceleration: Acceleration = Acceleration()):
        super().__init__(cfg, make_ffn=lambda: RecurrentFFN(cfg, acceleration), acceleration=acceleration)
