"""MeSH (models/mesh.py) in the shared-depth families: with one-hot routers that pass each step's
output on through a slot of its own it is its base model, with one slot a residual between steps,
and its routers cost 2·K·(d + 1)·M parameters."""
import pytest
import torch

from models import build_model, count_params
from repro.config import load

from conftest import REPO

CONFIG = load(REPO / "config" / "config.yaml")
LM = dict(vocab_size=259, max_seq_len=32, pad_id=256)
BASES = [("universal_transformer_mesh", "universal_transformer", "faithful"),
         ("unimatrix_core_mesh", "unimatrix_core", "faithful"),
         ("unimatrix_core_mesh", "unimatrix_core", "corrected")]


def with_mesh_of(base: str, mesh: str, mode: str, slots: int):
    """The base model (seed 0, eval mode) and its MeSH variant with `slots` slots, holding the base's weights."""
    torch.manual_seed(0)
    plain = build_model(CONFIG["variants"][base], **LM, mode=mode, dropout=0.1).eval()
    routed = build_model({**CONFIG["variants"][mesh], "mesh_slots": slots}, **LM, mode=mode, dropout=0.1).eval()
    missing, unexpected = routed.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(key.startswith("mesh.") for key in missing)
    return plain, routed


def one_hot(router: torch.nn.Linear, slot: int) -> None:
    """softmax gives exactly 1 on `slot` (e^-1e4 is 0 in float32), whatever the state."""
    with torch.no_grad():
        router.weight.zero_()
        router.bias.fill_(-1e4)[slot] = 0.0


INPUTS = torch.randint(0, 259, (2, 32), generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("mesh, base, mode", BASES)
def test_one_hot_routers_through_a_slot_per_step_give_the_base_model(mesh, base, mode):
    """Step n writes its output into slot n + 1 (empty until then) and reads it back: MeSH passes the
    output on unchanged, so the model is its base family, output for output."""
    depth = CONFIG["variants"][mesh]["depth"]
    plain, routed = with_mesh_of(base, mesh, mode, slots=depth + 1)
    for step in range(depth):
        one_hot(routed.mesh.write[step], step + 1)
        one_hot(routed.mesh.read[step], step + 1)
    with torch.no_grad():
        torch.testing.assert_close(routed(INPUTS), plain(INPUTS), rtol=0, atol=1e-6)


def test_one_slot_is_a_residual_between_depth_steps():
    """One slot: the buffer starts at the embeddings and gains each step's output, h ← h + f_n(h)."""
    _, routed = with_mesh_of("universal_transformer", "universal_transformer_mesh", "faithful", slots=1)
    with torch.no_grad():
        h = routed.embed.tokens(INPUTS)
        pos = routed.embed.positions(INPUTS.size(1))
        for n in range(CONFIG["variants"]["universal_transformer_mesh"]["depth"]):
            h = h + routed.block(h + pos + routed.step_emb.weight[n])
        torch.testing.assert_close(routed(INPUTS), routed.embed.logits(routed.ln_f(h)), rtol=0, atol=1e-5)


def test_reading_slot_0_alone_gives_every_step_the_embeddings():
    """Slot 0 holds the embeddings: a step that writes elsewhere and reads slot 0 starts again from them."""
    plain, routed = with_mesh_of("universal_transformer", "universal_transformer_mesh", "faithful", slots=2)
    for step, (write, read) in enumerate(zip(routed.mesh.write, routed.mesh.read)):
        one_hot(write, 1)
        one_hot(read, 0 if step < len(routed.mesh.read) - 1 else 1)
    with torch.no_grad():
        h = routed.embed.tokens(INPUTS)
        pos = routed.embed.positions(INPUTS.size(1))
        # the last read is slot 1: the sum of every step's output, each computed from the embeddings
        y = sum(routed.block(h + pos + routed.step_emb.weight[n]) for n in range(len(routed.mesh.read)))
        torch.testing.assert_close(routed(INPUTS), routed.embed.logits(routed.ln_f(y)), rtol=0, atol=1e-5)


@pytest.mark.parametrize("mesh, base", [("universal_transformer_mesh", "universal_transformer"),
                                        ("unimatrix_core_mesh", "unimatrix_core")])
def test_the_routers_cost_2_k_d_plus_1_m(mesh, base):
    plain, routed = with_mesh_of(base, mesh, "faithful", slots=6)
    variant = CONFIG["variants"][mesh]
    assert count_params(routed) - count_params(plain) == 2 * variant["depth"] * (variant["d_model"] + 1) * 6 == 2_340
    assert count_params(routed.mesh) == 2_340
