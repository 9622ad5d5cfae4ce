"""Spec §4.9, §4.12.4, §5.2, E6 and D3: the triple-benchmark classifiers and auxiliary heads."""

import math

import pytest
import torch
import torch.nn.functional as F

from models import build_model, count_params
from models.auxiliary_heads import AuxiliaryHeads

V, P, N_CLASSES, D = 53, 49, 16, 64
LAYOUT = dict(task_token_base=49, tag_base=46, n_tags=3, role_markers=(3, 4, 5),
              value_starts=(22, 30, 38), n_values=8, task_position=1)
TRANSFORMER_TRIPLE = {"family": "transformer_triple", "d_model": 64, "n_layers": 2, "n_heads": 4}
TYPED_LATENT = {"family": "typed_latent", "d_model": 64}
TYPED_LATENT_LEARNED = {**TYPED_LATENT, "learned_rules": True}

# Token ids of §5.2.1.
BOS, QUERY, ROLE, VALUE_START, TAG = 1, 2, (3, 4, 5), (22, 30, 38), 46
COPY, AFFINE, GATE, LOOKUP = range(4)
RULES = {  # §5.2.2
    COPY: lambda a, b, c: a,
    AFFINE: lambda a, b, c: (a + 2 * b + 3 * c) % 16,
    GATE: lambda a, b, c: (a * (b + 1) + c * ((a ^ b) + 1)) % 16,
}
VALUES = {0: (3, 5, 7), 1: (6, 1, 2), 2: (7, 7, 4)}  # tag: (a, b, c), the same in every sequence


def record(tag):  # (TAG_i, ROLE_A, A-value, ROLE_B, B-value, ROLE_C, C-value)
    return [TAG + tag] + [t for role, v in enumerate(VALUES[tag]) for t in (ROLE[role], VALUE_START[role] + v)]


def chunk(tag, role):  # (TAG_i, ROLE_X, X-value)
    return [TAG + tag, ROLE[role], VALUE_START[role] + VALUES[tag][role]]


def sequence(task, units, gaps, query):
    """[BOS, TASK] + gap₀ unit₀ gap₁ … unit_last gap_last + [QUERY, TAG_query] (§5.2.3); gaps are
    filler runs, 18 filler tokens in all."""
    assert len(gaps) == len(units) + 1 and sum(map(len, gaps)) == 18
    body = gaps[0] + [t for unit, gap in zip(units, gaps[1:]) for t in unit + gap]
    return [BOS, 49 + task] + body + [QUERY, TAG + query]


# Record format (copy/affine/gate), 43 tokens: records in the order (2, 0, 1) and (1, 2, 0).
RECORDS = [
    ([record(2), record(0), record(1)], [[6, 7], [8, 9, 10, 11, 12], [], [13] * 11], 0),
    ([record(1), record(2), record(0)], [[], [14] * 9, [15, 16, 17, 18, 19, 20], [21, 6, 7]], 2),
]
# Chunk format (lookup), 49 tokens: the nine (tag, role) chunks interleaved.
CHUNKS = [
    ([chunk(1, 2), chunk(0, 0), chunk(2, 1), chunk(1, 0), chunk(0, 2), chunk(2, 0), chunk(1, 1),
      chunk(0, 1), chunk(2, 2)], [[6, 7, 8], [], [9, 10], [11], [], [12] * 4, [13, 14], [], [15] * 5, [16]], 1),
    ([chunk(0, 0), chunk(0, 1), chunk(2, 2), chunk(1, 1), chunk(2, 0), chunk(0, 2), chunk(1, 2),
      chunk(2, 1), chunk(1, 0)], [[], [20] * 10, [], [], [19], [], [18, 17], [], [], [6, 7, 8, 9, 10]], 2),
]


def batch(task, examples):  # -> idx (B, T), query tags (B,)
    x = torch.tensor([sequence(task, units, gaps, query) for units, gaps, query in examples])
    return x, [query for _, _, query in examples]


def build(variant, **kw):
    return build_model(variant, vocab_size=V, max_seq_len=P, pad_id=0, mode="faithful", dropout=0.1,
                       n_classes=N_CLASSES, layout=LAYOUT, **kw)


def test_hand_built_sequences_follow_the_layout():
    assert batch(COPY, RECORDS)[0].shape == (2, 43)
    assert batch(LOOKUP, CHUNKS)[0].shape == (2, 49)


# ---- parameter counts (§4.12.4) ----------------------------------------------------------------

@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_paper_parameter_counts(mode):
    for variant, expected in [(TRANSFORMER_TRIPLE, 107_664), (TYPED_LATENT, 18_496)]:
        model = build_model(variant, vocab_size=V, max_seq_len=P, pad_id=0, mode=mode, dropout=0.1,
                            n_classes=N_CLASSES, layout=LAYOUT)
        assert count_params(model) == expected


def test_learned_rules_parameter_count():
    """One 8×8×8×16 table per task instead of Λ alone; the auxiliary representation unchanged:
    4·8³·16 + (28·64 + 64) + 2·64 + 2·(64·64 + 64) = 32,768 + 10,304 = 43,072."""
    d, n = D, 8
    aux = (4 + 3 * n) * d + d + 2 * d + 2 * (d * d + d)
    assert aux == 10_304
    assert count_params(build(TYPED_LATENT_LEARNED)) == 4 * n ** 3 * N_CLASSES + aux == 43_072


def test_auxiliary_heads_have_default_init_and_shape():
    torch.manual_seed(0)
    heads = AuxiliaryHeads(D)
    assert count_params(heads) == 3 * (8 * D + 8)
    bound = 1 / math.sqrt(D)
    for head in heads.heads:
        assert head.weight.abs().max() <= bound and head.bias.abs().max() <= bound
        assert head.weight.std() > 0.06  # U(±0.125): std 0.072, not N(0, 0.02²)
        assert head.bias.abs().max() > 0.05  # not zeroed
    assert heads(torch.randn(5, D)).shape == (5, 3, 8)


def test_other_families_accept_the_triple_keywords():
    model = build_model({"family": "transformer", "d_model": 64, "n_layers": 1, "n_heads": 4},
                        vocab_size=V, max_seq_len=P, pad_id=0, mode="faithful", dropout=0.1,
                        n_classes=N_CLASSES, layout=LAYOUT)
    assert model(torch.randint(0, V, (2, 10))).shape == (2, 10, V)


# ---- Transformer-Triple ------------------------------------------------------------------------

@pytest.mark.parametrize("T", [43, 49])
@pytest.mark.parametrize("variant", [TRANSFORMER_TRIPLE, TYPED_LATENT, TYPED_LATENT_LEARNED])
def test_output_shapes(variant, T):
    logits, rep = build(variant)(torch.randint(0, V, (3, T)))
    assert logits.shape == (3, N_CLASSES) and rep.shape == (3, D)


def test_transformer_triple_keeps_xavier_in_projection():
    torch.manual_seed(0)
    model = build(TRANSFORMER_TRIPLE)
    attn = model.blocks[0].attn
    assert attn.in_proj_weight.abs().max() <= (6 / (4 * D)) ** 0.5 and attn.in_proj_weight.std() > 0.08
    assert abs(model.head.weight.std() - 0.02) < 0.004 and model.head.bias.abs().max() == 0


def _encoder_states(model, x):  # (B, T) -> the last block's output (B, T, d), and the logits
    states = []
    handle = model.blocks[-1].register_forward_hook(lambda module, inputs, output: states.append(output))
    with torch.no_grad():
        logits = model(x)[0]
    handle.remove()
    return states[0], logits


@pytest.mark.parametrize("t", [0, 20, 47])
def test_transformer_triple_is_bidirectional(t):
    """Every token reaches the logits, and (unlike a causal model, where the last position sees
    everything too) a later token reaches the state of position 0."""
    torch.manual_seed(0)
    model = build(TRANSFORMER_TRIPLE).eval()
    x = torch.randint(0, V, (1, P))
    y = x.clone()
    y[0, t] = (y[0, t] + 1) % V
    (hx, logits_x), (hy, logits_y) = _encoder_states(model, x), _encoder_states(model, y)
    assert (logits_x - logits_y).abs().max() > 1e-4
    assert (hx[0, :t + 1] - hy[0, :t + 1]).abs().amax(-1).min() > 1e-4


def test_transformer_triple_reads_only_the_last_position():
    torch.manual_seed(0)
    model = build(TRANSFORMER_TRIPLE).eval()
    x = torch.randint(0, V, (2, P))

    def run(positions):  # rep with the last block's output replaced by noise at `positions`
        def hook(module, inputs, output):
            output = output.clone()
            output[:, positions] = torch.randn_like(output[:, positions])
            return output
        handle = model.blocks[-1].register_forward_hook(hook)
        with torch.no_grad():
            rep = model(x)[1]
        handle.remove()
        return rep

    with torch.no_grad():
        rep = model(x)[1]
    assert torch.equal(run(slice(0, P - 1)), rep)
    assert (run(slice(P - 1, P)) - rep).abs().max() > 1e-3


# ---- Typed-Latent (faithful) -------------------------------------------------------------------

@pytest.mark.parametrize("examples", [RECORDS, CHUNKS])
def test_parser_recovers_the_task_and_the_queried_tuple(examples):
    model = build(TYPED_LATENT)
    for task in range(4):
        x, queries = batch(task, examples)
        parsed_task, slots = model.parse(x)
        assert parsed_task.tolist() == [task] * len(queries)
        assert (slots.sum(-1) == 1).all()
        assert slots.argmax(-1).tolist() == [list(VALUES[q]) for q in queries]


def test_parser_ignores_bindings_before_the_first_tag():
    x, _ = batch(COPY, RECORDS[:1])
    x[0, 2:4] = torch.tensor([ROLE[0], VALUE_START[0] + 0])  # an A binding in the first gap
    assert build(TYPED_LATENT).parse(x)[1].argmax(-1).tolist() == [list(VALUES[0])]


@pytest.mark.parametrize("task", [COPY, AFFINE, GATE])
@pytest.mark.parametrize("examples", [RECORDS, CHUNKS])
def test_typed_latent_hard_codes_the_rules(task, examples):
    """D3: 100% on copy/affine/gate before any training, by construction."""
    x, queries = batch(task, examples)
    logits, _ = build(TYPED_LATENT)(x)
    assert logits.argmax(-1).tolist() == [RULES[task](*VALUES[q]) for q in queries]
    assert logits.max(-1).values.eq(12).all()


def test_typed_latent_lookup_is_uniform_at_init():
    x, _ = batch(LOOKUP, CHUNKS)
    logits, _ = build(TYPED_LATENT)(x)
    assert logits.abs().max() == 0
    assert F.cross_entropy(logits, torch.tensor([14, 3])).item() == pytest.approx(math.log(16))


@pytest.mark.parametrize("variant", [TYPED_LATENT, TYPED_LATENT_LEARNED])
def test_auxiliary_representation_never_reaches_the_logits(variant):
    torch.manual_seed(0)
    model = build(variant).eval()
    x, _ = batch(AFFINE, RECORDS)
    with torch.no_grad():
        logits, rep = model(x)
        for name, p in model.named_parameters():
            if name != "tables":
                p.add_(torch.randn_like(p))
        perturbed_logits, perturbed_rep = model(x)
    assert torch.equal(logits, perturbed_logits)
    assert (rep - perturbed_rep).abs().max() > 1e-2


def _step(model, x, y):
    """One AdamW step (R-TRI settings) on the prediction loss; returns the parameters it changed."""
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.01)
    F.cross_entropy(model(x)[0], y).backward()
    optimiser.step()
    return {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}


def test_a_lookup_step_changes_only_the_lookup_table():
    model = build(TYPED_LATENT)
    x, queries = batch(LOOKUP, CHUNKS)
    assert _step(model, x, torch.tensor([5, 9])) == {"tables"}
    touched = model.tables.grad.abs().sum(-1).nonzero().tolist()
    assert touched == sorted([0, *VALUES[q]] for q in queries)


def test_lookup_table_gets_a_zero_gradient_on_other_tasks():
    """§5.2.4 optimiser note: Λ is in every forward pass, so AdamW counts the step."""
    model = build(TYPED_LATENT)
    x, _ = batch(GATE, RECORDS)
    F.cross_entropy(model(x)[0], torch.tensor([1, 2])).backward()
    assert model.tables.grad is not None and model.tables.grad.abs().max() == 0


# ---- Typed-Latent with learned rules -----------------------------------------------------------

@pytest.mark.parametrize("task", [COPY, AFFINE, GATE, LOOKUP])
def test_learned_rules_start_at_chance_on_every_task(task):
    for examples in (RECORDS, CHUNKS):
        logits, _ = build(TYPED_LATENT_LEARNED)(batch(task, examples)[0])
        assert logits.abs().max() == 0


@pytest.mark.parametrize("task", [COPY, LOOKUP])
def test_learned_rules_train_only_the_task_s_table(task):
    model = build(TYPED_LATENT_LEARNED)
    x, queries = batch(task, CHUNKS)
    assert _step(model, x, torch.tensor([5, 9])) == {"tables"}
    touched = model.tables.grad.abs().sum(-1).nonzero().tolist()
    assert touched == sorted([task, *VALUES[q]] for q in queries)


# ---- configuration errors ----------------------------------------------------------------------

@pytest.mark.parametrize("layout, message", [
    (None, "needs the triple benchmark's token layout"),
    ({k: v for k, v in LAYOUT.items() if k != "value_starts"}, "lacks value_starts"),
    ({**LAYOUT, "role_markers": (3, 4)}, r"role_markers.*three roles A, B, C"),
])
def test_bad_layout_is_rejected(layout, message):
    with pytest.raises(ValueError, match=message):
        build_model(TYPED_LATENT, vocab_size=V, max_seq_len=P, pad_id=0, mode="faithful", dropout=0.1,
                    n_classes=N_CLASSES, layout=layout)


@pytest.mark.parametrize("variant", [TRANSFORMER_TRIPLE, TYPED_LATENT])
def test_classifiers_need_n_classes(variant):
    with pytest.raises(ValueError, match="needs n_classes"):
        build_model(variant, vocab_size=V, max_seq_len=P, pad_id=0, mode="faithful", dropout=0.1,
                    layout=LAYOUT)
