"""Where each model family drops (spec §1, §4.1, §4.2, §4.8–§4.11): the ordered list of dropout
calls in one training-mode forward, each named by the module that makes it, against the sites the
spec gives. A site that moves, appears or disappears fails here. The models are built with NumPy's
dropout masks, the CPU runs' path, in which attention's dropout is a call of its own too."""
from pathlib import Path

import pytest
import torch
import yaml

import models.dropout
from models import build_model
from models.acceleration import Acceleration
from repro.tasks import triple

SEQ_LEN = 49  # the triple benchmark's
VARIANTS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["variants"]


def _blocks(prefix, n, sites):  # the same sites in each of n layers (or depth steps) named prefix.i
    return [f"{prefix}.{i}.{site}" if prefix else site for i in range(n) for site in sites]


RESIDUAL_AND_FFN = ["drop", "ffn.drop", "drop"]  # Drop(mixer), the FFN's inner Drop, Drop(FFN)
ATTENTION_BLOCK = ["attn", *RESIDUAL_AND_FFN]  # §4.1: attention probabilities come first
UNIMATRIX_STEPS = ["embed.drop"] + ["block.drop", "block.ffn.drop", "block.drop"] * 3  # one shared block

EXPECTED_SITES = {
    "transformer": ["embed.drop", *_blocks("blocks", 3, ATTENTION_BLOCK)],
    # §4.2 step 11 at every depth step; nothing inside the side memories (§4.7: raw embeddings, no dropout)
    "unimatrix_core": UNIMATRIX_STEPS,
    "unimatrix_discovery": UNIMATRIX_STEPS,
    "unimatrix_assoc": UNIMATRIX_STEPS,
    "sparse_pointer": UNIMATRIX_STEPS,
    "triple_latent": ["embed.drop", *_blocks("layers", 3, RESIDUAL_AND_FFN)],  # §4.8
    "triple_hybrid": ["embed.drop", "conv_drop", *_blocks("layers", 3, RESIDUAL_AND_FFN)],
    # §4.10: F ends with its own Drop (the block's), the hybrid's local branch drops inside
    "recurrent_ffn": ["embed.drop", *_blocks("blocks", 3, ["attn", "drop", "drop"])],
    "recurrent_ffn_hybrid": ["embed.drop", *_blocks("blocks", 3, ["attn", "drop", "ffn.drop", "drop"])],
    "mamba2": ["drop", *_blocks("blocks", 2, ["drop"])],  # §4.11: embedding, then each residual branch
    "transformer_triple": ["embed.drop", *_blocks("blocks", 2, ATTENTION_BLOCK)],  # §4.9
    "typed_latent": ["mlp.2"],  # §4.9: rep = f + MLP(f), the MLP's Drop after its GELU
}


def dropout_sites(model, inputs, monkeypatch) -> list:
    """The module name of every dropout call, in order, in one training-mode forward."""
    names = {module: name for name, module in model.named_modules()}
    active, sites = [], []
    hooks = [module.register_forward_pre_hook(lambda m, _: active.append(names[m])) for module in names]
    hooks += [module.register_forward_hook(lambda m, _, __: active.pop() and None) for module in names]
    original = models.dropout.dropout

    def recorded(x, p, training, numpy_masks):
        sites.append((active[-1], p))
        return original(x, p, training, numpy_masks)

    monkeypatch.setattr(models.dropout, "dropout", recorded)  # Dropout modules and attention both call it
    model.train()(inputs)
    for hook in hooks:
        hook.remove()
    return sites


@pytest.mark.parametrize("name", EXPECTED_SITES)
@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_dropout_sites_follow_the_spec(name, mode, monkeypatch):
    # every model reads a batch of the triple benchmark: Typed-Latent parses it, the others take any ids
    inputs, _, _ = triple.triple_batch("lookup", 2, SEQ_LEN, torch.Generator().manual_seed(0),
                                       triple.lookup_table(0), equal_lengths=True)
    classifier = VARIANTS[name]["family"] in ("transformer_triple", "typed_latent")
    task = triple.MODEL_KWARGS if classifier else {}
    model = build_model(VARIANTS[name], vocab_size=triple.VOCAB_SIZE, max_seq_len=SEQ_LEN, pad_id=0, mode=mode,
                        dropout=0.1, acceleration=Acceleration(numpy_dropout=True), **task)
    assert dropout_sites(model, inputs, monkeypatch) == [(site, 0.1) for site in EXPECTED_SITES[name]]
