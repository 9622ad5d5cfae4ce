"""Gather run metrics into the tidy frame (experiment, variant, mode, seed, metric, value) and
summarise what produced them.

  python -m repro.aggregate experiment --out results/metrics/lm.csv --provenance-out results/metrics/lm.provenance.json RUN/metrics.json ...
  python -m repro.aggregate all --out results/metrics.csv --provenance-out results/provenance.json results/metrics/lm.csv ...
"""
import argparse
import hashlib
import json
from pathlib import Path

import pandas as pd

from repro.artifacts import write_csv_atomically, write_json_atomically

COLUMNS = ["experiment", "variant", "mode", "seed", "metric", "value"]


def tidy(metrics_files) -> pd.DataFrame:
    rows = []
    for path in metrics_files:
        run = json.loads(Path(path).read_text())
        rows += [{**{key: run[key] for key in COLUMNS[:4]}, "metric": metric, "value": value}
                 for metric, value in run["metrics"].items()]
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(COLUMNS[:5], kind="stable").reset_index(drop=True)


def run_provenance(run: dict) -> dict:
    """A run's provenance in the shape of a summary of many runs (lists of distinct values)."""
    provenance = run["provenance"]
    return {
        "n_runs": 1,
        "code_versions": [provenance["code_version"]],
        "devices": sorted({provenance["train_device"], provenance["eval_device"]}),
        "library_versions": [provenance["library_versions"]],
        "config_hashes": [provenance["config_hash"]],
        "data": [provenance["data"]],
    }


def merge(summaries: list) -> dict:
    merged = {"n_runs": sum(summary["n_runs"] for summary in summaries)}
    for key in ("code_versions", "devices", "library_versions", "config_hashes", "data"):
        seen = {json.dumps(value, sort_keys=True) for summary in summaries for value in summary[key]}
        merged[key] = [json.loads(value) for value in sorted(seen)]
    return merged


def for_report(summary: dict) -> dict:
    """The provenance section of the report: one value per field, the WikiText manifest's
    deviation stated plainly."""
    wikitext = [entry for entry in summary["data"] if "splits" in entry]
    manifest = wikitext[0] if wikitext else {}
    versions = {}
    for entry in summary["library_versions"]:
        for name, version in entry.items():
            versions.setdefault(name, set()).add(version)
    return {
        "n_runs": summary["n_runs"],
        "code_versions": summary["code_versions"],
        "devices": summary["devices"],
        "library_versions": {name: ", ".join(sorted(found)) for name, found in versions.items()},
        "config_hash": hashlib.sha256("".join(summary["config_hashes"]).encode()).hexdigest()[:16],
        "data_source": manifest.get("source", "synthetic tasks only"),
        "train_split": manifest.get("train_split"),
        "train_split_deviation": manifest.get("train_split_deviation"),
        "splits": [{key: split[key] for key in ("split", "file_sha256", "official", "tokens")} for split in manifest.get("splits", [])],
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("level", choices=["experiment", "all"], help="runs of one experiment, or the experiments' tables")
    parser.add_argument("--out", required=True)
    parser.add_argument("--provenance-out", required=True)
    parser.add_argument("inputs", nargs="+", help="metrics.json files (experiment) or experiment CSVs (all)")
    args = parser.parse_args(argv)
    if args.level == "experiment":
        frame = tidy(args.inputs)
        provenance = merge([run_provenance(json.loads(Path(path).read_text())) for path in args.inputs])
    else:
        frame = pd.concat([pd.read_csv(path) for path in args.inputs], ignore_index=True)
        provenance = for_report(merge([json.loads(Path(path).with_suffix(".provenance.json").read_text()) for path in args.inputs]))
    write_csv_atomically(frame, args.out)
    write_json_atomically(provenance, args.provenance_out)


if __name__ == "__main__":
    main()
