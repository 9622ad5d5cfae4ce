import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from models.acceleration import Acceleration
from repro.config import Run, load, train_settings
from repro.data.wikitext import (
    BOS_ID, EOS_ID, PAD_ID, DataUnavailable, byte_stream, git_blob_id, prepare, raw_from_hub_rows, read_split,
)
from repro.tasks import lm

from conftest import FIXTURE_WIKITEXT, REPO


def test_fixture_stream_keeps_stripped_nonblank_lines_between_bos_and_eos():
    stream = byte_stream(read_split("train", str(FIXTURE_WIKITEXT)))
    assert stream[0] == BOS_ID and stream[-1] == EOS_ID
    text = bytes(stream[1:-1].tolist()).decode("utf-8")
    assert text == "= Tiny =\nAlpha beta .\n= = Part = =\nGamma , delta ; café ."
    assert not (stream == PAD_ID).any()


def test_hub_rows_rebuild_the_raw_file():
    raw = (FIXTURE_WIKITEXT / "wiki.train.raw").read_bytes()
    rows = ["" if line == " \n" else line for line in raw.decode().splitlines(keepends=True)]
    assert raw_from_hub_rows(rows) == raw


def test_unofficial_files_are_refused_unless_allowed():
    with pytest.raises(DataUnavailable, match="wikitext_require_official"):
        prepare(str(FIXTURE_WIKITEXT), "train", require_official=True)
    streams, manifest = prepare(str(FIXTURE_WIKITEXT), "train", require_official=False)
    assert [split["official"] for split in manifest["splits"]] == [False, False]
    assert manifest["train_split_deviation"] is None
    assert manifest["splits"][0]["tokens"] == streams["train"].numel()


def test_missing_split_says_how_to_provide_the_data(tmp_path):
    shutil.copy(FIXTURE_WIKITEXT / "wiki.valid.raw", tmp_path)
    with pytest.raises(DataUnavailable, match="wikitext_train_split=test"):
        prepare(str(tmp_path), "train", require_official=False)


def test_training_on_the_validation_split_is_refused():
    with pytest.raises(ValueError, match="evaluation split"):
        prepare(str(FIXTURE_WIKITEXT), "valid", require_official=False)


def test_real_wikitext_streams_match_the_spec(real_wikitext_dir):
    streams, manifest = prepare(str(real_wikitext_dir), "test", require_official=True)
    assert streams["valid"].numel() == 1_139_324 and streams["train"].numel() == 1_281_875
    assert manifest["train_split"] == "test" and "not the paper's 'train' split" in manifest["train_split_deviation"]
    for split in manifest["splits"]:
        assert split["official"] and split["git_blob"] == git_blob_id((real_wikitext_dir / f"wiki.{split['split']}.raw").read_bytes())
    inputs, targets = lm.validation_chunks(streams["valid"], 128)
    assert inputs.shape == (8900, 128) and torch.equal(inputs[:, 1:], targets[:, :-1])


class UnigramModel(torch.nn.Module):
    """Predicts the same distribution everywhere: its loss on a slice is known in closed form."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits.expand(*x.shape, -1)


def test_one_pass_records_both_evaluation_lengths(real_wikitext_dir):
    valid = byte_stream(read_split("valid", str(real_wikitext_dir)))
    counts = torch.bincount(valid, minlength=lm.VOCAB_SIZE).double() + 1
    model = UnigramModel(counts.log())
    settings = replace(train_settings(load(REPO / "config" / "config.yaml"), Run("lm", "transformer", "faithful", 7)),
                       seq_len=128, eval={"batch_size": 16, "batches": [64, 128], "compare_batches": 128})
    metrics, data = lm.evaluate(model, settings, {"valid": valid}, torch.device("cpu"), Acceleration())
    _, targets = lm.validation_chunks(valid, 128)
    log_probs = torch.log_softmax(counts.log(), 0)
    for n in (64, 128):
        expected = -log_probs[targets[: n * 16].reshape(-1)].mean().item()
        assert metrics[f"val_loss_{n}batches"] == pytest.approx(expected, rel=1e-9)
        assert metrics[f"val_bpb_{n}batches"] == pytest.approx(expected / math.log(2), rel=1e-9)
        assert metrics[f"val_ppl_{n}batches"] == pytest.approx(2 ** metrics[f"val_bpb_{n}batches"], rel=1e-9)
    assert metrics["val_bpb"] == metrics["val_bpb_128batches"] != metrics["val_bpb_64batches"]
    assert data["valid_targets_scored"] == 128 * 16 * 128


def test_unreachable_hub_says_how_to_provide_the_data(tmp_path):
    # A fresh process, so the offline switch is read (as on a machine without the hub, minus the retries).
    result = subprocess.run([sys.executable, "-m", "repro.data.prepare_wikitext", "--out-dir", str(tmp_path)],
                            cwd=REPO, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode != 0
    assert re.search(r"could not load Salesforce/wikitext.*--config wikitext_dir=/path/to/dir", result.stderr)
    assert list(tmp_path.iterdir()) == []
