"""Spec §4.7 and §10.1 item 7: the SparsePointer write rule, its binding-survival simulation, and
the lookup gating of D12."""

import pytest
import torch

from models.side_memory import SlotMemory, slot_writes
from repro.slot_capacity import binding_survival, recall_inputs

THETA, FLOOR = 0.85, 0.05


def _one_hot_keys(ids):  # written ids -> (1, T, D) keys, id i ↦ e_i; position 0 does not write
    return torch.eye(16)[torch.tensor([0, *ids])].unsqueeze(0)


def _writes(ids, slots, strengths=None):
    keys = _one_hot_keys(ids)
    strengths = torch.ones(1, keys.size(1)) if strengths is None else torch.tensor([[1.0, *strengths]])
    writer, filled = slot_writes(keys, strengths, slots, THETA, FLOOR)
    return writer[0], filled[0]  # (T, N): the slots seen by the lookup at each position


def _reference_writes(keys, strengths, slots):
    """§4.7 step 3 as written, one example and one slot at a time, with explicit ages."""
    T = keys.size(0)
    K, lam, age, writer = torch.zeros(slots, keys.size(1)), [0.0] * slots, [0] * slots, [0] * slots
    writers, filleds = [list(writer)], [[False] * slots]
    for t in range(1, T - 1):
        filled = [lam[s] > FLOOR for s in range(slots)]
        age = [a + f for a, f in zip(age, filled)]
        sims = [torch.cosine_similarity(keys[t], K[s], dim=0).item() if filled[s] else -1e9
                for s in range(slots)]
        best = max(range(slots), key=lambda s: (sims[s], -s))
        if sims[best] > THETA:
            target = best
        elif not all(filled):
            target = filled.index(False)
        else:
            target = max(range(slots), key=lambda s: (age[s], -s))
        K[target], lam[target], age[target], writer[target] = keys[t], strengths[t].item(), 0, t
        writers.append(list(writer))
        filleds.append([lam[s] > FLOOR for s in range(slots)])
    return torch.tensor([writers[0], *writers]), torch.tensor([filleds[0], *filleds])


def test_vectorised_rule_matches_the_reference():
    g = torch.Generator().manual_seed(0)
    table = torch.randn(6, 8, generator=g)
    ids = torch.randint(0, 6, (5, 40), generator=g)  # few ids: many merges and evictions
    strengths = torch.rand(5, 40, generator=g) * 0.2  # a quarter of the writes at or below the floor
    writer, filled = slot_writes(table[ids], strengths, 4, THETA, FLOOR)
    for b in range(5):
        ref_writer, ref_filled = _reference_writes(table[ids[b]], strengths[b], 4)
        assert torch.equal(filled[b], ref_filled)
        assert torch.equal(writer[b], ref_writer)


def test_repeated_previous_token_overwrites_its_own_slot():
    writer, filled = _writes([3, 5, 3, 5, 3], slots=4)
    assert writer[-1].tolist() == [3, 4, 0, 0]  # the lookup at t = 5 sees the writes at 1-4
    assert filled[-1].tolist() == [True, True, False, False]


def test_fill_lowest_empty_slot_then_replace_the_oldest():
    writer, filled = _writes([1, 2, 3, 1, 4, 5, 0], slots=3)
    assert writer[4].tolist() == [1, 2, 3]  # fill in index order
    assert writer[5].tolist() == [4, 2, 3]  # id 1 merges into slot 0 and becomes the youngest
    assert writer[6].tolist() == [4, 5, 3]  # full: the oldest (id 2, slot 1) is replaced
    assert writer[7].tolist() == [4, 5, 6]  # then id 3
    assert filled[4:].all()


def test_write_at_or_below_the_floor_is_invisible_and_reusable():
    writer, filled = _writes([1, 2, 3, 4], slots=2, strengths=[1.0, FLOOR, 1.0, 1.0])
    assert writer[3].tolist() == [1, 2] and filled[3].tolist() == [True, False]
    assert writer[4].tolist() == [1, 3]  # slot 1 is empty again: filled, not an eviction of slot 0
    assert filled[4].all()


def test_unfilled_slot_is_never_a_merge_target():
    """Slots 0 and 1 end up unfilled (rewritten at the floor) but keep their keys, ids 1 and 2;
    the next write of id 2 (cos = 1 with slot 1) goes to the lowest unfilled slot, 0."""
    writer, filled = _writes([1, 2, 2, 1, 2, 0], slots=3, strengths=[1.0, 1.0, FLOOR, FLOOR, 1.0, 1.0])
    assert writer[5].tolist() == [4, 3, 0] and not filled[5].any()
    assert writer[6].tolist() == [5, 3, 0] and filled[6].tolist() == [True, False, False]


@pytest.fixture(scope="module")
def survival():
    """Write rule alone, random embeddings, all strengths above the floor (§4.7 mechanism notes),
    2,000 sequences per pair count."""
    out = {}
    for pairs in (4, 6, 8):
        inputs = recall_inputs(pairs, 2000, seed=0)
        for slots in (4, 8, 16, 18, 19, 20, 22, 23, 24, 26, 27, 32):
            found = binding_survival(slots, inputs, THETA, FLOOR)
            out[slots, pairs] = (found.stored, found.no_eviction)
    return out


@pytest.mark.parametrize("slots, pairs, expected", [
    (4, 4, 0.0), (4, 6, 0.0), (4, 8, 0.0), (8, 4, 0.0), (8, 6, 0.0), (8, 8, 0.0),
    (16, 4, 0.50), (16, 6, 0.35), (16, 8, 0.24), (20, 4, 1.0), (20, 6, 0.67), (20, 8, 0.49),
    (24, 4, 1.0), (24, 6, 1.0), (24, 8, 0.74), (32, 4, 1.0), (32, 6, 1.0), (32, 8, 1.0),
])
def test_binding_survival_matches_the_spec_simulation(survival, slots, pairs, expected):
    stored, _ = survival[slots, pairs]
    assert abs(stored - expected) <= 0.04  # ±4 points at 2,000 sequences (§10.1 item 7)


@pytest.mark.parametrize("pairs, threshold", [(4, 19), (6, 23), (8, 27)])
def test_fewest_slots_that_always_keep_the_binding(survival, pairs, threshold):
    assert survival[threshold, pairs][0] == 1.0 > survival[threshold - 1, pairs][0]


@pytest.mark.parametrize("slots", [20, 32])
def test_no_eviction_before_the_query_with_20_slots_and_4_pairs(survival, slots):
    assert survival[slots, 4][1]


def test_lookup_gating_is_batch_level_only_in_faithful_mode():
    """D12: example 0 writes only at strength ≈ 0 (never a filled slot), example 1 at ≈ 1."""
    d, V, T = 8, 4, 6
    memory = SlotMemory(d, V, slots=4, top_k=4, merge_threshold=THETA, strength_floor=FLOOR,
                        write_gate=True, pointer_logits=True)
    with torch.no_grad():
        memory.write_gate.weight.zero_()
        memory.write_gate.weight[0, d] = 1.0  # strength σ(e_t[0]) of the written value e_t
        memory.write_gate.bias.zero_()
    table = torch.randn(V, d, generator=torch.Generator().manual_seed(0))
    table[:, 0] = torch.tensor([-50.0, -50.0, 50.0, 50.0])  # ids 0, 1 weak; ids 2, 3 strong
    idx = torch.tensor([[0, 1, 0, 1, 0, 1], [2, 3, 2, 3, 2, 3]])
    for coupled in (True, False):
        context, pointer = memory.read(table[idx], idx, batch_coupled=coupled)
        mass = pointer.sum(-1)  # (2, T): Σ w = 1 where a lookup runs
        assert torch.allclose(mass[1], torch.tensor([0.0, 0.0, 1, 1, 1, 1]))
        # Faithful: example 0 reads uniform weights over its 4 stale, unfilled slots.
        assert torch.allclose(mass[0], torch.tensor([0.0, 0.0, 1, 1, 1, 1]) if coupled else torch.zeros(T))
        assert (context[0].abs().sum() > 0) == coupled
