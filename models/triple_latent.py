"""The generic triple-latent family (spec §4.8): Triple-Latent (dense pair memory), Triple-Slot
(slot memory) and Triple-Hybrid (dense pair memory after a local convolution).

L separate layers; each starts its running state and memory at zero (nothing is carried across
layers). Triple-Hybrid's kernel-5 convolution runs once, before the layers. With causal_conv off
(faithful mode, D2) it pads 2|2, so position t sees X_{t+1} and X_{t+2}, its own target included;
with causal_conv on (corrected mode) it pads 4 zeros on the left and sees X_{t-4} ... X_t.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.dropout import Dropout
from models.layers import FFN, TokenPositionEmbedding, init_normal
from models.recurrences import pair_memory
from models.setting_error import require

MEMORIES = ("dense", "slot")
KERNEL = 5


@dataclass
class TripleLatentConfig:
    vocab_size: int
    max_seq_len: int
    d_model: int
    n_layers: int
    n_heads: int
    state_size: int
    memory: str  # MEMORIES
    local_conv: bool  # Triple-Hybrid
    slots: int = 8  # K, slot memory only
    causal_conv: bool = False  # off = the paper's symmetric padding (D2)
    dropout: float = 0.1

    def __post_init__(self):
        require(self.memory in MEMORIES, "memory", self.memory, ", ".join(MEMORIES))
        for key in ("local_conv", "causal_conv"):
            require(isinstance(getattr(self, key), bool), key, getattr(self, key), "true or false")


class TripleLayer(nn.Module):
    def __init__(self, cfg: TripleLatentConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        d, H, m = cfg.d_model, cfg.n_heads, cfg.n_heads * cfg.state_size
        self.cfg = cfg
        self.recurrences = pair_memory.form(acceleration)
        self.ln_a = nn.LayerNorm(d)
        self.w_a = nn.Linear(d, m, bias=False)
        self.w_b = nn.Linear(d, m, bias=False)
        self.w_ell = nn.Linear(d, m, bias=False)
        self.w_r = nn.Linear(d, m, bias=False)
        self.w_lam = nn.Linear(d, H)
        self.w_gamma = nn.Linear(d, H)
        if cfg.memory == "slot":
            self.w_slot = nn.Linear(d, H * cfg.slots)
            self.w_o = nn.Linear(H * cfg.slots, d, bias=False)
        else:
            self.w_o = nn.Linear(m, d, bias=False)
        self.ln_b = nn.LayerNorm(d)
        self.ffn = FFN(d, cfg.dropout, acceleration)
        self.drop = Dropout(cfg.dropout, acceleration)

    def forward(self, x):  # (B, T, d) -> (B, T, d)
        cfg = self.cfg
        B, T, _ = x.shape
        H, S = cfg.n_heads, cfg.state_size

        def heads(y):  # (B, T, H·D) -> (B, H, T, D); head h owns entries h·D .. h·D+D-1
            return y.view(B, T, H, -1).transpose(1, 2)

        def merge(y):  # (B, H, T, D) -> (B, T, H·D)
            return y.transpose(1, 2).reshape(B, T, -1)

        u = self.ln_a(x)
        a, b, ell, r = (heads(torch.tanh(w(u))) for w in (self.w_a, self.w_b, self.w_ell, self.w_r))
        lam = torch.sigmoid(self.w_lam(u)).transpose(1, 2)  # (B, H, T)
        gamma = torch.sigmoid(self.w_gamma(u)).transpose(1, 2)
        s = self.recurrences.running_state(a, lam)  # (B, H, T, S)
        if cfg.memory == "slot":
            g = heads(F.softmax(self.w_slot(u).view(B, T, H, cfg.slots), dim=-1))  # (B, H, T, K)
            o = self.w_o(merge(self.recurrences.slot_memory(s, b, ell, r, g, gamma)))
        else:
            o = self.w_o(merge(self.recurrences.dense_memory(s, b, ell, gamma) * r))
        h = x + self.drop(o)
        return h + self.drop(self.ffn(self.ln_b(h)))


class TripleLatent(nn.Module):
    def __init__(self, cfg: TripleLatentConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = TokenPositionEmbedding(cfg.vocab_size, cfg.max_seq_len, d, cfg.dropout, acceleration)
        if cfg.local_conv:
            self.conv = nn.Conv1d(d, d, KERNEL)  # no padding of its own: see convolve
            self.conv_drop = Dropout(cfg.dropout, acceleration)
        self.layers = nn.ModuleList(TripleLayer(cfg, acceleration) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.apply(init_normal)
        if cfg.local_conv:  # spec §1.1: the kernel is N(0, 0.02²) too, its bias 0
            nn.init.normal_(self.conv.weight, mean=0.0, std=0.02)
            nn.init.zeros_(self.conv.bias)

    def convolve(self, x):  # (B, T, d) -> Conv(X) (B, T, d)
        """Output t = Σ_k W_k X_{t-4+k} + b (causal) or Σ_k W_k X_{t-2+k} + b (symmetric), with
        zeros outside the sequence. Left padding, not a shifted symmetric output (D2)."""
        padding = (KERNEL - 1, 0) if self.cfg.causal_conv else ((KERNEL - 1) // 2, (KERNEL - 1) // 2)
        return self.conv(F.pad(x.transpose(1, 2), padding)).transpose(1, 2)

    def forward(self, idx):  # (B, T) -> (B, T, V)
        x = self.embed(idx)
        if self.cfg.local_conv:
            x = x + self.conv_drop(F.gelu(self.convolve(x)))
        for layer in self.layers:
            x = layer(x)
        return self.embed.logits(self.ln_f(x))
