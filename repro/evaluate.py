"""Evaluate a trained run and write its metrics.json: metrics, training record, settings and
provenance (spec §2.3 for LM, §5.1 for recall).

Run by hand: python -m repro.evaluate --settings '<json>' --checkpoint model.pt --metrics metrics.json [--data valid=...]
"""
import argparse
import json
import sys
import time

import torch

from repro import device as devices
from repro.acceleration import run_acceleration
from repro.artifacts import load_data, write_json_atomically
from repro.config import settings_hash
from repro.provenance import code_version, host, library_versions
from repro.runtime import build, configure_torch
from repro.settings import EvalSettings, TrainSettings
from repro.tasks import TASKS

FINAL_LOSS_WINDOW = 10  # train_loss_final = mean of the last steps' losses


def load_checkpoint(path, trained_with: str | None = None) -> dict:
    """The checkpoint at `path`; exits when `trained_with` (a settings hash) names other training
    settings than it was trained with, so a stale checkpoint is never scored."""
    checkpoint = torch.load(path)
    if trained_with and settings_hash(checkpoint["settings"]) != trained_with:
        sys.exit(f"error: {path} was trained with other settings than the config now gives; retrain it")
    return checkpoint


def trained_model(checkpoint: dict, settings: TrainSettings):
    """(model, device, acceleration): the checkpoint's model with its weights, on the device and with
    the acceleration that `settings` (the training's, or an evaluation's in their place) ask for."""
    device = devices.resolve(settings.device)
    acceleration = run_acceleration(settings, device)
    configure_torch(acceleration)
    model = build(TrainSettings.from_dict(checkpoint["settings"]), device, acceleration)
    model.load_state_dict(checkpoint["state_dict"])
    return model, device, acceleration


def evaluate(checkpoint: dict, evaluation: EvalSettings, data: dict):
    """(metrics, evaluation data description, device description) of a checkpoint."""
    settings = TrainSettings.from_dict(checkpoint["settings"]).evaluated_with(evaluation)
    model, device, acceleration = trained_model(checkpoint, settings)
    start = time.perf_counter()
    task_metrics, eval_data = TASKS[settings.task].evaluate(model, settings, data, device, acceleration)
    record = checkpoint["record"]
    losses = record["losses"]
    metrics = {
        "params": record["params"],
        "train_loss_final": sum(losses[-FINAL_LOSS_WINDOW:]) / len(losses[-FINAL_LOSS_WINDOW:]),
        "train_seconds": record["train_seconds"],
        "eval_seconds": time.perf_counter() - start,
        **record.get("metrics", {}),  # measured during training, e.g. after each stage of a curriculum
        **task_metrics,
    }
    return metrics, eval_data, devices.describe(device)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True, help="evaluation settings (JSON), as repro.config.eval_settings makes them")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--trained-with", help="settings hash the checkpoint must have been trained with (refuses a stale one)")
    parser.add_argument("--data", action="append", default=[], metavar="ROLE=PATH", help="e.g. valid=data/wikitext2/valid_stream.pt")
    parser.add_argument("--manifest", help="data manifest whose hashes the metrics record (LM runs)")
    parser.add_argument("--metrics", required=True, help="metrics.json to write")
    args = parser.parse_args(argv)
    evaluation = EvalSettings.from_dict(json.loads(args.settings))
    checkpoint = load_checkpoint(args.checkpoint, args.trained_with)
    metrics, eval_data, eval_device = evaluate(checkpoint, evaluation, load_data(args.data))
    train_settings, eval_settings = checkpoint["settings"], evaluation.as_dict()
    manifest = json.loads(open(args.manifest).read()) if args.manifest else {}
    write_json_atomically({
        **{key: eval_settings[key] for key in ("run", "experiment", "variant", "mode", "seed")},
        "trained_as": train_settings["run"],  # another experiment's run where both train the same
        "data_deviation": manifest.get("train_split_deviation"),
        "metrics": metrics,
        "train_losses": checkpoint["record"]["losses"],
        "settings": {"train": train_settings, "eval": eval_settings},
        "provenance": {
            "config_hash": settings_hash(train_settings, eval_settings),
            "seed": train_settings["seed"],
            "code_version": code_version(),
            "library_versions": library_versions(),
            "train_device": checkpoint["record"]["device"],
            "eval_device": eval_device,
            "train_host": checkpoint["record"].get("host"),  # None for a checkpoint trained outside `repro.train`'s command
            "eval_host": host(),
            "data": {**manifest, **eval_data},
        },
    }, args.metrics)


if __name__ == "__main__":
    main()
