import copy
from dataclasses import replace

import pandas as pd
import pytest
import torch

from models.acceleration import Acceleration
from models.registry import build_model
from repro.config import ConfigError, Run, eval_settings, load, recipe_for, runs, task_lengths, train_settings, validate
from repro.figures import recall_distance as figure
from repro.tasks import recall_distance as task
from repro.tasks.recall import ANSWER, BOS, QUERY, SEP
from repro.tasks.recall_distance import (FILLER_HIGH, FILLER_LOW, KEYS, VALUES, VOCAB_SIZE, accuracy_by_distance,
                                         distance_bucket, recall_distance_example)

from conftest import REPO


@pytest.fixture(scope="module")
def paper_config():
    return load(REPO / "config" / "config.yaml")


def examples(pairs, seq_len, seed=3, count=100):
    generator = torch.Generator().manual_seed(seed)
    return [recall_distance_example(pairs, seq_len, generator) for _ in range(count)]


@pytest.mark.parametrize("pairs, seq_len", [(4, 128), (8, 256), (64, 2048)])
def test_layout_answer_and_distance(pairs, seq_len):
    starts = set()
    for sequence, distance in examples(pairs, seq_len):
        seq = torch.tensor(sequence)
        assert seq.numel() == seq_len + 1 and seq[0] == BOS
        assert seq[-4] == QUERY and seq[-2] == ANSWER
        body = seq[1:-4]
        is_key = (KEYS[0] <= body) & (body <= KEYS[-1])
        key_at = is_key.nonzero().flatten()
        assert key_at.numel() == pairs and body[key_at].unique().numel() == pairs
        values = body[key_at + 1]
        assert ((VALUES[0] <= values) & (values <= VALUES[-1])).all() and values.unique().numel() == pairs
        assert (body[key_at + 2] == SEP).all()
        filler = torch.ones_like(body, dtype=torch.bool)
        for offset in range(3):
            filler[key_at + offset] = False
        assert ((FILLER_LOW <= body[filler]) & (body[filler] < FILLER_HIGH)).all()
        assert (seq < VOCAB_SIZE).all()
        queried = (body[key_at] == seq[-3]).nonzero().item()
        assert seq[-1] == values[queried]                                    # the value bound to the queried key
        assert distance == (seq_len - 3) - (1 + key_at[queried].item())     # QUERY's position minus the key's
        starts.add(key_at[0].item())
    assert len(starts) > 1  # the pairs are not all at the start


def test_distances_reach_far_and_near():
    distances = [distance for _, distance in examples(4, 128, count=500)]
    assert min(distances) < 16 and max(distances) >= 64


def test_pairs_grow_with_length(paper_config):
    for experiment, seq_len in task_lengths(paper_config, "recall_distance").items():
        settings = train_settings(paper_config, Run(experiment, "transformer", "faithful", 19))
        assert settings.seq_len == seq_len and settings.pairs == seq_len // recipe_for(paper_config, experiment, "transformer")["tokens_per_pair"]
    assert sorted(task_lengths(paper_config, "recall_distance").values()) == [128, 256]


def test_buckets_of_hand_made_distances():
    assert [distance_bucket(d) for d in (3, 4, 7, 8, 63, 64, 127)] == [(2, 4), (4, 8), (4, 8), (8, 16), (32, 64), (64, 128), (64, 128)]
    distances = torch.tensor([3, 5, 6, 7, 70, 100])
    correct = torch.tensor([True, True, False, False, True, True])
    assert accuracy_by_distance(distances, correct) == {(2, 4): (1, 100.0), (4, 8): (3, 100.0 / 3), (64, 128): (2, 100.0)}


def test_evaluation_reports_accuracy_by_distance(paper_config):
    run = Run("recall_distance_128", "transformer", "faithful", 19)
    settings = train_settings(paper_config, run).evaluated_with(eval_settings(paper_config, run))
    settings = replace(settings, eval={"batch_size": 8, "batches": 4, "seed": 20})
    model = build_model(settings.architecture, vocab_size=VOCAB_SIZE, max_seq_len=settings.seq_len, pad_id=task.PAD_ID,
                        mode="faithful", dropout=0.0)
    metrics, described = task.evaluate(model, settings, {}, torch.device("cpu"), Acceleration())
    buckets = {key for key in metrics if key.startswith("examples_dist_")}
    assert sum(metrics[key] for key in buckets) == 32
    weighted = sum(metrics[key] * metrics[key.replace("examples", "acc") + "_pct"] for key in buckets) / 32
    assert weighted == pytest.approx(metrics["accuracy_pct"])
    assert "eval_seed20_sha256" in described


@pytest.mark.parametrize("tokens_per_pair, expected", [
    (2, "do not fit"),              # 64 pairs of 3 tokens and 4 around them exceed 128
    (1, "more than the task's 64 keys"),
    (5, "does not divide"),
])
def test_recipe_problems_refused_at_load(paper_config, tokens_per_pair, expected):
    config = copy.deepcopy(paper_config)
    config["recipes"]["R-ARD"]["tokens_per_pair"] = tokens_per_pair
    with pytest.raises(ConfigError, match=rf"recipes\.R-ARD\.tokens_per_pair': {tokens_per_pair} at seq_len 128: .*{expected}.*valid: one of \[4, 8, 16, 32, 64, 128\]"):
        validate(config)


def test_every_variant_builds_and_runs_at_each_length(paper_config):
    for run in {(r.experiment, r.variant): r for r in runs(paper_config) if r.experiment.startswith("recall_distance")}.values():
        settings = train_settings(paper_config, run)
        model = build_model(settings.architecture, vocab_size=VOCAB_SIZE, max_seq_len=settings.seq_len, pad_id=task.PAD_ID,
                            mode=run.mode, dropout=0.0)
        inputs, answers, _ = task.recall_distance_batch(2, settings.pairs, settings.seq_len, torch.Generator().manual_seed(0))
        assert model(inputs).shape == (2, settings.seq_len, VOCAB_SIZE), run.name


def test_figure_draws_one_line_per_model_and_mode():
    rows = [{"experiment": f"recall_distance_{length}", "variant": variant, "mode": mode, "seed": seed,
             "metric": "accuracy_pct", "value": 50.0 + seed}
            for length in (128, 256) for variant, modes in (("transformer", ["faithful"]), ("unimatrix_core", ["faithful", "corrected"]))
            for mode in modes for seed in (19, 1019)]
    names = {"transformer": {"label": "Transformer"}, "unimatrix_core": {"label": "UniMatrix-Core"}}
    drawn = figure.draw(pd.DataFrame(rows), {"recall_distance_128": 128, "recall_distance_256": 256}, names)
    axes = drawn.axes[0]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert labels == ["Transformer", "UniMatrix-Core, faithful", "UniMatrix-Core, corrected"]
    assert all(list(container.lines[0].get_xdata()) == [128, 256] for container in axes.containers)
