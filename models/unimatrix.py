"""UniMatrix shared-depth backbone (spec §4.2) and its options: ROSA (§4.4), RuleMix, Frobenius
guard, step embeddings and DeepEmbed (§4.5). Core = all options off (§4.3).

One block is applied `depth` times. With carry_state_across_depth (faithful mode, D1) the matrix
state at the end of one depth step, which summarises the whole window, initialises the next step;
this leaks future tokens. Without it (corrected mode) every depth step starts from a zero state.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.layers import FFN, TokenPositionEmbedding, init_normal
from models.matrix_state import matrix_state


@dataclass
class UniMatrixConfig:
    vocab_size: int
    max_seq_len: int
    pad_id: int  # ROSA's previous token at position 0
    d_model: int = 64
    depth: int = 3
    n_heads: int = 4
    state_size: int = 16
    rosa: bool = False
    rulemix: bool = False
    frobenius_guard: bool = False
    step_embedding: bool = False
    deep_embed_dim: int = 0  # 0 = no DeepEmbed
    carry_state_across_depth: bool = True
    dropout: float = 0.1
    recurrence: str = "fast"  # models.matrix_state.FORMS


class UniMatrixBlock(nn.Module):
    def __init__(self, cfg: UniMatrixConfig):
        super().__init__()
        d, H, m = cfg.d_model, cfg.n_heads, cfg.n_heads * cfg.state_size
        self.cfg = cfg
        self.ln_a = nn.LayerNorm(d)
        self.w_q = nn.Linear(d, m, bias=False)
        self.w_k = nn.Linear(d, m, bias=False)
        self.w_v = nn.Linear(d, m, bias=False)
        # Exists in every variant (it is in the paper's counts, D15) but enters the graph only with
        # RuleMix, so without it W_δ gets no gradient at all and AdamW never touches it.
        self.w_delta = nn.Linear(d, m, bias=False)
        self.w_rho = nn.Linear(d, H)
        self.w_o = nn.Linear(m, d, bias=False)
        self.w_g = nn.Linear(d, d)
        if cfg.rulemix:
            self.w_mix = nn.Linear(d, 3 * H)
        if cfg.rosa:
            self.w_rosa = nn.Linear(d, d)
        self.ln_b = nn.LayerNorm(d)
        self.ffn = FFN(d, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, state0, rosa_ctx):
        # x (B, T, d); state0 (B, H, S, S) or None (zeros); rosa_ctx (B, T, d) or None
        cfg = self.cfg
        B, T, _ = x.shape
        H, S = cfg.n_heads, cfg.state_size

        def heads(y):  # (B, T, H·S) -> (B, H, T, S); head h owns entries h·S .. h·S+S-1
            return y.view(B, T, H, S).transpose(1, 2)

        u = self.ln_a(x)
        q, k, v = (heads(torch.tanh(w(u))) for w in (self.w_q, self.w_k, self.w_v))
        rho = torch.sigmoid(self.w_rho(u)).transpose(1, 2)  # (B, H, T)
        delta = mix = None
        if cfg.rulemix:
            delta = heads(torch.tanh(self.w_delta(u)))
            mix = F.softmax(self.w_mix(u).view(B, T, H, 3), dim=-1).transpose(1, 2)  # (B, H, T, 3)
        r, state = matrix_state(
            q, k, v, rho, state0,
            delta=delta, mix=mix, frobenius_guard=cfg.frobenius_guard, form=cfg.recurrence,
        )
        r = r.transpose(1, 2).reshape(B, T, H * S)
        a = torch.sigmoid(self.w_g(u)) * self.w_o(r)
        if cfg.rosa:
            a = a + torch.sigmoid(self.w_rosa(u)) * rosa_ctx
        h = x + self.drop(a)
        return h + self.drop(self.ffn(self.ln_b(h))), state


class UniMatrix(nn.Module):
    def __init__(self, cfg: UniMatrixConfig):
        super().__init__()
        if not 0 <= cfg.pad_id < cfg.vocab_size:
            raise ValueError(f"pad_id={cfg.pad_id} is outside the vocabulary of size {cfg.vocab_size}")
        self.cfg = cfg
        d = cfg.d_model
        self.embed = TokenPositionEmbedding(cfg.vocab_size, cfg.max_seq_len, d, cfg.dropout)
        self.block = UniMatrixBlock(cfg)
        if cfg.rosa:
            self.rosa_table = nn.Embedding(cfg.vocab_size, d)
        if cfg.step_embedding:
            self.step_emb = nn.Embedding(cfg.depth, d)
        if cfg.deep_embed_dim:
            self.deep_table = nn.Embedding(cfg.vocab_size, cfg.deep_embed_dim)
            self.deep_proj = nn.Linear(cfg.deep_embed_dim, d, bias=False)
        self.ln_f = nn.LayerNorm(d)
        self.apply(init_normal)

    def forward(self, idx):  # (B, T) -> (B, T, V)
        cfg = self.cfg
        x = self.embed(idx)
        rosa_ctx = deep_scale = None
        if cfg.rosa:  # c_t = R[x_{t-1}], c_0 = R[PAD]; depends on token ids only
            prev = F.pad(idx[:, :-1], (1, 0), value=cfg.pad_id)
            rosa_ctx = self.rosa_table(prev)
        if cfg.deep_embed_dim:
            deep_scale = 1 + torch.sigmoid(self.deep_proj(self.deep_table(idx)))  # (B, T, d) in (1, 2)
        state = None
        for step in range(cfg.depth):
            if cfg.step_embedding:
                x = x + self.step_emb.weight[step]  # accumulates over steps (spec §4.2)
            x, state_end = self.block(x, state, rosa_ctx)
            state = state_end if cfg.carry_state_across_depth else None
            if deep_scale is not None:
                x = x * deep_scale  # the whole residual stream (D16)
        return self.embed.logits(self.ln_f(x))
