"""Spec §10.1 item 1 (the families implemented so far) and D15."""

from pathlib import Path

import pytest
import torch
import yaml

from models import build_model, count_params

VARIANTS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["variants"]
LM = dict(vocab_size=259, max_seq_len=128, pad_id=256)
RECALL = dict(vocab_size=64, max_seq_len=128, pad_id=0)

PAPER_COUNTS = {  # name: (LM, recall), spec §4.12
    "transformer": (174_848, 162_368),
    "unimatrix_core": (83_140, 70_660),
    "unimatrix_rosa": (103_876, 78_916),
    "unimatrix_discovery": (115_184, 83_984),
}


@pytest.mark.parametrize("name", PAPER_COUNTS)
@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_paper_parameter_counts(name, mode):
    for task, expected in zip((LM, RECALL), PAPER_COUNTS[name]):
        model = build_model(VARIANTS[name], **task, mode=mode, dropout=0.1)
        assert count_params(model) == expected


@pytest.mark.parametrize("name, used", [("unimatrix_core", False), ("unimatrix_rosa", False),
                                        ("unimatrix_discovery", True)])
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
    with pytest.raises(ValueError, match="'chunked'.*fast, reference"):
        build_model(core, **LM, mode="faithful", dropout=0.1, recurrence="chunked")
