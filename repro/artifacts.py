"""Reading and writing the pipeline's files. Every write goes to a temporary file first and is
renamed into place, so an interrupted job never leaves a file that looks finished."""
import argparse
import json
import os
from pathlib import Path

import pandas as pd
import torch


def _replace_into(path, write) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    write(temporary)
    os.replace(temporary, path)


def save_atomically(obj, path) -> None:
    _replace_into(path, lambda temporary: torch.save(obj, temporary))


def write_json_atomically(obj, path) -> None:
    _replace_into(path, lambda temporary: temporary.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n"))


def write_csv_atomically(frame, path) -> None:
    _replace_into(path, lambda temporary: frame.to_csv(temporary, index=False))


def collect_json(argv, description: str, written_by: str, rows) -> None:
    """A collecting command: `--out CSV` and JSON files (each written by `written_by`), turned into one
    tidy CSV by `rows(result) -> list of dicts`."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the CSV to write")
    parser.add_argument("results", nargs="+", help=f"the JSON files of {written_by}")
    args = parser.parse_args(argv)
    frame = pd.DataFrame([row for path in args.results for row in rows(json.loads(Path(path).read_text()))])
    write_csv_atomically(frame, args.out)


def print_and_write(frame, out=None) -> None:
    """A command's table on the console, and as CSV in `out` when given."""
    print(frame.to_string(index=False))
    if out is not None:
        write_csv_atomically(frame, out)


def load_data(pairs: list) -> dict:
    """Data streams from ROLE=PATH arguments, e.g. ['train=data/wikitext2/train_stream.pt']."""
    data = {}
    for pair in pairs:
        role, sep, path = pair.partition("=")
        if not sep:
            raise ValueError(f"--data {pair!r}: expected ROLE=PATH")
        data[role] = torch.load(path)
    return data
