"""UniMatrix shared-depth backbone (spec §4.2) and its options: ROSA (§4.4), RuleMix, Frobenius
guard, step embeddings and DeepEmbed (§4.5), and a side memory: Assoc (§4.6) or SparsePointer
(§4.7), see models/side_memory.py. Core = all options off (§4.3). Beyond the paper: MeSH between the
depth steps (models/mesh.py; `mesh_slots`), which routes the hidden state and leaves the matrix
state's path as it is.

One block is applied `depth` times. With carry_state_across_depth (faithful mode, D1) the matrix
state at the end of one depth step, which summarises the whole window, initialises the next step;
this leaks future tokens. Without it (corrected mode) every depth step starts from a zero state.
Likewise batch_coupled_lookup (faithful, D12) runs the SparsePointer lookup for the whole batch as
soon as any example has a filled slot; without it the test is per example.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.dropout import Dropout
from models.layers import FFN, TokenPositionEmbedding, init_normal
from models.mesh import MeSH
from models.recurrences import matrix_state
from models.setting_error import require
from models.side_memory import AssocMemory, SlotMemory

SIDE_MEMORIES = ("none", "assoc", "sparse_pointer")


@dataclass
class UniMatrixConfig:
    vocab_size: int
    max_seq_len: int
    pad_id: int  # ROSA's previous token at position 0
    d_model: int
    depth: int
    n_heads: int
    state_size: int
    rosa: bool
    rulemix: bool
    frobenius_guard: bool
    step_embedding: bool
    deep_embed_dim: int  # 0 = no DeepEmbed
    side_memory: str = "none"  # SIDE_MEMORIES
    assoc_dim: int = 64  # a
    assoc_top_k: int = 8
    slots: int = 32  # N
    slot_top_k: int = 4
    merge_threshold: float = 0.85  # θ
    strength_floor: float = 0.05  # φ
    write_gate: bool = True
    pointer_logits: bool = True
    mesh_slots: int = 0  # M; 0 = no MeSH
    carry_state_across_depth: bool = True
    batch_coupled_lookup: bool = True
    dropout: float = 0.1

    def __post_init__(self):
        checks = {  # key: (valid, description of the valid values)
            "pad_id": (0 <= self.pad_id < self.vocab_size, f"a token id below vocab_size={self.vocab_size}"),
            "side_memory": (self.side_memory in SIDE_MEMORIES, ", ".join(SIDE_MEMORIES)),
            "assoc_dim": (self.assoc_dim >= 1, "an integer >= 1"),
            "assoc_top_k": (self.assoc_top_k >= 1, "an integer >= 1"),
            "slots": (self.slots >= 1, "an integer >= 1"),
            "slot_top_k": (1 <= self.slot_top_k <= self.slots, f"an integer in 1..slots={self.slots}"),
            "merge_threshold": (-1 <= self.merge_threshold <= 1, "a cosine in [-1, 1]"),
            "strength_floor": (0 <= self.strength_floor < 1, "a number in [0, 1)"),
            "write_gate": (isinstance(self.write_gate, bool), "true or false"),
            "pointer_logits": (isinstance(self.pointer_logits, bool), "true or false"),
            "mesh_slots": (self.mesh_slots >= 0, "an integer >= 0 (0: no MeSH)"),
        }
        for key, (ok, valid) in checks.items():
            require(ok, key, getattr(self, key), valid)


class UniMatrixBlock(nn.Module):
    def __init__(self, cfg: UniMatrixConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        d, H, m = cfg.d_model, cfg.n_heads, cfg.n_heads * cfg.state_size
        self.cfg = cfg
        self.recurrence = matrix_state.form(acceleration)
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
        self.register_buffer("no_bias", torch.zeros(3 * m), persistent=False)  # W_q, W_k, W_v have none
        if cfg.rulemix:
            self.w_mix = nn.Linear(d, 3 * H)
        if cfg.side_memory == "assoc":
            self.memory = AssocMemory(d, cfg.assoc_dim, cfg.assoc_top_k)
        elif cfg.side_memory == "sparse_pointer":
            self.memory = SlotMemory(
                d, cfg.vocab_size, cfg.slots, cfg.slot_top_k, cfg.merge_threshold,
                cfg.strength_floor, cfg.write_gate, cfg.pointer_logits,
            )
        if cfg.rosa:
            self.w_rosa = nn.Linear(d, d)
        self.ln_b = nn.LayerNorm(d)
        self.ffn = FFN(d, cfg.dropout, acceleration)
        self.drop = Dropout(cfg.dropout, acceleration)

    def forward(self, x, state0, rosa_ctx, slot_read):
        # x (B, T, d); state0 (B, H, S, S) or None (zeros); rosa_ctx (B, T, d) or None;
        # slot_read: SlotMemory.read's (context (B, T, d), pointer (B, T, V)) or None.
        # Returns Z (B, T, d), the final state and the pointer bias Π (B, T, V) or None.
        cfg = self.cfg
        B, T, _ = x.shape
        H, S = cfg.n_heads, cfg.state_size

        def heads(y):  # (B, T, H·S) -> (B, H, T, S); head h owns entries h·S .. h·S+S-1
            return y.unflatten(-1, (H, S)).transpose(1, 2)

        u = self.ln_a(x)
        m = H * S
        # W_q, W_k, W_v, W_ρ and W_g as one product: at the paper's size a GPU step is launch-bound.
        weight = torch.cat([w.weight for w in (self.w_q, self.w_k, self.w_v, self.w_rho, self.w_g)])
        bias = torch.cat([self.no_bias, self.w_rho.bias, self.w_g.bias])
        qkv, gates = F.linear(u, weight, bias).split([3 * m, H + cfg.d_model], -1)
        q, k, v = (heads(part) for part in torch.tanh(qkv).split(m, -1))
        gates = torch.sigmoid(gates)
        rho, gate = gates[..., :H].transpose(1, 2), gates[..., H:]  # ρ (B, H, T)
        delta = mix = None
        if cfg.rulemix:
            delta = heads(torch.tanh(self.w_delta(u)))
            mix = F.softmax(self.w_mix(u).view(B, T, H, 3), dim=-1).transpose(1, 2)  # (B, H, T, 3)
        r, state = self.recurrence.matrix_state(q, k, v, rho, state0, delta=delta, mix=mix,
                                                frobenius_guard=cfg.frobenius_guard)
        r = r.transpose(1, 2).reshape(B, T, H * S)
        a = gate * self.w_o(r)
        pointer = None
        if cfg.side_memory == "assoc":
            a = a + self.memory(u)
        elif cfg.side_memory == "sparse_pointer":
            context, votes = slot_read
            a = a + self.memory(u, context)
            pointer = self.memory.pointer_bias(u, votes) if cfg.pointer_logits else None
        if cfg.rosa:
            a = a + torch.sigmoid(self.w_rosa(u)) * rosa_ctx
        h = x + self.drop(a)
        # Step 12, the side-memory writes, needs nothing from h: both memories are filled from
        # quantities known before step 11 (see models/side_memory.py).
        return h + self.drop(self.ffn(self.ln_b(h))), state, pointer


class UniMatrix(nn.Module):
    def __init__(self, cfg: UniMatrixConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed = TokenPositionEmbedding(cfg.vocab_size, cfg.max_seq_len, d, cfg.dropout, acceleration)
        self.block = UniMatrixBlock(cfg, acceleration)
        if cfg.rosa:
            self.rosa_table = nn.Embedding(cfg.vocab_size, d)
        if cfg.step_embedding:
            self.step_emb = nn.Embedding(cfg.depth, d)
        if cfg.deep_embed_dim:
            self.deep_table = nn.Embedding(cfg.vocab_size, cfg.deep_embed_dim)
            self.deep_proj = nn.Linear(cfg.deep_embed_dim, d, bias=False)
        if cfg.mesh_slots:
            self.mesh = MeSH(d, cfg.mesh_slots, cfg.depth)
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
        slot_read = None
        if cfg.side_memory == "sparse_pointer":  # identical at every depth step: read it once
            slot_read = self.block.memory.read(self.embed.tok(idx), idx, cfg.batch_coupled_lookup)
        state = pointer = memory = None
        for step in range(cfg.depth):
            # The step embedding accumulates over steps through the residual (spec §4.2).
            h = x + self.step_emb.weight[step] if cfg.step_embedding else x
            y, state_end, pointer = self.block(h, state, rosa_ctx, slot_read)
            state = state_end if cfg.carry_state_across_depth else None
            if deep_scale is not None:
                y = y * deep_scale  # the whole residual stream (D16)
            x, memory = self.mesh(step, x, y, memory) if cfg.mesh_slots else (y, None)
        logits = self.embed.logits(self.ln_f(x))
        return logits if pointer is None else logits + pointer  # Π of the last depth step only
