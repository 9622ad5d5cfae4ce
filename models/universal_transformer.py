"""Universal Transformer (Dehghani et al., 2019): one causal block, the Transformer's (pre-LN
attention + GELU FFN, models/transformer.py), applied K times with shared weights. The token
embeddings enter alone; before every step the position embedding and that step's embedding are
added to the state, h ← Block(h + Pos + S_n), as the UT adds its coordinate embeddings at every step.
The tied head reads LN_f of the final state.

Options: Adaptive Computation Time per position (Graves, 2016; `act`), at most K steps, with the
ponder cost τ·(N + R) that the training loop adds to the task's loss (models/registry.py
`with_auxiliary_loss`); or MeSH between the steps (models/mesh.py; `mesh_slots`).
"""
from collections.abc import Callable
from dataclasses import dataclass, fields

import torch
import torch.nn as nn

from models.acceleration import Acceleration
from models.layers import TokenPositionEmbedding, init_normal
from models.mesh import MeSH
from models.setting_error import heads_divide, require
from models.transformer import Block

# The UT's reference code (tensor2tensor) starts the halting unit's bias at 1: every position first
# ponders two steps (σ(1) = 0.73 per step), so training starts neither at one step nor at K.
HALTING_BIAS_INIT = 1.0


@dataclass
class UniversalTransformerConfig:
    vocab_size: int
    max_seq_len: int
    d_model: int
    n_heads: int
    depth: int  # K: applications of the shared block (ACT's maximum)
    act: bool = False
    act_epsilon: float = 0.01  # ε: a position halts once its halting probabilities reach 1 − ε
    ponder_cost: float = 0.01  # τ
    mesh_slots: int = 0  # M; 0 = no MeSH
    dropout: float = 0.1

    def __post_init__(self):
        heads_divide("d_model", self.d_model, self.n_heads)
        require(self.depth >= 1, "depth", self.depth, "an integer >= 1")
        require(0 < self.act_epsilon < 1, "act_epsilon", self.act_epsilon, "a number in (0, 1)")
        require(self.ponder_cost >= 0, "ponder_cost", self.ponder_cost, "a number >= 0")
        require(self.mesh_slots >= 0, "mesh_slots", self.mesh_slots, "an integer >= 0 (0: no MeSH)")
        # ACT mixes every step's output per position; MeSH mixes them through its buffer: one or the other.
        require(not (self.act and self.mesh_slots), "mesh_slots", self.mesh_slots, "0 when act is true")


@dataclass
class Halting:
    output: torch.Tensor  # Σ_n p_n y_n (B, T, d)
    weights: torch.Tensor  # p_n (K, B, T): the halting probabilities used, R at step N, 0 after it
    steps: torch.Tensor  # N (B, T)
    remainder: torch.Tensor  # R (B, T)

    @property
    def ponder(self) -> torch.Tensor:  # N + R (B, T)
        return self.steps + self.remainder

    def detached(self) -> "Halting":
        return Halting(*(getattr(self, field.name).detach() for field in fields(self)))


def adaptive_computation(step: Callable, halting: Callable, h: torch.Tensor, max_steps: int,
                         threshold: float) -> Halting:
    """ACT per position over at most `max_steps` applications of `step(h, n)`. After step n a position
    that still runs has halting probability p_n = halting(y_n) (B, T) from its own output y_n; it halts
    at the first step N whose sum p_1 + … + p_N reaches `threshold`, or at the last step, and weighs
    its outputs by p_1 … p_{N−1} and the remainder R = 1 − (p_1 + … + p_{N−1}). A halted position's
    state is copied into the later steps, which the positions still running attend to; a position's
    halting reads its own states only, and those depend on earlier positions only, so the model stays
    causal. Every step is computed for every position (the later ones weigh nothing), so no step waits
    on the data."""
    halted_sum = torch.zeros_like(h[..., 0])  # p_1 + … + p_n over the steps a position ran past
    running = torch.ones_like(halted_sum, dtype=torch.bool)
    steps = torch.zeros_like(halted_sum)
    remainder = torch.zeros_like(halted_sum)
    output = torch.zeros_like(h)
    weights = []
    for n in range(max_steps):
        y = step(h, n)
        p = halting(y)
        halts = running & ((halted_sum + p >= threshold) | (n == max_steps - 1))
        weight = torch.where(halts, 1 - halted_sum, torch.where(running, p, 0.0))
        output = output + weight.unsqueeze(-1) * y
        steps = steps + running.to(steps.dtype)
        remainder = torch.where(halts, 1 - halted_sum, remainder)
        halted_sum = halted_sum + torch.where(running & ~halts, p, 0.0)
        h = torch.where(running.unsqueeze(-1), y, h)
        running = running & ~halts
        weights.append(weight)
    return Halting(output, torch.stack(weights), steps, remainder)


class UniversalTransformer(nn.Module):
    def __init__(self, cfg: UniversalTransformerConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = TokenPositionEmbedding(cfg.vocab_size, cfg.max_seq_len, d, cfg.dropout, acceleration)
        self.step_emb = nn.Embedding(cfg.depth, d)
        self.block = Block(cfg, acceleration=acceleration)
        if cfg.act:
            self.halt = nn.Linear(d, 1)
        if cfg.mesh_slots:
            self.mesh = MeSH(d, cfg.mesh_slots, cfg.depth)
        self.ln_f = nn.LayerNorm(d)
        self.apply(init_normal)
        if cfg.act:
            nn.init.constant_(self.halt.bias, HALTING_BIAS_INIT)
        self.auxiliary_loss = None  # the ponder cost of the last forward pass, with ACT
        self.halting = None  # the Halting record of the last forward pass (detached), with ACT

    def forward(self, idx):  # (B, T) -> (B, T, V)
        cfg = self.cfg
        h = self.embed.tokens(idx)
        pos = self.embed.positions(idx.size(1))

        def step(state, n):
            return self.block(state + pos + self.step_emb.weight[n])

        if cfg.act:
            halting = adaptive_computation(step, lambda y: torch.sigmoid(self.halt(y)).squeeze(-1), h,
                                           cfg.depth, 1 - cfg.act_epsilon)
            self.auxiliary_loss = cfg.ponder_cost * halting.ponder.mean()
            self.halting = halting.detached()  # read after the pass; holding its graph would break CUDA graph capture
            h = halting.output
        else:
            memory = None
            for n in range(cfg.depth):
                y = step(h, n)
                h, memory = self.mesh(n, h, y, memory) if cfg.mesh_slots else (y, None)
        return self.embed.logits(self.ln_f(h))
