"""Side memories of the UniMatrix block (spec §4.2 steps 10 and 12): the dense append-only
associative memory of UniMatrix-Assoc (§4.6) and the sparse slot memory with pointer logits of
UniMatrix-SparsePointer (§4.7). Both are emptied at the start of every depth step.

Neither needs a loop over the block's scan. The Assoc memory only ever holds pairs of the
current depth step's LayerNorm outputs, so its lookups are one masked top-k attention. The slot
memory reads only raw token embeddings (keys, values, queries, write strengths), so its state,
lookups and context are the same at every depth step: `SlotMemory.read` computes them once per
forward, which is what resetting and replaying it at each depth step would give. Only its write
rule is sequential (`slot_writes`); it decides which position's write each slot holds, and the
differentiable quantities are then gathered from those positions.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MASKED = -1e9  # score of an entry that may not be read (finite, so an all-masked row stays finite)


class AssocMemory(nn.Module):
    """§4.6 / D13. At position t the memory holds (κ_j, ν_{j+1}) for j ≤ t−2 (the pair with value
    index j+1 is appended after position j+1). score_j = cos(q̃_t, κ_j)/√a, keep the top_k,
    w = softmax(8·score), c_t = Σ w_j ν_{j+1}; added as σ(W_A u_t + b_A) ⊙ c_t."""

    def __init__(self, d: int, dim: int, top_k: int):
        super().__init__()
        self.top_k = top_k
        self.w_query = nn.Linear(d, dim, bias=False)  # W_q̃
        self.w_key = nn.Linear(d, dim, bias=False)  # W_κ
        self.w_value = nn.Linear(d, d, bias=False)  # W_ν
        self.gate = nn.Linear(d, d)  # W_A, b_A

    def forward(self, u):  # u (B, T, d): the block's LayerNorm output -> addition to a_t (B, T, d)
        T = u.size(1)
        q = F.normalize(self.w_query(u), dim=-1)  # (B, T, a)
        k = F.normalize(self.w_key(u), dim=-1)
        value_next = F.pad(self.w_value(u)[:, 1:], (0, 0, 0, 1))  # (B, T, d), row j = ν_{j+1}
        score = (q @ k.transpose(1, 2)) / math.sqrt(q.size(-1))  # (B, T, T) [t, j]
        stored = torch.ones(T, T, dtype=torch.bool, device=u.device).tril(-2)  # j ≤ t − 2
        score = score.masked_fill(~stored, MASKED)
        top, idx = score.topk(min(self.top_k, T), dim=-1)  # (B, T, K)
        weights = torch.zeros_like(score).scatter(-1, idx, F.softmax(8 * top, dim=-1))
        weights = weights * stored.any(-1, keepdim=True)  # no lookup at t = 0, 1 (empty memory)
        return torch.sigmoid(self.gate(u)) * (weights @ value_next)


@torch.no_grad()
def slot_writes(keys, strengths, n_slots: int, merge_threshold: float, strength_floor: float):
    """The write rule of §4.7 step 3, for a batch of sequences at once.

    keys (B, T, D): keys[:, t] is the candidate key written at position t (row 0 is ignored:
    position 0 writes nothing); strengths (B, T): the candidate strengths λ̂.
    At each t ≥ 1: sim_s = cos(key_t, K_s) over filled slots (λ_s > floor); the target is the most
    similar slot if sim > merge_threshold (an overwrite), else the lowest-index slot that is not
    filled, else the oldest filled slot. A slot ages only while filled and is filled since its
    last write, so the oldest is the one with the earliest write (writes are one per position).

    Returns, for the lookup at each position t (which comes before the write at t):
    writer (B, T, N) long, the position whose write slot s holds (0 = never written);
    filled (B, T, N) bool.
    """
    unit = F.normalize(keys, dim=-1)
    return _slot_writes(unit @ unit.transpose(1, 2), strengths > strength_floor, n_slots, merge_threshold)


@torch.no_grad()
def _slot_writes(cos, alive, n_slots: int, merge_threshold: float):
    """slot_writes from cos (B, T, T), [t, t'] = cos(key_t, key_t') (overwritten here), and
    alive (B, T) = λ̂ > floor.

    The three cases of the rule are folded into one argmax over the slots' writers. A slot
    written at t' (writer t') is filled iff t' ≥ 1 and alive[t'], so one score per (t, t') rates
    it for the write at t: −2 if it is not filled; cos(key_t, key_t') if that exceeds the
    threshold (a merge); else −(3 + t'), higher for older writes. Merge scores are cosines, so
    ≥ −1 > −2 > every other score, and the first maximum of score[t, writer_s] over s (as argmax
    returns it) is the target: the most similar slot if one merges (the first of equal maxima, as
    max returns), else the lowest-index slot that is not filled, else the slot with the earliest
    write. The loop is three ops per position (gather, argmax, scatter into the next position's
    writers), without autograd, allocation or host sync.
    """
    B, T, _ = cos.shape
    filled = alive.clone()
    filled[:, 0] = False  # position 0 writes nothing: writer 0 is a slot that was never written
    merge = (cos > merge_threshold).logical_and_(filled[:, None, :])
    if cos.dtype not in (torch.float32, torch.float64):
        cos = cos.float()  # −(3 + t') must be exact
    other = torch.where(filled, torch.arange(3, T + 3, dtype=cos.dtype, device=cos.device).neg_(), -2.0)
    score = torch.where(merge, cos, other[:, None, :], out=cos)  # (B, T, T)
    rows = score.unbind(1)  # rows[t] (B, T)
    writer = torch.zeros(B, T, n_slots, dtype=torch.long, device=cos.device)  # [:, t]: seen by the lookup at t
    writers = writer.unbind(1)
    best = score.new_empty(B, n_slots)
    target = writer.new_empty(B, 1)
    for t in range(1, T - 1):  # the write at T − 1 is never looked up
        torch.gather(rows[t], 1, writers[t], out=best)
        torch.argmax(best, 1, keepdim=True, out=target)
        torch.scatter(writers[t], 1, target, t, out=writers[t + 1])
    return writer, filled.gather(1, writer.flatten(1)).view_as(writer)


class SlotMemory(nn.Module):
    """§4.7 (and D10-D12). Slots hold (K, V, λ, y) = (e_{t−1}, e_t, λ̂_t, x_t) of the position t
    that wrote them. Lookup at t: β_s = cos(e_t, K_s)/√d + ln max(λ_s, 1e−4) over filled slots,
    top-K, w = softmax(8·β) over the top-K, c_t = Σ w_s V_s, pointer p_t[v] = Σ_{y_s = v} w_s."""

    def __init__(self, d: int, vocab_size: int, slots: int, top_k: int, merge_threshold: float,
                 strength_floor: float, write_gate: bool, pointer_logits: bool):
        super().__init__()
        self.vocab_size, self.slots, self.top_k = vocab_size, slots, top_k
        self.merge_threshold, self.strength_floor = merge_threshold, strength_floor
        self.gate = nn.Linear(d, d)  # W_A, b_A
        self.write_gate = nn.Linear(2 * d, 1) if write_gate else None  # w_W, b_W
        self.pointer_gate = nn.Linear(d, 1) if pointer_logits else None  # w_γ, b_γ

    def read(self, e, idx, batch_coupled: bool):
        """e (B, T, d) raw token embeddings E[x], idx (B, T) token ids -> context c (B, T, d) and
        pointer weights (B, T, V), both zero where no lookup runs. batch_coupled (faithful, D12):
        the lookup runs for the whole batch as soon as any example has a filled slot; an example
        without one then reads uniform weights over K masked slots (stale contents, id 0 if never
        written). Otherwise an example without a filled slot gets no lookup."""
        B, T, d = e.shape
        # Candidate write of position t (row 0, never written, stays zero: stale-slot contents).
        key = F.pad(e[:, :-1], (0, 0, 1, 0))  # (B, T, d): e_{t−1}
        value = F.pad(e[:, 1:], (0, 0, 1, 0))  # e_t
        ids = F.pad(idx[:, 1:], (1, 0))  # x_t
        if self.write_gate is None:
            strength = e.new_ones(B, T)
        else:
            strength = torch.sigmoid(self.write_gate(torch.cat([key, value], -1))).squeeze(-1)
        strength = F.pad(strength[:, 1:], (1, 0))  # (B, T)
        unit_key = F.normalize(key, dim=-1)
        fixed = unit_key.detach()  # = slot_writes(key, strength, ...), sharing the normalised keys
        writer, filled = _slot_writes(fixed @ fixed.transpose(1, 2), strength.detach() > self.strength_floor,
                                      self.slots, self.merge_threshold)

        cos = F.normalize(e, dim=-1) @ unit_key.transpose(1, 2)  # (B, T, T) [t, t']
        lam = strength.gather(1, writer.flatten(1)).view_as(writer)  # (B, T, N): λ_s
        beta = cos.gather(2, writer) / math.sqrt(d) + lam.clamp_min(1e-4).log()
        beta = beta.masked_fill(~filled, MASKED)  # (B, T, N)
        top, slot = beta.topk(self.top_k, dim=-1)  # (B, T, K)
        src = writer.gather(2, slot).flatten(1)  # (B, T·K): the writing position of each chosen slot
        looked_up = filled.any(-1)  # (B, T)
        if batch_coupled:
            looked_up = looked_up.any(0, keepdim=True).expand(B, T)
        w = F.softmax(8 * top, dim=-1) * looked_up[..., None]  # (B, T, K)
        # value[b, src] as rows of the flattened batch: the same copy as a gather along T, but row
        # by row (its backward, index_add, accumulates in the same order as gather's scatter_add).
        rows = (src + torch.arange(0, B * T, T, device=src.device)[:, None]).flatten()
        chosen = value.reshape(B * T, d).index_select(0, rows).view(B, T, self.top_k, d)
        context = (w[..., None] * chosen).sum(2)  # (B, T, d)
        pointer = e.new_zeros(B, T, self.vocab_size).scatter_add_(
            2, ids.gather(1, src).view(B, T, self.top_k), w)
        return context, pointer

    def forward(self, u, context):  # u, context (B, T, d) -> addition to a_t (B, T, d)
        return torch.sigmoid(self.gate(u)) * context

    def pointer_bias(self, u, votes):  # u (B, T, d), votes: read's pointer (B, T, V) -> Π (B, T, V)
        return torch.sigmoid(self.pointer_gate(u)) * votes
