from dataclasses import replace

import torch

from repro.config import Run, load, train_settings
from repro.tasks import recall
from repro.tasks.recall import ANSWER, BOS, QUERY, SEP, recall_batch, recall_example

from conftest import REPO


def sequences(pairs, seed, count=200):
    generator = torch.Generator().manual_seed(seed)
    return torch.tensor([recall_example(pairs, 128, generator) for _ in range(count)])


def test_layout_of_four_pairs():
    for seq in sequences(4, seed=3):
        assert seq.numel() == 129 and seq[0] == BOS
        keys, values, seps = seq[1:13:3], seq[2:13:3], seq[3:13:3]
        assert ((5 <= keys) & (keys <= 12)).all() and keys.unique().numel() == 4
        assert ((13 <= values) & (values <= 20)).all() and values.unique().numel() == 4
        assert (seps == SEP).all()
        assert ((21 <= seq[13:125]) & (seq[13:125] <= 30)).all()
        assert seq[125] == QUERY and seq[127] == ANSWER
        queried = (keys == seq[126]).nonzero().item()
        assert seq[128] == values[queried]


def test_filler_length_shrinks_with_pairs():
    for pairs, filler in ((6, 106), (8, 100)):
        seq = sequences(pairs, seed=4, count=1)[0]
        start = 1 + 3 * pairs
        assert ((21 <= seq[start:start + filler]) & (seq[start:start + filler] <= 30)).all()
        assert seq[start + filler] == QUERY


def test_twenty_distinct_previous_tokens_before_the_query():
    # spec §10.1 #3: a write at position t stores the previous token x[t-1]; the writes before
    # the lookup at the queried key (position 126) store x[0..124]: BOS, keys, values, SEP, filler.
    for seq in sequences(4, seed=5):
        assert seq[:125].unique().numel() == 20


def test_same_seed_same_data_other_seed_other_data():
    assert torch.equal(sequences(4, seed=9, count=20), sequences(4, seed=9, count=20))
    assert not torch.equal(sequences(4, seed=9, count=20), sequences(4, seed=10, count=20))


def test_evaluation_answers_match_the_published_histogram():
    # spec §5.1 / §10.1 #8: the R-AR evaluation set (seed 20, 64 x 32) and its answer counts
    generator = torch.Generator().manual_seed(20)
    answers = torch.cat([recall_batch(32, 4, 128, generator)[1] for _ in range(64)])
    assert torch.bincount(answers, minlength=21)[13:].tolist() == [274, 245, 258, 233, 258, 255, 248, 277]


def test_training_batches_are_the_run_seeds_stream_drawn_once_per_process():
    """Runs of one seed train on one stream whatever the model: the kept batches are what a
    generator seeded by the run seed draws, batch after batch, and a second run gets the same
    tuple without drawing again."""
    settings = replace(train_settings(load(REPO / "config" / "config.yaml"), Run("recall", "transformer", "faithful", 19)),
                       steps=3, seed=1019, batch_size=4, pairs=4, seq_len=32)
    kept = recall.training_batches(settings, {})
    assert recall.training_batches(replace(settings, variant="unimatrix_core"), {}) is kept
    assert recall.training_batches(replace(settings, seed=2019), {}) is not kept
    generator = torch.Generator().manual_seed(1019)
    assert len(kept) == 3
    for inputs, targets in kept:
        fresh_inputs, fresh_targets = recall_batch(4, 4, 32, generator)
        assert torch.equal(inputs, fresh_inputs) and torch.equal(targets, fresh_targets)
