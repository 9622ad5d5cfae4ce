import pandas as pd
import pytest
import torch

from repro import triple_audit
from repro.tasks.triple_data import (BOS, LAYOUT, QUERY, TAG_BASE, TASK_TOKEN_BASE, TASKS, lookup_table, rule_labels,
                                triple_batch)

TABLE = lookup_table(124)
FILLER = range(6, 22)


def batch(task, seed=7, size=50, seq_len=49, **options):
    options.setdefault("equal_lengths", False)
    return triple_batch(task, size, seq_len, torch.Generator().manual_seed(seed), TABLE, **options)


def body_units(sequence, body_start=2):
    """The body without filler, cut into the units of its format: 27 tokens → 9 chunks, 21 → 3 records."""
    body = [token for token in sequence[body_start:-2].tolist() if token not in FILLER]
    width = {27: 3, 21: 7}[len(body)]
    return [body[i:i + width] for i in range(0, len(body), width)]


def values_by_tag(units):
    """{tag: [a, b, c]} read from the units, checking every unit is TAG, then (ROLE, value) pairs."""
    values = {}
    for unit in units:
        tag = unit[0] - TAG_BASE
        assert 0 <= tag < 3
        for role_marker, token in zip(unit[1::2], unit[2::2]):
            role = role_marker - 3
            assert 0 <= role < 3 and 0 <= token - (22 + 8 * role) < 8
            slots = values.setdefault(tag, [None] * 3)
            assert slots[role] is None, "a (tag, role) binding appears twice"
            slots[role] = token - (22 + 8 * role)
    return values


def test_lookup_table_first_row_for_seed_124():
    assert TABLE[0, 0].tolist() == [14, 12, 1, 7, 2, 9, 0, 4]
    assert TABLE.shape == (8, 8, 8) and TABLE.min() >= 0 and TABLE.max() <= 15
    assert not torch.equal(TABLE, lookup_table(125))


def test_rule_formulas_on_hand_computed_cases():
    a, b, c = torch.tensor([3, 7, 1, 0]), torch.tensor([5, 7, 2, 0]), torch.tensor([6, 7, 0, 0])
    labels = rule_labels(a, b, c, TABLE)
    # affine: 3+10+18 = 31 → 15; gate: 3·6 + 6·((3 XOR 5) + 1) = 18 + 42 = 60 → 12
    assert labels[0].tolist() == [3, 15, 12, TABLE[3, 5, 6].item()]
    # 7 XOR 7 = 0: gate 7·8 + 7·1 = 63 → 15 (OR instead of XOR would give 0)
    assert labels[1].tolist() == [7, 10, 15, TABLE[7, 7, 7].item()]
    assert labels[2].tolist() == [1, 5, 3, TABLE[1, 2, 0].item()]
    assert labels[3].tolist() == [0, 0, 0, 14]


@pytest.mark.parametrize("task", TASKS)
def test_layout_labels_and_filler_of_the_faithful_benchmark(task):
    inputs, labels, aux = batch(task)
    assert inputs.shape == (50, 49 if task == "lookup" else 43)
    task_id = TASKS.index(task)
    for sequence, label, abc in zip(inputs, labels, aux):
        assert sequence[0] == BOS and sequence[1] == TASK_TOKEN_BASE + task_id and sequence[-2] == QUERY
        queried = sequence[-1].item() - TAG_BASE
        units = body_units(sequence)
        assert len(units) == (9 if task == "lookup" else 3)
        values = values_by_tag(units)
        assert sorted(values) == [0, 1, 2] and all(None not in v for v in values.values())
        assert values[queried] == abc.tolist()
        assert label == rule_labels(abc[0], abc[1], abc[2], TABLE)[task_id]
        assert sum(token in FILLER for token in sequence.tolist()) == 18


def test_body_holds_the_drawn_values_in_spec_order():
    # RNG order: a0 b0 c0 a1 b1 c1 a2 b2 c2, then the queried tag
    generator = torch.Generator().manual_seed(11)
    draws = [int(torch.randint(0, 8, (1,), generator=generator)) for _ in range(9)]
    queried = int(torch.randint(0, 3, (1,), generator=generator))
    for task in ("lookup", "copy"):
        inputs, _, aux = batch(task, seed=11, size=1)
        assert values_by_tag(body_units(inputs[0])) == {tag: draws[3 * tag:3 * tag + 3] for tag in range(3)}
        assert inputs[0, -1] == TAG_BASE + queried and aux[0].tolist() == draws[3 * queried:3 * queried + 3]


def test_filler_follows_the_spec_rng_order_gap_by_gap():
    # RNG order after the values and the queried tag: unit permutation, gap weights, gap assignment,
    # then the filler ids of each gap in turn
    generator = torch.Generator().manual_seed(5)
    torch.randint(0, 8, (9,), generator=generator), torch.randint(0, 3, (1,), generator=generator)
    torch.randperm(9, generator=generator)
    weights = torch.rand(10, generator=generator) + 1e-4
    gaps = torch.multinomial(weights / weights.sum(), 49 - 31, replacement=True, generator=generator)
    expected = [torch.randint(6, 22, (int(size),), generator=generator).tolist()
                for size in torch.bincount(gaps, minlength=10)]
    body, runs, run, i = batch("lookup", seed=5, size=1)[0][0, 2:-2].tolist(), [], [], 0
    while i < len(body):  # filler runs between the 3-token chunks
        if body[i] in FILLER:
            run.append(body[i])
            i += 1
        else:
            runs.append(run)
            run, i = [], i + 3
    assert runs + [run] == expected and sum(map(len, expected)) == 18


def test_units_are_shuffled_and_filler_spread_over_gaps():
    inputs, _, _ = batch("lookup", size=200)
    first_units = {tuple(body_units(sequence)[0][:2]) for sequence in inputs}
    assert len(first_units) == 9  # every (tag, role) chunk comes first sometimes
    filler_at_start = (torch.isin(inputs[:, 2], torch.tensor(FILLER))).double().mean()
    assert 0.1 < filler_at_start < 0.95  # the first gap is sometimes empty, sometimes not


def test_equal_lengths_make_every_task_seq_len():
    for task in TASKS:
        inputs, _, _ = batch(task, equal_lengths=True)
        assert inputs.shape == (50, 49)
        fillers = torch.isin(inputs, torch.tensor(FILLER)).sum(1)
        assert (fillers == (18 if task == "lookup" else 24)).all()


def test_uncorrected_inputs_carry_no_task_and_are_the_same_for_every_task():
    per_task = [batch(task, task_token=False, body_format="record") for task in TASKS]
    inputs = per_task[0][0]
    assert inputs.shape == (50, 42) and (inputs[:, 0] == BOS).all()
    assert not ((inputs >= TASK_TOKEN_BASE) & (inputs < TASK_TOKEN_BASE + 4)).any()
    for other_inputs, _, _ in per_task[1:]:
        assert torch.equal(other_inputs, inputs)
    labels = torch.stack([labels for _, labels, _ in per_task], 1)
    assert torch.equal(labels, triple_audit.all_rule_labels(per_task[0][2], TABLE))
    assert len(body_units(inputs[0], body_start=1)) == 3
    assert batch("copy", task_token=False, equal_lengths=True)[0].shape == (50, 49)


def test_same_seed_same_batch_other_seed_other_batch():
    first, second, other = batch("gate", seed=3), batch("gate", seed=3), batch("gate", seed=4)
    assert all(torch.equal(x, y) for x, y in zip(first, second))
    assert not torch.equal(first[0], other[0])


def test_layout_lets_a_parser_recover_the_queried_values():
    # the Typed-Latent parser of spec §4.9, written from LAYOUT alone
    starts, n = LAYOUT["value_starts"], LAYOUT["n_values"]
    for task_id, task in enumerate(TASKS):
        inputs, _, aux = batch(task, size=20)
        for sequence, abc in zip(inputs.tolist(), aux.tolist()):
            assert sequence[LAYOUT["task_position"]] - LAYOUT["task_token_base"] == task_id
            query_tag, tag, found = sequence[-1] - LAYOUT["tag_base"], None, [None] * 3
            for token, following in zip(sequence, sequence[1:]):
                if 0 <= token - LAYOUT["tag_base"] < LAYOUT["n_tags"]:
                    tag = token - LAYOUT["tag_base"]
                elif token in LAYOUT["role_markers"] and tag == query_tag:
                    role = LAYOUT["role_markers"].index(token)
                    if 0 <= following - starts[role] < n:
                        found[role] = following - starts[role]
            assert found == abc


@pytest.mark.parametrize("arguments, named", [
    (dict(task="sum"), "'sum'"),
    (dict(body_format="table"), "'table'"),
    (dict(seq_len=30), "seq_len=30"),
    (dict(task="copy", seq_len=24, equal_lengths=True), "seq_len=24"),
    (dict(size=0), "batch_size=0"),
])
def test_bad_arguments_name_the_value(arguments, named):
    arguments = {"task": "lookup", **arguments}
    with pytest.raises(ValueError, match=named):
        batch(**arguments)


def test_ambiguity_and_bayes_accuracy_on_hand_made_labels():
    zero_table = torch.zeros(8, 8, 8, dtype=torch.long)
    labels = triple_audit.all_rule_labels(torch.tensor([[0, 0, 0], [3, 5, 6]]), zero_table)
    assert labels.tolist() == [[0, 0, 0, 0], [3, 15, 12, 0]]
    assert triple_audit.is_ambiguous(labels).tolist() == [False, True]
    assert triple_audit.distinct_label_count(labels).tolist() == [1, 4]
    assert triple_audit.bayes_accuracy(labels) == pytest.approx((100 + 25) / 2)
    assert triple_audit.bayes_accuracy(torch.tensor([[1, 1, 2, 2]])) == pytest.approx(50)
    # with the real table a = b = c = 0 is ambiguous: lookup gives 14 where the others give 0
    assert triple_audit.is_ambiguous(triple_audit.all_rule_labels(torch.tensor([[0, 0, 0]]), TABLE)).item()


def test_bayes_accuracy_follows_the_task_posterior():
    labels = torch.tensor([[1, 2, 3, 4]])
    assert triple_audit.bayes_accuracy(labels, torch.tensor([[0.0, 0.0, 0.0, 1.0]])) == pytest.approx(100)
    assert triple_audit.bayes_accuracy(labels, torch.tensor([[0.5, 0.2, 0.3, 0.0]])) == pytest.approx(50)


def test_best_map_accuracy_counts_the_top_target_per_key():
    assert triple_audit.best_map_accuracy([49, 43, 43, 43], [3, 0, 1, 2]) == pytest.approx(50)
    assert triple_audit.best_map_accuracy([1, 1, 1, 2], [0, 0, 1, 1]) == pytest.approx(75)


def test_audit_numbers(tmp_path):
    out = tmp_path / "audit" / "triple_audit.csv"
    triple_audit.main(["--seed", "23", "--table-seed", "124", "--seq-len", "49", "--examples", "4000", "--out", str(out)])
    frame = pd.read_csv(out)
    assert list(frame.columns) == ["quantity", "value", "description"]
    assert [path.name for path in out.parent.iterdir()] == ["triple_audit.csv"]
    value = frame.set_index("quantity")["value"]
    assert value["task_from_length_faithful_pct"] == pytest.approx(50)
    assert value["task_from_length_equal_lengths_pct"] == pytest.approx(25)
    assert value["task_from_body_format_equal_lengths_pct"] == pytest.approx(50)
    assert value["bayes_accuracy_uncorrected_pct"] == pytest.approx(value["bayes_accuracy_uncorrected_exact_pct"], abs=1.5)
    assert 25 <= value["bayes_accuracy_uncorrected_exact_pct"] < value["bayes_accuracy_no_task_token_task_formats_pct"]
    assert 1 <= value["mean_distinct_labels"] <= 4
