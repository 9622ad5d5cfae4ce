"""The triple benchmark end to end at small scale: the untrained Typed-Latent on generated data
(D3), and the staged curriculum of spec §5.2.4 (stages, shared optimiser, per-stage evaluation,
determinism, the metrics the evaluation writes)."""
import json
import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from models import build_model
from repro.config import Run, eval_settings, load, train_settings
from repro.evaluate import evaluate
from repro.tasks import triple
from repro.train import main as train_main
from repro.train import train

from conftest import REPO

pytestmark = pytest.mark.slow  # trains runs

TABLE = triple.lookup_table(124)


def untrained(variant: str):
    config = load(REPO / "config" / "config.yaml")
    torch.manual_seed(0)
    return build_model(config["variants"][variant], vocab_size=triple.VOCAB_SIZE, max_seq_len=49,
                       pad_id=triple.PAD_ID, mode="faithful", dropout=0.1, **triple.MODEL_KWARGS).eval()


@pytest.mark.parametrize("equal_lengths", [False, True])
def test_untrained_typed_latent_solves_the_hard_coded_tasks_and_guesses_lookup(equal_lengths):
    model = untrained("typed_latent")
    for task in triple.TASKS:
        inputs, labels, _ = triple.triple_batch(task, 2048, 49, torch.Generator().manual_seed(20023), TABLE, equal_lengths)
        logits, _ = model(inputs)
        accuracy = (logits.argmax(-1) == labels).double().mean().item()
        if task == "lookup":
            assert F.cross_entropy(logits, labels).item() == pytest.approx(math.log(16))
            assert accuracy == pytest.approx(1 / 16, abs=0.03)  # argmax of uniform logits: class 0
        else:
            assert accuracy == 1.0


def tiny_triple(variant: str, mode: str = "faithful", steps: int = 3):
    config = load(REPO / "config" / "config.yaml", REPO / "config" / "smoke.yaml")
    config["device"] = "cpu"
    config["recipes"]["R-TRI"]["steps"] = steps
    run = Run("triple", variant, mode, 23)
    return train_settings(config, run), eval_settings(config, run)


def test_staged_training_evaluates_every_task_after_every_stage_and_is_deterministic():
    settings, evaluation = tiny_triple("transformer_triple")
    first, second = (train(settings, {}, progress=False) for _ in range(2))
    assert first[1]["losses"] == second[1]["losses"]
    assert len(first[1]["losses"]) == 4 * settings.steps
    for stage in range(5):
        for task in triple.TASKS:
            for metric in ("accuracy_pct", "loss", "aux_accuracy_pct"):
                assert f"{task}_{metric}_after_stage{stage}" in first[1]["metrics"]
    metrics, data, _ = evaluate({"settings": settings.as_dict(), "state_dict": first[0].state_dict(), "record": first[1]}, evaluation, {})
    for task in triple.TASKS:  # the final evaluation is the one after the last stage, on the same data
        assert metrics[f"{task}_accuracy_pct"] == first[1]["metrics"][f"{task}_accuracy_pct_after_stage4"]
    assert metrics["params"] == 107_664
    assert "equal lengths" not in data["source"] and len({data[f"eval_{t}_sha256"] for t in triple.TASKS}) == 4


def test_lookup_table_counts_adam_steps_from_the_first_stage(monkeypatch):
    """Spec §5.2.4: Λ is in every forward pass, so AdamW has counted every step when stage 4 ends."""
    settings, _ = tiny_triple("typed_latent", steps=2)
    captured = {}
    original = torch.optim.AdamW.step

    def spy(optimiser, *args, **kwargs):
        result = original(optimiser, *args, **kwargs)
        table = next(p for p in optimiser.param_groups[0]["params"] if p.dim() == 5)
        captured["step"] = int(optimiser.state[table]["step"])
        return result
    monkeypatch.setattr(torch.optim.AdamW, "step", spy)
    _, record = train(settings, {}, progress=False)
    assert captured["step"] == 4 * 2
    assert record["metrics"]["copy_accuracy_pct_after_stage0"] == 100.0
    assert record["metrics"]["copy_steps_to_perfect_training"] == 1


def test_corrected_runs_train_and_evaluate_on_equal_lengths(tmp_path):
    settings, evaluation = tiny_triple("typed_latent_learned", mode="corrected", steps=1)
    checkpoint = tmp_path / "model.pt"
    train_main(["--settings", json.dumps(settings.as_dict()), "--checkpoint", str(checkpoint)])
    saved = torch.load(checkpoint)
    metrics, data, _ = evaluate(saved, evaluation, {})
    assert "equal lengths" in data["source"]
    assert metrics["params"] == 43_072
    assert saved["record"]["metrics"]["copy_accuracy_pct_after_stage0"] < 50  # learned heads start at chance


@pytest.mark.parametrize("mode", ["faithful", "corrected"])
def test_stage_batches_are_the_stages_stream_and_are_drawn_once(mode):
    """The kept batches are what the stage's own generator draws, batch after batch, and a second
    run of the same (mode, seed) gets the same batches without drawing them again."""
    settings, _ = tiny_triple("typed_latent", mode=mode, steps=3)
    kept = triple.stage_batches(settings, "lookup", 2)
    assert triple.stage_batches(replace(settings, variant="transformer_triple"), "lookup", 2) is kept
    generator = torch.Generator().manual_seed(settings.seed + settings.seed_offsets["stage_data"] * 2)
    table = triple.lookup_table(settings.seed + settings.seed_offsets["lookup_table"])
    assert len(kept) == 3
    for batch in kept:
        fresh = triple.triple_batch("lookup", settings.batch_size, settings.seq_len, generator, table,
                                    equal_lengths=mode == "corrected")
        for got, expected in zip(triple.as_ids(batch), fresh):
            assert torch.equal(got, expected)
