"""Typed-Latent (spec §4.9, D3): the benchmark-aware classifier of the triple-interaction benchmark.

No learned sequence processing. A deterministic parser reads token ids only:
  task τ      = token at `task_position` − `task_token_base`, clamped to 0..3
                (copy, affine, gate, lookup);
  query tag   = last token − `tag_base`, clamped to 0..n_tags−1;
  A, B, C     = one-hot rows over the n_values value indices: a role marker followed by a value of
                that role's range, bound to the most recent tag token at or before the marker,
                read for the query tag; a, b, c = their argmaxes.
Four task heads map (a, b, c) to 16 logits. All four are computed for every example and combined
with the task one-hot as weights, so every table takes part in every forward pass and gets a zero
(not an absent) gradient on the other tasks' batches (spec §5.2.4, optimiser note).

Two variants, chosen by `learned_rules`:

* faithful (False; the paper's model). Hard-coded: the parser, and the copy, affine and gate heads,
  which are the benchmark's own target formulas as 12·onehot(rule(a, b, c)), so these three tasks
  score 100% before any training. Learned: only the lookup head, Λ[a, b, c, :] with
  Λ ∈ R^{8×8×8×16} initialised to zeros (uniform logits, CE = ln 16, at init).
  18,496 parameters at d = 64: Λ 8,192 + the auxiliary representation 10,304.
* learned (True; not in the paper). Hard-coded: the same parser only (token-id ranges of the
  layout, the task token at `task_position`, the query tag at the last position), so the model is
  still handed the task and the queried tag's typed tuple (a, b, c). Learned: every rule; each task
  τ has its own zero-initialised table Λ_τ ∈ R^{8×8×8×16} and predicts Λ_τ[a, b, c, :], with no
  rule formula anywhere. Every task starts at chance and must fit its 512 cells from data, which
  separates what the oracle parser gives from what the oracle rule heads give.
  43,072 parameters at d = 64: 4·8,192 + 10,304.

Both variants also build the auxiliary representation read by the auxiliary heads, which never
feeds the predictions: f = LN(Lin(4 + 3·n_values → d, +b)([onehot(τ); A; B; C])),
rep = f + MLP(f), MLP = Lin(d→max(d,64),+b) → GELU → Drop → Lin(max(d,64)→d,+b).
"""

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.acceleration import Acceleration
from models.dropout import Dropout
from models.layers import init_normal

N_TASKS = 4  # copy, affine, gate, lookup: the order of the task tokens
LOGIT_SCALE = 12.0
LAYOUT_KEYS = ("task_token_base", "tag_base", "n_tags", "role_markers", "value_starts", "n_values",
               "task_position")


def check_layout(layout) -> None:
    if not isinstance(layout, Mapping):
        raise ValueError(f"typed_latent needs the triple benchmark's token layout, a mapping with keys "
                         f"{', '.join(LAYOUT_KEYS)}; got {layout!r}")
    missing = [key for key in LAYOUT_KEYS if key not in layout]
    if missing:
        raise ValueError(f"typed_latent layout lacks {', '.join(missing)}; "
                         f"it needs {', '.join(LAYOUT_KEYS)}")
    for key in ("role_markers", "value_starts"):
        if len(layout[key]) != 3:
            raise ValueError(f"typed_latent layout[{key!r}] must list the three roles A, B, C; "
                             f"got {layout[key]!r}")


def rule_logits(a, b, c, n_classes: int):  # (B,) × 3 -> (B, 3, n_classes)
    """The benchmark's copy, affine and gate targets (spec §5.2.2), hard-coded (D3)."""
    y = torch.stack([a, (a + 2 * b + 3 * c) % 16, (a * (b + 1) + c * ((a ^ b) + 1)) % 16], dim=1)
    return LOGIT_SCALE * F.one_hot(y, n_classes).float()


@dataclass
class TypedLatentConfig:
    layout: Mapping
    d_model: int
    n_classes: int = 16
    learned_rules: bool = False
    dropout: float = 0.1


class TypedLatent(nn.Module):
    def __init__(self, cfg: TypedLatentConfig, acceleration: Acceleration = Acceleration()):
        super().__init__()
        check_layout(cfg.layout)
        if not cfg.learned_rules and cfg.n_classes != 16:
            raise ValueError(f"the hard-coded rules predict 16 classes; got n_classes={cfg.n_classes}")
        self.cfg = cfg
        n, d, hidden = cfg.layout["n_values"], cfg.d_model, max(cfg.d_model, 64)
        self.register_buffer("role_markers", torch.tensor(cfg.layout["role_markers"]), persistent=False)
        self.register_buffer("value_starts", torch.tensor(cfg.layout["value_starts"]), persistent=False)
        # Λ (spec §1.1 exception 3: zeros): the lookup table, or one table per task when learned.
        n_tables = N_TASKS if cfg.learned_rules else 1
        self.tables = nn.Parameter(torch.zeros(n_tables, n, n, n, cfg.n_classes))
        self.feature = nn.Linear(N_TASKS + 3 * n, d)
        self.ln = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, hidden), nn.GELU(), Dropout(cfg.dropout, acceleration),
                                 nn.Linear(hidden, d))
        self.apply(init_normal)

    def parse(self, idx):  # (B, T) -> task (B,), slots (B, 3, n_values): rows A, B, C of the query tag
        layout, n = self.cfg.layout, self.cfg.layout["n_values"]
        task = (idx[:, layout["task_position"]] - layout["task_token_base"]).clamp(0, N_TASKS - 1)
        tag = idx - layout["tag_base"]
        query = tag[:, -1].clamp(0, layout["n_tags"] - 1)
        position = torch.arange(idx.size(1), device=idx.device).expand_as(idx)
        is_tag = (tag >= 0) & (tag < layout["n_tags"])
        last_tag = torch.where(is_tag, position, -1).cummax(dim=1).values  # (B, T); -1 before the first tag
        under_query = (last_tag >= 0) & (tag.gather(1, last_tag.clamp(min=0)) == query[:, None])
        value = idx[:, 1:, None] - self.value_starts  # (B, T-1, 3): token p+1 as a value of each role
        binds = ((idx[:, :-1, None] == self.role_markers) & (value >= 0) & (value < n)
                 & under_query[:, :-1, None])  # (B, T-1, 3): marker at p, its value at p+1
        slots = (F.one_hot(value.clamp(0, n - 1), n) * binds[..., None]).amax(dim=1)
        return task, slots

    def forward(self, idx):  # (B, T) -> logits (B, n_classes), rep (B, d) for the auxiliary heads
        task, slots = self.parse(idx)
        a, b, c = slots.argmax(dim=-1).unbind(1)
        heads = self.tables[:, a, b, c].transpose(0, 1)  # (B, 1 or 4, n_classes)
        if not self.cfg.learned_rules:
            heads = torch.cat([rule_logits(a, b, c, self.cfg.n_classes).to(heads.dtype), heads], dim=1)
        task_onehot = F.one_hot(task, N_TASKS).to(heads.dtype)
        logits = torch.einsum("bk,bkc->bc", task_onehot, heads)
        f = self.ln(self.feature(torch.cat([task_onehot, slots.flatten(1).to(heads.dtype)], dim=1)))
        return logits, f + self.mlp(f)
