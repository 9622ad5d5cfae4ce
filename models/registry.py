"""Variant config (one entry of `variants:` in config/config.yaml) -> model. Adding a family is
one builder function and one line in BUILDERS."""

from collections.abc import Mapping

import torch.nn as nn

from models.acceleration import Acceleration
from models.mamba2 import Mamba2, Mamba2Config
from models.recurrent_ffn import RecurrentFFNConfig, RecurrentFFNTransformer
from models.transformer import Transformer, TransformerConfig
from models.transformer_triple import TransformerTriple, TransformerTripleConfig
from models.triple_latent import TripleLatent, TripleLatentConfig
from models.typed_latent import TypedLatent, TypedLatentConfig
from models.unimatrix import UniMatrix, UniMatrixConfig

# Optional UniMatrix keys (absent = the UniMatrixConfig default, which keeps older variants as
# they were).
SIDE_MEMORY_KEYS = ("side_memory", "assoc_dim", "assoc_top_k", "slots", "slot_top_k",
                    "merge_threshold", "strength_floor", "write_gate", "pointer_logits")

MODES = ("faithful", "corrected")


def _transformer(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration, **_):
    return Transformer(TransformerConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, dropout=dropout,
        d_model=v["d_model"], n_layers=v["n_layers"], n_heads=v["n_heads"],
    ), acceleration=acceleration)


def _unimatrix(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration, **_):
    return UniMatrix(UniMatrixConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, pad_id=pad_id, dropout=dropout,
        carry_state_across_depth=mode == "faithful", batch_coupled_lookup=mode == "faithful",
        d_model=v["d_model"], depth=v["depth"], n_heads=v["n_heads"], state_size=v["state_size"],
        rosa=v["rosa"], rulemix=v["rulemix"], frobenius_guard=v["frobenius_guard"],
        step_embedding=v["step_embedding"], deep_embed_dim=v["deep_embed_dim"],
        **{key: v[key] for key in SIDE_MEMORY_KEYS if key in v},
    ), acceleration=acceleration)


def _triple_latent(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration, **_):
    return TripleLatent(TripleLatentConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, dropout=dropout, causal_conv=mode == "corrected",
        d_model=v["d_model"], n_layers=v["n_layers"], n_heads=v["n_heads"], state_size=v["state_size"],
        memory=v["memory"], local_conv=v["local_conv"], **({"slots": v["slots"]} if "slots" in v else {}),
    ), acceleration=acceleration)


def _mamba2(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration, **_):
    # External baseline of the seq-64 pilot (spec §4.11): no defect to correct, so `mode` changes nothing.
    return Mamba2(Mamba2Config(
        vocab_size=vocab_size, dropout=dropout,
        d_model=v["d_model"], n_layers=v["n_layers"], n_heads=v["n_heads"], d_state=v["d_state"],
        expand=v["expand"], conv_kernel=v["conv_kernel"],
    ), acceleration=acceleration)


def _recurrent_ffn(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration, **_):
    # No switch of spec §0.2 concerns this family: `mode` changes nothing.
    return RecurrentFFNTransformer(RecurrentFFNConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, dropout=dropout,
        d_model=v["d_model"], n_layers=v["n_layers"], n_heads=v["n_heads"], state_size=v["state_size"],
        readout=v["readout"], local_branch=v["local_branch"],
    ), acceleration=acceleration)


def _needs_n_classes(family: str, n_classes) -> int:
    if n_classes is None:
        raise ValueError(f"{family} is a sequence classifier: build_model needs n_classes "
                         "(16 for the triple benchmark)")
    return n_classes


def _transformer_triple(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration,
                        n_classes=None, layout=None):
    return TransformerTriple(TransformerTripleConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, dropout=dropout,
        n_classes=_needs_n_classes("transformer_triple", n_classes),
        d_model=v["d_model"], n_layers=v["n_layers"], n_heads=v["n_heads"],
    ), acceleration=acceleration)


def _typed_latent(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, acceleration,
                  n_classes=None, layout=None):
    return TypedLatent(TypedLatentConfig(
        layout=layout, dropout=dropout, n_classes=_needs_n_classes("typed_latent", n_classes),
        d_model=v["d_model"], learned_rules=v.get("learned_rules", False),
    ), acceleration=acceleration)


BUILDERS = {
    "transformer": _transformer,
    "unimatrix": _unimatrix,
    "transformer_triple": _transformer_triple,
    "typed_latent": _typed_latent,
    "triple_latent": _triple_latent,
    "mamba2": _mamba2,
    "recurrent_ffn": _recurrent_ffn,
}


def _check(what: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


def build_model(variant: Mapping, *, vocab_size: int, max_seq_len: int, pad_id: int, mode: str,
                dropout: float, acceleration: Acceleration = Acceleration(), n_classes: int | None = None,
                layout: Mapping | None = None) -> nn.Module:
    """forward(x: LongTensor (B, T)) -> logits (B, T, vocab_size); the triple-benchmark
    classifiers (transformer_triple, typed_latent) instead return (logits (B, n_classes),
    rep (B, d_model)) and need `n_classes`, typed_latent also the benchmark's token `layout`.
    `mode` only changes the families listed in spec §0.2; the Transformer is identical in both.
    `acceleration` (repro/runtime.acceleration_for) changes speed only."""
    _check("model family", variant["family"], BUILDERS)
    _check("mode", mode, MODES)
    return BUILDERS[variant["family"]](
        variant, vocab_size=vocab_size, max_seq_len=max_seq_len, pad_id=pad_id, mode=mode,
        dropout=dropout, acceleration=acceleration, n_classes=n_classes, layout=layout,
    )


def count_params(model: nn.Module) -> int:
    """Distinct parameter tensors (the tied head shares the embedding), used or not (D15)."""
    return sum(p.numel() for p in model.parameters())
