"""Byte-level WikiText-2 raw (spec §2.1), read through `datasets`, from the hub or local files.

Stream of a split: keep each line that is non-empty after stripping, stored stripped; join with
"\\n"; UTF-8 bytes (ids 0-255); wrapped as [BOS] + bytes + [EOS]. Never another corpus (D8).
"""
import hashlib
from pathlib import Path

import torch

HUB_DATASET, HUB_CONFIG = "Salesforce/wikitext", "wikitext-2-raw-v1"
SPLITS = ("train", "valid", "test")
HUB_SPLIT_NAMES = {"train": "train", "valid": "validation", "test": "test"}
PAD_ID, BOS_ID, EOS_ID = 256, 257, 258
VOCAB_SIZE = 259

# Git blob ids of the official wiki.*.raw files: the one hash known for all three splits
# (../shared/data/wikitext-2-raw-v1/README.md). sha256 is recorded beside it.
OFFICIAL_GIT_BLOB = {
    "train": "5109d6a316409e0ce4a5c1aa2a34226c957a5655",
    "valid": "7760d2e69e8038dc8332ca34cfc238c36f7e47df",
    "test": "d9d791581935032220e10e28a04cfbd6460b72f5",
}

HOW_TO_PROVIDE = (
    "Provide WikiText-2 raw in one of two ways: (1) a machine that reaches the Hugging Face hub "
    f"(dataset {HUB_DATASET}, config {HUB_CONFIG}) with wikitext_dir unset; or (2) a directory "
    "holding wiki.train.raw, wiki.valid.raw and wiki.test.raw, passed with "
    "`--config wikitext_dir=/path/to/dir`. Where wiki.train.raw is missing, "
    "`--config wikitext_train_split=test` trains on the test split instead (reported as a deviation)."
)


class DataUnavailable(RuntimeError):
    """WikiText-2 could not be read; the message says how to provide it."""


def git_blob_id(raw: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def raw_from_hub_rows(rows) -> bytes:
    """The .raw file a hub split was made from: rows are lines, blank lines stored as ''."""
    return "".join(row if row else " \n" for row in rows).encode("utf-8")


def read_split(split: str, wikitext_dir: str | None) -> bytes:
    """The raw bytes of one split, from the local directory or the hub, through `datasets`."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: valid splits are {', '.join(SPLITS)}")
    from datasets import load_dataset

    if wikitext_dir is not None:
        path = Path(wikitext_dir) / f"wiki.{split}.raw"
        if not path.is_file():
            raise DataUnavailable(f"{path} does not exist. {HOW_TO_PROVIDE}")
        rows = load_dataset("text", data_files={split: str(path)}, split=split, keep_linebreaks=True)["text"]
        raw = "".join(rows).encode("utf-8")
        if raw != path.read_bytes():
            raise DataUnavailable(f"{path}: `datasets` read different bytes than the file holds")
        return raw
    try:
        rows = load_dataset(HUB_DATASET, HUB_CONFIG, split=HUB_SPLIT_NAMES[split])["text"]
    except (ConnectionError, OSError) as error:
        raise DataUnavailable(f"could not load {HUB_DATASET}/{HUB_CONFIG} from the hub ({error}). {HOW_TO_PROVIDE}") from error
    return raw_from_hub_rows(rows)


def byte_stream(raw: bytes) -> torch.Tensor:
    """[BOS] + UTF-8 bytes of the kept, stripped, newline-joined lines + [EOS], as int64 ids."""
    lines = [line.strip() for line in raw.decode("utf-8").splitlines()]
    text = "\n".join(line for line in lines if line)
    body = torch.frombuffer(bytearray(text.encode("utf-8")), dtype=torch.uint8).long()
    return torch.cat([torch.tensor([BOS_ID]), body, torch.tensor([EOS_ID])])


def describe_split(split: str, raw: bytes, stream: torch.Tensor) -> dict:
    blob = git_blob_id(raw)
    return {
        "split": split,
        "file_bytes": len(raw),
        "file_sha256": hashlib.sha256(raw).hexdigest(),
        "git_blob": blob,
        "official": blob == OFFICIAL_GIT_BLOB[split],
        "tokens": int(stream.numel()),
        "stream_sha256": hashlib.sha256(stream.to(torch.int16).numpy().tobytes()).hexdigest(),
    }


def prepare(wikitext_dir: str | None, train_split: str, require_official: bool) -> tuple[dict, dict]:
    """Streams {'train': ..., 'valid': ...} and the manifest that describes them."""
    if train_split == "valid":
        raise ValueError("wikitext_train_split='valid': the validation split is the evaluation split; train on 'train' or 'test'")
    streams, described = {}, []
    for role, split in (("train", train_split), ("valid", "valid")):
        raw = read_split(split, wikitext_dir)
        streams[role] = byte_stream(raw)
        described.append(describe_split(split, raw, streams[role]))
        if require_official and not described[-1]["official"]:
            raise DataUnavailable(
                f"wiki.{split}.raw has git blob {described[-1]['git_blob']}, not the official "
                f"{OFFICIAL_GIT_BLOB[split]}; set wikitext_require_official=false to use it anyway")
    manifest = {
        "dataset": f"{HUB_DATASET} ({HUB_CONFIG})",
        "source": f"local directory {Path(wikitext_dir).resolve()}" if wikitext_dir else f"Hugging Face hub {HUB_DATASET}",
        "train_split": train_split,
        "train_split_deviation": None if train_split == "train" else (
            f"Trained on the WikiText-2 '{train_split}' split, not the paper's 'train' split "
            "(not available here); validation numbers are not directly comparable with the paper's."),
        "splits": described,
    }
    return streams, manifest
