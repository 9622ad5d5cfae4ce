"""The family records (models/registry.py): what they derive, and that `mode` changes a model exactly
where its family has a defect switch for its settings."""
import copy

import pytest
import torch

from models import build_model
from models.registry import FAMILIES
from repro.config import ConfigError, load, run_modes, switched_defects, validate
from repro.tasks import TASKS

from conftest import REPO

CONFIG = load(REPO / "config" / "config.yaml")


def experiment_of(variant: str) -> str:
    return next(name for name, spec in CONFIG["experiments"].items() if variant in spec["variants"])


def outputs(variant: str, mode: str, train: bool) -> torch.Tensor:
    """The variant's logits on one fixed batch of its first experiment's task, built with seed 0."""
    task = TASKS[CONFIG["recipes"][CONFIG["experiments"][experiment_of(variant)]["recipe"]]["task"]]
    torch.manual_seed(0)
    model = build_model(CONFIG["variants"][variant], vocab_size=task.VOCAB_SIZE, max_seq_len=32, pad_id=task.PAD_ID,
                        mode=mode, dropout=0.1, **task.MODEL_KWARGS).train(train)
    inputs = torch.randint(0, task.VOCAB_SIZE, (2, 32), generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)  # the same dropout masks in both modes
    found = model(inputs)
    return found[0] if isinstance(found, tuple) else found


def one_variant_per_setting_of_each_family() -> list:
    """A variant of each family, and of each family with a defect switch, one with the defect and one
    without (where the config has both)."""
    chosen = {}
    for name, variant in CONFIG["variants"].items():
        family = FAMILIES[variant["family"]]
        settings = family.configure(variant, "faithful", vocab_size=64, max_seq_len=32, pad_id=0, dropout=0.1,
                                    n_classes=16, layout=TASKS["triple"].LAYOUT)
        chosen.setdefault((variant["family"], tuple(family.defects(settings))), name)
    return sorted(chosen.values())


@pytest.mark.parametrize("variant", one_variant_per_setting_of_each_family())
@pytest.mark.parametrize("train", [False, True])
def test_mode_changes_a_model_exactly_where_its_family_switches_a_defect(variant, train):
    family = FAMILIES[CONFIG["variants"][variant]["family"]]
    settings = family.configure(CONFIG["variants"][variant], "faithful", vocab_size=64, max_seq_len=32, pad_id=0,
                                dropout=0.1, n_classes=16, layout=TASKS["triple"].LAYOUT)
    same = torch.equal(outputs(variant, "faithful", train), outputs(variant, "corrected", train))
    assert same == (not family.defects(settings))


def test_every_family_has_a_variant_with_and_without_its_defects_covered():
    covered = {CONFIG["variants"][name]["family"] for name in one_variant_per_setting_of_each_family()}
    assert covered == set(FAMILIES)


def test_a_variant_runs_both_modes_where_its_family_or_task_switches_a_defect():
    assert switched_defects(CONFIG, "recall", "transformer") == [] and run_modes(CONFIG, "recall", "transformer") == ["faithful"]
    assert switched_defects(CONFIG, "recall", "unimatrix_core") == ["D1"]
    assert switched_defects(CONFIG, "recall", "sparse_pointer") == ["D1", "D12"]
    assert switched_defects(CONFIG, "generic_latent", "triple_latent") == []
    assert switched_defects(CONFIG, "generic_latent", "triple_hybrid") == ["D2"]
    assert switched_defects(CONFIG, "triple", "typed_latent") == ["D4"]  # the task's: the model has none
    assert run_modes(CONFIG, "triple", "typed_latent") == ["faithful", "corrected"]
    assert run_modes(CONFIG, "related_systems", "universal_transformer_act") == ["faithful"]
    assert switched_defects(CONFIG, "related_systems", "unimatrix_core_mesh") == ["D1"]


def broken(edit):
    config = copy.deepcopy(CONFIG)
    edit(config)
    return config


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["variants"]["transformer"].update(n_heads=5), "variants.transformer.n_heads': 5; valid: a divisor of d_model=64"),
    (lambda c: c["variants"]["mamba2"].update(n_heads=3), "variants.mamba2.n_heads': 3; valid: a divisor of expand·d_model=128"),
    (lambda c: c["variants"]["sparse_pointer"].update(slot_top_k=40),
     "variants.sparse_pointer.slot_top_k': 40; valid: an integer in 1..slots=32"),
    (lambda c: c["variants"]["recurrent_ffn"].update(local_branch=True),
     "variants.recurrent_ffn.local_branch': True; valid: false unless readout is true"),
    (lambda c: c["variants"]["triple_latent"].update(memory="sparse"), "variants.triple_latent.memory': 'sparse'"),
    (lambda c: c["variants"]["transformer"].update(family="rwkv"),
     "variants.transformer.family': 'rwkv' is not one of ['transformer', 'unimatrix', "),
    (lambda c: c["variants"]["transformer"].update(d_model=64.5), "variants.transformer.d_model': 64.5 is not of type 'integer'"),
    (lambda c: c["variants"]["transformer"].update(modes=["faithful"]),
     "variants.transformer': 'modes' is not one of ['label', 'paper_name', 'family', 'd_model', 'n_layers', 'n_heads']"),
])
def test_a_setting_the_family_refuses_is_refused_at_load_naming_its_key(edit, message):
    with pytest.raises(ConfigError) as error:
        validate(broken(edit))
    assert message in str(error.value)


def test_the_schema_takes_each_familys_keys_from_its_settings():
    """A key the settings gain is a key the config may set: nothing else lists them."""
    unimatrix = FAMILIES["unimatrix"]
    assert "carry_state_across_depth" not in unimatrix.keys()  # mode sets it
    assert "vocab_size" not in unimatrix.keys()  # the task gives it
    assert set(unimatrix.required_keys()) == {"d_model", "depth", "n_heads", "state_size", "rosa", "rulemix",
                                               "frobenius_guard", "step_embedding", "deep_embed_dim"}
    validate(broken(lambda c: c["variants"]["sparse_pointer"].update(write_gate=False)))
    with pytest.raises(ConfigError, match="variants.unimatrix_core': 'depth' is a required property"):
        validate(broken(lambda c: c["variants"].update(unimatrix_core={
            k: v for k, v in c["variants"]["unimatrix_core"].items() if k != "depth"})))
