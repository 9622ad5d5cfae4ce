"""UniMatrix-SparsePointer as spec §4.2 and §4.7 read, one position at a time: the oracle that
tests/test_sparse_pointer_fidelity.py holds the model to.

Nothing here is shared with models/: every step is written from the spec's text, with the slot
memory as explicit tensors (keys, values, strengths, ages, ids) per example, reset at each depth
step, and the per-token matrix-state scan. It reads the weights of a built `UniMatrix` and runs
without dropout (the model in eval mode computes the same function as with dropout 0).
"""
import math

import torch
import torch.nn.functional as F

NO_SLOT = -1e9  # the spec's score of a slot that is not filled


def logits(model, idx: torch.Tensor, faithful: bool) -> torch.Tensor:
    """idx (B, T) -> logits (B, T, V) of `model` (a UniMatrix with side_memory "sparse_pointer",
    no ROSA, RuleMix, guard, step embedding or DeepEmbed: the variants of Tables 4 and 5)."""
    cfg = model.cfg
    B, T = idx.shape
    E = model.embed.tok.weight
    e = E[idx]  # raw token embeddings: keys, values, queries and the write gate's input
    X = e + model.embed.pos.weight[:T]
    state = None
    for _ in range(cfg.depth):
        X, state_end, pointer = _block(model, X, e, idx, state, faithful)
        state = state_end if faithful else None  # D1: the carried state, or a reset
    out = F.linear(model.ln_f(X), E)  # tied head
    return out + pointer if pointer is not None else out  # Π of the last depth step only


def _block(model, X, e, idx, state0, faithful):
    cfg, blk = model.cfg, model.block
    mem = blk.memory
    B, T, d = X.shape
    H, S, N = cfg.n_heads, cfg.state_size, cfg.slots
    state = X.new_zeros(B, H, S, S) if state0 is None else state0
    slots = _empty_slots(B, N, d, X)
    rows, pointers = [], []
    for t in range(T):
        x = X[:, t]
        u = blk.ln_a(x)
        q, k, v = (torch.tanh(w(u)).view(B, H, S) for w in (blk.w_q, blk.w_k, blk.w_v))
        rho = torch.sigmoid(blk.w_rho(u))[:, :, None, None]  # one scalar per head
        write = k[:, :, :, None] * v[:, :, None, :]  # O[i, j] = k_i v_j
        state = rho * state + (1 - rho) * write
        r = (state @ q[:, :, :, None]).reshape(B, H * S)  # r[i] = Σ_j S[i, j] q_j
        a = torch.sigmoid(blk.w_g(u)) * blk.w_o(r)
        context, votes = _lookup(slots, e[:, t], cfg, faithful)
        a = a + torch.sigmoid(mem.gate(u)) * context
        gamma = torch.sigmoid(mem.pointer_gate(u)) if cfg.pointer_logits else None
        h = x + a
        rows.append(h + blk.ffn(blk.ln_b(h)))
        pointers.append(gamma * votes if gamma is not None else None)
        if t >= 1:
            slots = _write(slots, e[:, t - 1], e[:, t], idx[:, t], mem, cfg)
    pointer = torch.stack(pointers, 1) if cfg.pointer_logits else None
    return torch.stack(rows, 1), state, pointer


def _empty_slots(B, N, d, like):
    return {
        "key": like.new_zeros(B, N, d), "value": like.new_zeros(B, N, d), "strength": like.new_zeros(B, N),
        "age": torch.zeros(B, N, dtype=torch.long), "id": torch.zeros(B, N, dtype=torch.long),
    }


def _lookup(slots, query, cfg, faithful):
    """Step 1: context (B, d) and pointer votes (B, V) before the pointer gate."""
    B, d = query.shape
    filled = slots["strength"] > cfg.strength_floor  # (B, N)
    runs = filled.any(-1)
    if faithful:  # D12: the lookup runs for every example once any example has a filled slot
        runs = runs.any().expand(B)
    contexts, votes = [], []
    for b in range(B):
        context, vote = query.new_zeros(d), query.new_zeros(cfg.vocab_size)
        if runs[b]:
            cos = F.cosine_similarity(query[b][None], slots["key"][b], dim=-1)
            beta = cos / math.sqrt(d) + slots["strength"][b].clamp_min(1e-4).log()
            beta = torch.where(filled[b], beta, torch.full_like(beta, NO_SLOT))
            top, chosen = beta.topk(cfg.slot_top_k)
            w = torch.softmax(8 * top, dim=0)
            context = (w[:, None] * slots["value"][b][chosen]).sum(0)
            vote = vote.index_add(0, slots["id"][b][chosen], w)
        contexts.append(context)
        votes.append(vote)
    return torch.stack(contexts), torch.stack(votes)


def _write(slots, key, value, token, mem, cfg):
    """Step 3 for every example: the candidate (e_{t−1}, e_t, λ̂, x_t) overwrites one slot."""
    B = key.size(0)
    if mem.write_gate is None:
        strength = key.new_ones(B)
    else:
        strength = torch.sigmoid(mem.write_gate(torch.cat([key, value], -1))).squeeze(-1)
    new = {name: tensor.clone() for name, tensor in slots.items()}
    filled = slots["strength"] > cfg.strength_floor
    new["age"] = slots["age"] + filled.long()  # (a) every filled slot ages
    for b in range(B):
        sim = F.cosine_similarity(key[b][None], slots["key"][b], dim=-1)
        sim = torch.where(filled[b], sim, torch.full_like(sim, NO_SLOT))
        best = int(sim.argmax())  # (b)
        if sim[best] > cfg.merge_threshold:  # (c) merge (an overwrite) ...
            target = best
        elif not bool(filled[b].all()):  # ... else the lowest-index slot that is not filled ...
            target = int((~filled[b]).nonzero()[0])
        else:  # ... else the oldest, lowest index on ties
            oldest = new["age"][b]
            target = int((oldest == oldest.max()).nonzero()[0])
        new["key"][b, target] = key[b]  # (d)
        new["value"][b, target] = value[b]
        new["strength"][b, target] = strength[b]
        new["age"][b, target] = 0
        new["id"][b, target] = token[b]
    return new
