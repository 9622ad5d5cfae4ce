"""UniMatrix-SparsePointer against the per-token transcription of spec §4.2 and §4.7
(tests/sparse_pointer_transcription.py): on the same weights and batch, the logits, the recall
loss and every parameter's gradient agree, at initialisation and after training steps, in both
modes, for the variants of Tables 4 and 5 and for a write gate near the strength floor."""
from pathlib import Path

import pytest
import torch
import yaml

import sparse_pointer_transcription as transcription
from models import build_model
from repro.tasks import final_token, recall

pytestmark = pytest.mark.slow  # a per-token transcription over many positions

VARIANTS = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())["variants"]
SEQ_LEN = 64  # 4 pairs and 49 filler tokens: every slot count below fills and evicts
CASES = {  # name: (variant, its write gate's bias, or None for the initialised one)
    "32 slots": ("sparse_pointer", None),
    "8 slots (evictions)": ("sparse_pointer_slots8", None),
    "no pointer logits": ("sparse_pointer_slots32_noptr", None),
    "no write gate": ("sparse_pointer_slots32_nogate", None),
    # λ̂ ≈ φ: some writes stay empty, and in faithful mode some examples read stale slots (D12)
    "strengths at the floor": ("sparse_pointer_slots8", -2.9),
}


def _model(case, mode):
    variant, gate_bias = CASES[case]
    torch.manual_seed(0)
    model = build_model(VARIANTS[variant], vocab_size=recall.VOCAB_SIZE, max_seq_len=SEQ_LEN, pad_id=recall.PAD,
                        mode=mode, dropout=0.0).double()
    if gate_bias is not None:
        with torch.no_grad():
            model.block.memory.write_gate.weight.mul_(50)  # strengths spread around the floor
            model.block.memory.write_gate.bias.fill_(gate_bias)
    return model


def _train(model, steps):  # moves every weight away from its initialisation
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        inputs, answers = recall.recall_batch(8, 4, SEQ_LEN, g)
        optimiser.zero_grad()
        final_token.loss(model(inputs), answers).backward()
        optimiser.step()


def _loss_and_gradients(model, forward, inputs, answers):
    model.zero_grad(set_to_none=True)
    logits = forward(inputs)
    loss = final_token.loss(logits, answers)
    loss.backward()
    return logits.detach(), loss.item(), {name: p.grad for name, p in model.named_parameters()}


@pytest.mark.parametrize("steps", [0, 40], ids=["at init", "after 40 steps"])
@pytest.mark.parametrize("mode", ["faithful", "corrected"])
@pytest.mark.parametrize("case", CASES)
def test_model_follows_the_per_token_transcription(case, mode, steps):
    model = _model(case, mode)
    _train(model, steps)
    model.eval()  # dropout 0: the same function as training mode
    inputs, answers = recall.recall_batch(3, 4, SEQ_LEN, torch.Generator().manual_seed(2))
    logits, loss, grads = _loss_and_gradients(model, model, inputs, answers)
    expected_logits, expected_loss, expected_grads = _loss_and_gradients(
        model, lambda x: transcription.logits(model, x, faithful=mode == "faithful"), inputs, answers)
    torch.testing.assert_close(logits, expected_logits, rtol=1e-9, atol=1e-10)
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    for name, expected in expected_grads.items():
        if expected is None:  # W_δ without RuleMix (D15)
            assert grads[name] is None, name
        else:
            torch.testing.assert_close(grads[name], expected, rtol=1e-7, atol=1e-12, msg=name)


def test_floor_case_reaches_empty_writes_and_stale_lookups():
    """The last case is only a test of the floor and of D12 if its strengths straddle φ."""
    model = _model("strengths at the floor", "faithful")
    inputs, _ = recall.recall_batch(3, 4, SEQ_LEN, torch.Generator().manual_seed(2))
    e = model.embed.tok(inputs)
    strengths = torch.sigmoid(model.block.memory.write_gate(torch.cat([e[:, :-1], e[:, 1:]], -1)))
    floor = VARIANTS["sparse_pointer_slots8"]["strength_floor"]
    assert (strengths <= floor).float().mean().item() > 0.2
    assert (strengths > floor).float().mean().item() > 0.2
