"""Prepare the byte streams of WikiText-2 raw and their manifest (spec §2.1).

Run by hand: python -m repro.data.prepare_wikitext --wikitext-dir ../shared/data/wikitext-2-raw-v1 --train-split test --out-dir data/wikitext2
"""
import argparse
import sys
from pathlib import Path

from repro.artifacts import save_atomically, write_json_atomically
from repro.data.wikitext import DataUnavailable, prepare


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wikitext-dir", help="directory of wiki.{train,valid,test}.raw; omit to read the Hugging Face hub")
    parser.add_argument("--train-split", default="train", choices=["train", "test"])
    parser.add_argument("--allow-unofficial", action="store_true", help="accept files whose hash differs from the official release")
    parser.add_argument("--out-dir", required=True, help="writes train_stream.pt, valid_stream.pt, manifest.json")
    args = parser.parse_args(argv)
    try:
        streams, manifest = prepare(args.wikitext_dir, args.train_split, require_official=not args.allow_unofficial)
    except DataUnavailable as error:
        sys.exit(f"error: {error}")
    out = Path(args.out_dir)
    for role, stream in streams.items():
        save_atomically(stream, out / f"{role}_stream.pt")
    write_json_atomically(manifest, out / "manifest.json")


if __name__ == "__main__":
    main()
