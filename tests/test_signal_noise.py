"""Our signal-vs-noise task: layout, the answer is the signal value, determinism, uniform answers,
and a memory that keeps the latest write per key (fooled by the noise) scores chance."""
from dataclasses import replace

import pytest
import torch

from models.acceleration import Acceleration
from repro.config import Run, load, train_settings
from repro.tasks import signal_noise as task
from repro.tasks.signal_noise import ANSWER, BOS, NOISE, QUERY, SIGNAL, signal_noise_batch

from conftest import REPO

T, W, S = 64, 20, 4


def sequences(seed, count=200):
    generator = torch.Generator().manual_seed(seed)
    return torch.stack([task.signal_noise_example(T, generator) for _ in range(count)])


def writes(seqs):  # (n, T + 1) -> markers, keys, values, each (n, W)
    return seqs[:, 1:1 + 3 * W].unflatten(1, (W, 3)).unbind(-1)


def signal_rule(inputs):
    """The value of the SIGNAL write to the queried key (the task's intended solution)."""
    markers, keys, values = writes(inputs)
    hit = (markers == SIGNAL) & (keys == inputs[:, -2:-1])
    assert (hit.sum(1) == 1).all()
    return values[hit]


def latest_write_rule(inputs):
    """The value last written to the queried key, marker ignored."""
    _, keys, values = writes(inputs)
    positions = torch.arange(W).expand_as(keys)
    last = torch.where(keys == inputs[:, -2:-1], positions, -1).amax(1)
    return values[torch.arange(len(inputs)), last]


def test_layout():
    seqs = sequences(seed=3)
    assert seqs.shape == (200, T + 1) and (seqs[:, 0] == BOS).all()
    markers, keys, values = writes(seqs)
    assert ((markers == SIGNAL) | (markers == NOISE)).all()
    assert ((markers[:, :-1] == SIGNAL).sum(1) == S).all() and (markers[:, -1] == NOISE).all()
    assert ((6 <= keys) & (keys <= 13)).all() and ((14 <= values) & (values <= 29)).all()
    for row_markers, row_keys in zip(markers, keys):
        signal_keys = row_keys[row_markers == SIGNAL]
        assert signal_keys.unique().numel() == S
        assert torch.isin(row_keys, signal_keys).all()  # noise rewrites the signal keys only
    assert (seqs[:, 61] == QUERY).all() and (seqs[:, 63] == ANSWER).all()
    assert (keys[:, -1] == seqs[:, 62]).all()  # the last write is noise to the queried key
    signal_positions = (markers == SIGNAL).nonzero()[:, 1]
    assert signal_positions.unique().numel() == W - 1  # the signal writes move over slots 1 ... W-1


def test_answer_is_the_signal_value_not_the_noise():
    inputs, answers = signal_noise_batch(256, T, torch.Generator().manual_seed(4))
    assert torch.equal(signal_rule(inputs), answers)
    assert (latest_write_rule(inputs) != answers).float().mean() > 0.85


def test_same_seed_same_data_other_seed_other_data():
    assert torch.equal(sequences(seed=9, count=20), sequences(seed=9, count=20))
    assert not torch.equal(sequences(seed=9, count=20), sequences(seed=10, count=20))


def test_answers_are_uniform_over_the_16_values():
    _, answers = signal_noise_batch(2048, T, torch.Generator().manual_seed(5))
    counts = torch.bincount(answers - 14, minlength=16)
    assert counts.numel() == 16
    chi2 = ((counts - 128.0) ** 2 / 128.0).sum().item()
    assert chi2 < 37.7  # the 0.1% point of χ² with 15 degrees of freedom


def test_a_latest_write_memory_scores_chance():
    inputs, answers = signal_noise_batch(2048, T, torch.Generator().manual_seed(6))
    accuracy = (latest_write_rule(inputs) == answers).float().mean().item()
    assert abs(accuracy - 1 / 16) < 0.025  # 4.7 standard errors on 2,048 examples


class RuleModel(torch.nn.Module):
    """Logits that put all mass on a rule's answer at the last position."""

    def __init__(self, rule):
        super().__init__()
        self.rule = rule

    def forward(self, idx):
        logits = torch.zeros(*idx.shape, task.VOCAB_SIZE)
        logits[:, -1] = 50 * torch.nn.functional.one_hot(self.rule(idx), task.VOCAB_SIZE)
        return logits


@pytest.mark.parametrize("rule, accuracy", [(signal_rule, 100.0), (latest_write_rule, 100 / 16)])
def test_evaluate(rule, accuracy):
    settings = replace(train_settings(load(REPO / "config" / "config.yaml"), Run("memory_pilot_signal_noise", "mamba2", "faithful", 19)),
                       seq_len=T, eval={"batch_size": 8, "batches": 64, "sets": [{"seed": 20}]})
    metrics, described = task.evaluate(RuleModel(rule), settings, {}, torch.device("cpu"), Acceleration())
    assert metrics["signal_noise_accuracy_pct"] == metrics["acc_seed20_pct"]
    assert metrics["signal_noise_accuracy_pct"] == pytest.approx(accuracy, abs=3.0)
    assert (metrics["signal_noise_eval_loss"] < 1e-6) == (accuracy == 100.0)
    again, _ = task.evaluate(RuleModel(rule), settings, {}, torch.device("cpu"), Acceleration())
    assert again == metrics and len(described["eval_seed20_sha256"]) == 64


def test_seq_len_must_hold_whole_writes():
    for bad in (63, 16):  # not 4 + 3W; W = 4 < S + 1
        with pytest.raises(ValueError):
            task.signal_noise_example(bad, torch.Generator())
    assert task.signal_noise_example(19, torch.Generator().manual_seed(0)).shape == (20,)  # W = 5
