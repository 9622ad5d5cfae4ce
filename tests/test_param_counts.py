"""Spec §10.1 item 1 (the families implemented so far), §4.12.2 and D15."""

from pathlib import Path

import pytest
import torch
import yaml

from models import build_model, count_params
from repro.acceleration import acceleration_for

VARIANTS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["variants"]
LM = dict(vocab_size=259, max_seq_len=128, pad_id=256)
RECALL = dict(vocab_size=64, max_seq_len=128, pad_id=0)

PAPER_COUNTS = {  # name: (LM, recall), spec §4.12
    "transformer": (174_848, 162_368),
    "unimatrix_core": (83_140, 70_660),
    "unimatrix_rosa": (103_876, 78_916),
    "unimatrix_discovery": (115_184, 83_984),
    "unimatrix_assoc": (99_588, 87_108),  # LM counts: §4.12.2 arithmetic, not printed in the paper
    "sparse_pointer": (87_494, 75_014),
}
SPARSE_POINTER_ABLATIONS = {  # recall, §4.12.2: the slot count does not change the count
    "sparse_pointer_slots4": 75_014,
    "sparse_pointer_slots8": 75_014,
    "sparse_pointer_slots16": 75_014,
    "sparse_pointer_slots32": 75_014,
    "sparse_pointer_slots32_noptr": 74_949,
    "sparse_pointer_slots32_nogate": 74_885,
}

# The paper's neighbours (not in the paper; P = 128). Universal Transformer: token, position and step
# tables V·d + P·d + K·d, one shared block 12d² + 13d (2 LN 4d, attention 4d² + 4d, FFN 8d² + 5d), LN_f 2d;
# ACT adds the halting unit d + 1; MeSH adds K write and K read routers, 2·K·(d + 1)·M.
RELATED_COUNTS = {  # name: (LM V = 259, recall V = 64)
    # d 64, K 3: 16,576 / 4,096 + 8,192 + 192 + 49,984 + 128
    "universal_transformer": (75_072, 62_592),
    # d 68, K 3: 17,612 / 4,352 + 8,704 + 204 + 56,372 + 136 (UniMatrix-Core: 83,140 / 70,660)
    "universal_transformer_pm": (83_028, 69_768),
    # d 64, K 6: 16,576 / 4,096 + 8,192 + 384 + 49,984 + halting 65 + 128
    "universal_transformer_act": (75_329, 62_849),
    # d 68, K 6: 17,612 / 4,352 + 8,704 + 408 + 56,372 + halting 69 + 136
    "universal_transformer_act_pm": (83_301, 70_041),
    # the UT's 75,072 / 62,592 + routers 2·3·65·6 = 2,340 (M = 6)
    "universal_transformer_mesh": (77_412, 64_932),
    # UniMatrix-Core's 83,140 / 70,660 + routers 2,340
    "unimatrix_core_mesh": (85_480, 73_000),
    # Transformer d 40: 10,360 / 2,560 + 5,120 + 3 layers of 12·40² + 13·40 = 19,720 + 80
    "transformer_d40": (74_720, 66_920),
}


@pytest.mark.parametrize("name", [*PAPER_COUNTS, *RELATED_COUNTS])
@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_parameter_counts_of_the_paper_and_its_neighbours(name, mode):
    for task, expected in zip((LM, RECALL), {**PAPER_COUNTS, **RELATED_COUNTS}[name]):
        model = build_model(VARIANTS[name], **task, mode=mode, dropout=0.1)
        assert count_params(model) == expected


@pytest.mark.parametrize("name", SPARSE_POINTER_ABLATIONS)
@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_sparse_pointer_ablation_counts(name, mode):
    model = build_model(VARIANTS[name], **RECALL, mode=mode, dropout=0.1)
    assert count_params(model) == SPARSE_POINTER_ABLATIONS[name]


@pytest.mark.parametrize("name, used", [("unimatrix_core", False), ("unimatrix_rosa", False),
                                        ("unimatrix_discovery", True),
                                        ("unimatrix_assoc", False), ("sparse_pointer", False)])
def test_diagonal_write_gets_gradient_only_with_rulemix(name, used):
    model = build_model(VARIANTS[name], **LM, mode="faithful", dropout=0.1)
    model(torch.randint(0, 259, (2, 16))).sum().backward()
    assert (model.block.w_delta.weight.grad is not None) == used
    assert all(p.grad is not None for n, p in model.named_parameters() if "w_delta" not in n)


def test_attention_in_projection_keeps_xavier_init():
    torch.manual_seed(0)
    model = build_model(VARIANTS["transformer"], **LM, mode="faithful", dropout=0.1)
    attn = model.blocks[0].attn
    bound = (6 / (64 + 3 * 64)) ** 0.5
    assert attn.in_proj_weight.abs().max() <= bound
    assert attn.in_proj_weight.std() > 0.08  # uniform on ±0.153: std 0.088, not 0.02
    assert abs(attn.out_proj.weight.std() - 0.02) < 0.003
    assert attn.in_proj_bias.abs().max() == 0


def test_unknown_names_are_rejected():
    core = VARIANTS["unimatrix_core"]
    with pytest.raises(ValueError, match="'mamba3'"):
        build_model({**core, "family": "mamba3"}, **LM, mode="faithful", dropout=0.1)
    with pytest.raises(ValueError, match="'causal'.*faithful, corrected"):
        build_model(core, **LM, mode="causal", dropout=0.1)
    with pytest.raises(ValueError, match="recurrence='chunked'.*fast, reference"):
        acceleration_for(torch.device("cpu"), recurrence="chunked", cuda_graphs=False, flush_denormals=True, threads=1)


@pytest.mark.parametrize("key, value, valid", [
    ("side_memory", "sparse", "none, assoc, sparse_pointer"),
    ("slot_top_k", 33, "1..slots=32"),
    ("merge_threshold", 1.5, r"\[-1, 1\]"),
    ("strength_floor", -0.1, r"\[0, 1\)"),
    ("write_gate", "yes", "true or false"),
])
def test_bad_side_memory_values_name_the_key_and_the_valid_values(key, value, valid):
    with pytest.raises(ValueError, match=f"{key}={value!r}; valid: .*{valid}"):
        build_model({**VARIANTS["sparse_pointer"], key: value}, **RECALL, mode="faithful", dropout=0.1)
