"""The Universal Transformer (models/universal_transformer.py): ACT's halting, remainder and ponder
cost, the ponder cost's path into the optimised loss, and ACT's steps in the LM evaluation."""
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch

from models import build_model, with_auxiliary_loss
from models.acceleration import Acceleration
from models.universal_transformer import adaptive_computation
from repro.config import Run, load, train_settings
from repro.depth import measure
from repro.tasks import lm
from repro.train import train

from conftest import REPO

CONFIG = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
LM = dict(vocab_size=259, max_seq_len=32, pad_id=256)


def test_act_halts_each_position_where_its_halting_probabilities_reach_the_threshold():
    """Scripted halting probabilities per (step, position), threshold 0.99, at most 6 steps:
    position 0 reaches 0.3 + 0.5 + 0.4 ≥ 0.99 at step 3, remainder 1 − 0.8; position 1 never does
    and halts at step 6 with 1 − 5·0.1; position 2 halts at once (0.995), remainder 1."""
    scripted = torch.tensor([[0.3, 0.1, 0.995], [0.5, 0.1, 0.2], [0.4, 0.1, 0.2],
                             [0.9, 0.1, 0.2], [0.9, 0.1, 0.2], [0.9, 0.1, 0.2]])
    inputs = []

    def step(h, n):  # y_n = input + 1; records what each step reads
        inputs.append(h[0, :, 0].clone())
        return h + 1

    calls = iter(scripted)
    halting = adaptive_computation(step, lambda y: next(calls).expand(y.shape[:-1]), torch.zeros(1, 3, 2), 6, 0.99)
    expected = torch.tensor([[0.3, 0.1, 1.0], [0.5, 0.1, 0.0], [0.2, 0.1, 0.0],
                             [0.0, 0.1, 0.0], [0.0, 0.1, 0.0], [0.0, 0.5, 0.0]])
    torch.testing.assert_close(halting.weights[:, 0], expected)
    torch.testing.assert_close(halting.weights.sum(0), torch.ones(1, 3))
    assert halting.steps[0].tolist() == [3, 6, 1]
    torch.testing.assert_close(halting.remainder[0], torch.tensor([0.2, 0.5, 1.0]))
    torch.testing.assert_close(halting.ponder[0], torch.tensor([3.2, 6.5, 2.0]))
    # Σ p_n y_n with y_n = n while a position runs: 0.3·1 + 0.5·2 + 0.2·3; 0.1·(1 + … + 5) + 0.5·6; 1·1
    torch.testing.assert_close(halting.output[0, :, 0], torch.tensor([1.9, 4.5, 1.0]))
    # A halted position's state is copied: position 2 stops at 1, position 0 at 3.
    assert [x.tolist() for x in inputs] == [[0, 0, 0], [1, 1, 1], [2, 2, 1], [3, 3, 1], [3, 4, 1], [3, 5, 1]]


@pytest.mark.parametrize("train_mode", [False, True])
def test_act_halting_weights_sum_to_one_and_the_ponder_cost_is_tau_times_mean_n_plus_r(train_mode):
    variant = CONFIG["variants"]["universal_transformer_act"]
    torch.manual_seed(0)
    model = build_model(variant, **LM, mode="faithful", dropout=0.1).train(train_mode)
    model(torch.randint(0, 259, (2, 32), generator=torch.Generator().manual_seed(1)))
    halting = model.halting
    assert halting.weights.shape == (variant["depth"], 2, 32) and (halting.weights >= 0).all()
    torch.testing.assert_close(halting.weights.sum(0), torch.ones(2, 32))
    assert ((1 <= halting.steps) & (halting.steps <= variant["depth"])).all()
    assert ((0 < halting.remainder) & (halting.remainder <= 1)).all()
    # R is the weight of step N, and no step after N weighs anything
    last = halting.weights.gather(0, (halting.steps.long() - 1)[None])[0]
    torch.testing.assert_close(last, halting.remainder)
    after = torch.arange(1, variant["depth"] + 1)[:, None, None] > halting.steps
    assert (halting.weights[after] == 0).all()
    ponder = variant["ponder_cost"] * (halting.steps + halting.remainder).mean()
    torch.testing.assert_close(model.auxiliary_loss, ponder)
    loss = torch.tensor(2.0)
    torch.testing.assert_close(with_auxiliary_loss(model, loss), loss + ponder)
    assert model.auxiliary_loss is None  # taken once, so no pass's graph outlives its step
    assert not halting.output.requires_grad and not halting.weights.requires_grad  # the record keeps no graph either


def test_a_model_without_act_adds_nothing_to_the_loss():
    loss = torch.tensor(2.0)
    for name in ("universal_transformer", "universal_transformer_mesh", "transformer", "unimatrix_core"):
        model = build_model(CONFIG["variants"][name], **LM, mode="faithful", dropout=0.1)
        model(torch.randint(0, 259, (1, 8)))
        assert with_auxiliary_loss(model, loss) is loss


def test_the_training_loop_optimises_the_ponder_cost():
    """The recorded loss of the first step is the task's loss plus τ·mean(N + R), N + R in [1, K]:
    with τ = 1 it exceeds the τ = 0 run's (same seed, same model, same batch) by the mean ponder time."""
    settings = train_settings(CONFIG, Run("recall", "universal_transformer_act", "faithful", 19))
    first = {}
    for tau in (0.0, 1.0):
        run = replace(settings, steps=1, device="cpu", architecture={**settings.architecture, "ponder_cost": tau})
        first[tau] = train(run, {}, progress=False)[1]["losses"][0]
    assert 1.0 <= first[1.0] - first[0.0] <= settings.architecture["depth"]


@pytest.mark.parametrize("edit, message", [
    ({"act_epsilon": 1.0}, "act_epsilon=1.0; valid: a number in (0, 1)"),
    ({"ponder_cost": -0.1}, "ponder_cost=-0.1; valid: a number >= 0"),
    ({"depth": 0}, "depth=0; valid: an integer >= 1"),
    ({"mesh_slots": 6}, "mesh_slots=6; valid: 0 when act is true"),
])
def test_bad_universal_transformer_settings_name_the_key(edit, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build_model({**CONFIG["variants"]["universal_transformer_act"], **edit}, **LM, mode="faithful", dropout=0.1)


def test_halting_steps_are_summed_after_spaces_and_after_letters():
    inputs = torch.tensor([list(b"ab c.")])
    steps = torch.tensor([[1.0, 2.0, 5.0, 3.0, 6.0]])
    assert lm.halting_step_sums(inputs, steps).tolist() == [5, 1, 1 + 2 + 3, 3]  # "." is neither


@pytest.mark.parametrize("name, halts", [("universal_transformer_act", True), ("universal_transformer", False)])
def test_the_lm_evaluation_reports_acts_steps_after_a_space_and_after_a_letter(name, halts):
    text = torch.tensor(list(b"the cat sat on the mat and the dog sat on the log " * 4))
    settings = SimpleNamespace(seq_len=32, eval={"batch_size": 2, "batches": [1, 2], "compare_batches": 2})
    torch.manual_seed(0)
    model = build_model(CONFIG["variants"][name], **LM, mode="faithful", dropout=0.1)
    metrics, _ = lm.evaluate(model, settings, {"valid": text}, torch.device("cpu"), Acceleration())
    assert ("act_extra_steps_word_start" in metrics) == halts
    if halts:
        assert 1 <= metrics["act_steps_in_word"] <= 6 and 1 <= metrics["act_steps_word_start"] <= 6
        assert metrics["act_extra_steps_word_start"] == metrics["act_steps_word_start"] - metrics["act_steps_in_word"]


@pytest.mark.parametrize("name", ["universal_transformer", "universal_transformer_act", "universal_transformer_mesh"])
def test_the_depth_diagnostics_read_a_state_per_depth_step(name):
    """The shared block is `block`, as in UniMatrix: the hook of repro/depth/measure.py reads its first
    input and its output at each of the K steps."""
    model = build_model(CONFIG["variants"][name], **LM, mode="faithful", dropout=0.1).eval()
    states = measure.states_per_step(model, torch.randint(0, 259, (2, 16)))
    assert len(states) == CONFIG["variants"][name]["depth"] + 1 and all(s.shape == (2, 16, 64) for s in states)
