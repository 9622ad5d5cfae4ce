"""Variant config (one entry of `variants:` in config/config.yaml) -> model. Adding a family is
one builder function and one line in BUILDERS."""

from collections.abc import Mapping

import torch.nn as nn

from models.matrix_state import FORMS
from models.transformer import Transformer, TransformerConfig
from models.unimatrix import UniMatrix, UniMatrixConfig

# Optional UniMatrix keys (absent = the UniMatrixConfig default, which keeps older variants as
# they were).
SIDE_MEMORY_KEYS = ("side_memory", "assoc_dim", "assoc_top_k", "slots", "slot_top_k",
                    "merge_threshold", "strength_floor", "write_gate", "pointer_logits")

MODES = ("faithful", "corrected")


def _transformer(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, recurrence):
    return Transformer(TransformerConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, dropout=dropout,
        d_model=v["d_model"], n_layers=v["n_layers"], n_heads=v["n_heads"],
    ))


def _unimatrix(v: Mapping, *, vocab_size, max_seq_len, pad_id, mode, dropout, recurrence):
    return UniMatrix(UniMatrixConfig(
        vocab_size=vocab_size, max_seq_len=max_seq_len, pad_id=pad_id, dropout=dropout,
        recurrence=recurrence,
        carry_state_across_depth=mode == "faithful", batch_coupled_lookup=mode == "faithful",
        d_model=v["d_model"], depth=v["depth"], n_heads=v["n_heads"], state_size=v["state_size"],
        rosa=v["rosa"], rulemix=v["rulemix"], frobenius_guard=v["frobenius_guard"],
        step_embedding=v["step_embedding"], deep_embed_dim=v["deep_embed_dim"],
        **{key: v[key] for key in SIDE_MEMORY_KEYS if key in v},
    ))


BUILDERS = {
    "transformer": _transformer,
    "unimatrix": _unimatrix,
}


def _check(what: str, value, valid) -> None:
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(valid)}")


def build_model(variant: Mapping, *, vocab_size: int, max_seq_len: int, pad_id: int, mode: str,
                dropout: float, recurrence: str = "fast") -> nn.Module:
    """forward(x: LongTensor (B, T)) -> logits (B, T, vocab_size). `mode` only changes the
    families listed in spec §0.2; the Transformer is identical in both."""
    _check("model family", variant["family"], BUILDERS)
    _check("mode", mode, MODES)
    _check("recurrence", recurrence, FORMS)
    return BUILDERS[variant["family"]](
        variant, vocab_size=vocab_size, max_seq_len=max_seq_len, pad_id=pad_id, mode=mode,
        dropout=dropout, recurrence=recurrence,
    )


def count_params(model: nn.Module) -> int:
    """Distinct parameter tensors (the tied head shares the embedding), used or not (D15)."""
    return sum(p.numel() for p in model.parameters())
