"""Mamba-2 language model (Dao & Gu 2024, "Transformers are SSMs"), the external baseline of the
synthetic seq-64 pilot (spec §4.11), written from the paper in plain PyTorch.

Token embedding (no position table) + dropout; L pre-norm blocks x ← x + Drop(Mixer(RMSNorm x));
final RMSNorm; head tied to the embedding. RMSNorm throughout, as in the reference implementation
(mamba_ssm). The mixer, per token (d_inner = expand·d, H heads of P = d_inner/H channels):

    z, xBC, dt = in_proj(u)                         (d_inner, d_inner + 2N, H)
    x, B, C    = silu(causal depthwise conv_K(xBC))  (one group: B, C shared by all heads)
    dt         = softplus(dt + dt_bias),  A = -exp(A_log)   (one scalar per head)
    y          = SSD(x, dt, A, B, C) + D ⊙ x         (models/recurrences/ssd)
    out        = out_proj(RMSNorm(y ⊙ silu(z)))

Initialisation as in mamba_ssm: A = -U[1, 16], dt_bias = softplus⁻¹(dt) for dt log-uniform in
[0.001, 0.1], D = 1, embedding N(0, 0.02²), linear layers torch's default with out_proj scaled
by 1/√L, conv torch's default.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.dropout import Dropout
from models.recurrences import ssd
from models.setting_error import heads_divide

DT_MIN, DT_MAX = 1e-3, 1e-1


@dataclass
class Mamba2Config:
    vocab_size: int
    d_model: int
    n_layers: int
    n_heads: int
    d_state: int  # N
    expand: int
    conv_kernel: int
    dropout: float = 0.0

    def __post_init__(self):
        heads_divide("expand·d_model", self.expand * self.d_model, self.n_heads)


class Mixer(nn.Module):
    def __init__(self, cfg: Mamba2Config, acceleration: Acceleration = Acceleration()):
        super().__init__()
        d_inner, N, H = cfg.expand * cfg.d_model, cfg.d_state, cfg.n_heads
        self.n_heads, self.d_state = H, N
        conv_dim = d_inner + 2 * N
        self.in_proj = nn.Linear(cfg.d_model, d_inner + conv_dim + H, bias=False)
        self.conv = nn.Conv1d(conv_dim, conv_dim, cfg.conv_kernel, groups=conv_dim, padding=cfg.conv_kernel - 1)
        dt = torch.exp(torch.rand(H) * (math.log(DT_MAX) - math.log(DT_MIN)) + math.log(DT_MIN))
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.empty(H).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(H))
        self.norm = nn.RMSNorm(d_inner, eps=1e-5)
        self.out_proj = nn.Linear(d_inner, cfg.d_model, bias=False)
        with torch.no_grad():
            self.out_proj.weight /= math.sqrt(cfg.n_layers)
        self.recurrence = ssd.form(acceleration)

    def forward(self, u):  # (b, T, d) -> (b, T, d)
        T = u.size(1)
        d_inner = self.out_proj.in_features
        z, xBC, dt = self.in_proj(u).split([d_inner, d_inner + 2 * self.d_state, self.n_heads], -1)
        xBC = F.silu(self.conv(xBC.transpose(1, 2))[..., :T].transpose(1, 2))  # first T outputs: x_{t-K+1} ... x_t
        x, B, C = xBC.split([d_inner, self.d_state, self.d_state], -1)
        x = x.unflatten(-1, (self.n_heads, -1)).transpose(1, 2)  # (b, H, T, P)
        dt = F.softplus(dt + self.dt_bias).transpose(1, 2)  # (b, H, T)
        B, C = B.unsqueeze(1), C.unsqueeze(1)  # (b, 1, T, N): one group, shared by the heads
        y = self.recurrence.ssd(x, dt, -torch.exp(self.A_log), B, C) + self.D[:, None, None] * x
        return self.out_proj(self.norm(y.transpose(1, 2).flatten(2) * F.silu(z)))


class Block(nn.Module):
    def __init__(self, cfg: Mamba2Config, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.norm = nn.RMSNorm(cfg.d_model, eps=1e-5)
        self.mixer = Mixer(cfg, acceleration)
        self.drop = Dropout(cfg.dropout, acceleration)

    def forward(self, x):
        return x + self.drop(self.mixer(self.norm(x)))


class Mamba2(nn.Module):
    def __init__(self, cfg: Mamba2Config, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.drop = Dropout(cfg.dropout, acceleration)
        self.blocks = nn.ModuleList(Block(cfg, acceleration) for _ in range(cfg.n_layers))
        self.norm_f = nn.RMSNorm(cfg.d_model, eps=1e-5)

    def forward(self, idx):  # (B, T) -> (B, T, V)
        x = self.drop(self.embed(idx))
        for block in self.blocks:
            x = block(x)
        return self.norm_f(x) @ self.embed.weight.T
