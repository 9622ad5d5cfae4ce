"""Every model family, registered once in FAMILIES: its settings (a config dataclass whose
__post_init__ refuses what the model cannot build), its model class, and the traits the pipeline
reads. The config schema's family list and each family's keys, the checks of a variant when the
config is loaded, a variant's modes and the timing harness all derive from here: a new family is
one model file and one entry."""

from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, fields

import torch.nn as nn

from models.acceleration import Acceleration
from models.mamba2 import Mamba2, Mamba2Config
from models.recurrent_ffn import RecurrentFFNConfig, RecurrentFFNTransformer
from models.transformer import Transformer, TransformerConfig
from models.transformer_triple import TransformerTriple, TransformerTripleConfig
from models.triple_latent import TripleLatent, TripleLatentConfig
from models.typed_latent import TypedLatent, TypedLatentConfig
from models.unimatrix import UniMatrix, UniMatrixConfig
from models.universal_transformer import UniversalTransformer, UniversalTransformerConfig

MODES = ("faithful", "corrected")
# Settings that the run gives (its task and recipe), not the variant.
RUN_FIELDS = ("vocab_size", "max_seq_len", "pad_id", "dropout", "n_classes", "layout")


@dataclass(frozen=True)
class DefectSwitch:
    """A defect of spec §8 that `mode` switches: the boolean setting that holds it, its value in
    faithful mode (the original code's), and for which settings the defect exists at all."""
    defect: str
    field: str
    faithful: bool
    present: Callable[[object], bool] = lambda settings: True


@dataclass(frozen=True)
class Family:
    settings: type  # the config dataclass
    model: type  # model(settings, acceleration=...)
    has_recurrence: bool  # computed in a fast and a reference form (timed in both)
    has_length_axis: bool = True  # reads any length up to max_seq_len (timed against T)
    classifier: bool = False  # one prediction per sequence: (logits (B, n_classes), rep (B, d)), needs n_classes
    shared_depth: bool = False  # one `block` applied at every depth step (measured by repro/depth/)
    switches: tuple[DefectSwitch, ...] = ()

    def keys(self) -> list:
        """The keys a variant of this family sets: every setting but the run's and the mode's."""
        switched = {switch.field for switch in self.switches}
        return [f.name for f in fields(self.settings) if f.name not in RUN_FIELDS and f.name not in switched]

    def required_keys(self) -> list:
        return [f.name for f in fields(self.settings)
                if f.name in self.keys() and f.default is MISSING and f.default_factory is MISSING]

    def configure(self, variant: Mapping, mode: str, **run):
        """The family's settings for a variant's keys, a mode and what the run gives (RUN_FIELDS)."""
        if mode not in MODES:
            raise ValueError(f"mode={mode!r}; valid: {', '.join(MODES)}")
        names = {f.name for f in fields(self.settings)}
        return self.settings(**{key: value for key, value in variant.items() if key in self.keys()},
                             **{key: value for key, value in run.items() if key in names},
                             **{s.field: s.faithful if mode == "faithful" else not s.faithful for s in self.switches})

    def defects(self, settings) -> list:
        """The defects of spec §8 that `mode` switches for these settings; none: one mode serves both."""
        return [switch.defect for switch in self.switches if switch.present(settings)]


FAMILIES = {
    "transformer": Family(TransformerConfig, Transformer, has_recurrence=False),
    "unimatrix": Family(UniMatrixConfig, UniMatrix, has_recurrence=True, shared_depth=True, switches=(
        DefectSwitch("D1", "carry_state_across_depth", faithful=True),
        DefectSwitch("D12", "batch_coupled_lookup", faithful=True, present=lambda s: s.side_memory == "sparse_pointer"),
    )),
    "transformer_triple": Family(TransformerTripleConfig, TransformerTriple, has_recurrence=False, classifier=True),
    # Its parser reads fixed positions of the triple prompt, so it has no sequence-length axis.
    "typed_latent": Family(TypedLatentConfig, TypedLatent, has_recurrence=False, has_length_axis=False, classifier=True),
    "triple_latent": Family(TripleLatentConfig, TripleLatent, has_recurrence=True, switches=(
        DefectSwitch("D2", "causal_conv", faithful=False, present=lambda s: s.local_conv),
    )),
    "mamba2": Family(Mamba2Config, Mamba2, has_recurrence=True),
    "recurrent_ffn": Family(RecurrentFFNConfig, RecurrentFFNTransformer, has_recurrence=True),
    "universal_transformer": Family(UniversalTransformerConfig, UniversalTransformer, has_recurrence=False, shared_depth=True),
}


def family_of(variant: Mapping) -> Family:
    if variant["family"] not in FAMILIES:
        raise ValueError(f"family={variant['family']!r}; valid: {', '.join(FAMILIES)}")
    return FAMILIES[variant["family"]]


def build_model(variant: Mapping, *, vocab_size: int, max_seq_len: int, pad_id: int, mode: str,
                dropout: float, acceleration: Acceleration = Acceleration(), n_classes: int | None = None,
                layout: Mapping | None = None) -> nn.Module:
    """forward(x: LongTensor (B, T)) -> logits (B, T, vocab_size); a classifier family instead
    returns (logits (B, n_classes), rep (B, d_model)) and needs `n_classes` (typed_latent also the
    benchmark's token `layout`). `mode` sets the family's defect switches; `acceleration`
    (repro/acceleration.py) changes speed only."""
    family = family_of(variant)
    if family.classifier and n_classes is None:
        raise ValueError(f"{variant['family']} is a sequence classifier: build_model needs n_classes "
                         "(16 for the triple benchmark)")
    run = {"vocab_size": vocab_size, "max_seq_len": max_seq_len, "pad_id": pad_id, "dropout": dropout,
           "n_classes": n_classes, "layout": layout}
    return family.model(family.configure(variant, mode, **run), acceleration=acceleration)


def with_auxiliary_loss(model: nn.Module, loss):
    """The loss to optimise: the task's `loss` plus the model's own term from its last forward pass,
    where it has one (`model.auxiliary_loss`, a scalar tensor: the Universal Transformer's ACT ponder
    cost). The training loop (repro/train.py) and the timed training step (repro/benchmarks/train_step.py)
    both optimise this sum; evaluation scores the task's loss alone. The term is taken once: the model
    keeps no part of a pass's autograd graph after its loss is formed (CUDA graph capture needs that)."""
    extra = getattr(model, "auxiliary_loss", None)
    if extra is None:
        return loss
    model.auxiliary_loss = None
    return loss + extra


def count_params(model: nn.Module) -> int:
    """Distinct parameter tensors (the tied head shares the embedding), used or not (D15)."""
    return sum(p.numel() for p in model.parameters())
