"""The training loop of every single-phase experiment: AdamW, constant LR, global-norm clipping
(spec §1.2). A staged recipe (one with `stages`) goes to repro/train_staged.py.

Run by hand: python -m repro.train --settings '<json>' --checkpoint out/model.pt [--data train=...]
"""
import argparse
import json
import sys
import time

import torch
from tqdm import tqdm

from models import count_params
from repro import device as devices
from repro import train_staged
from repro.artifacts import load_data, save_atomically
from repro.optimisation_step import OptimisationStep
from repro.runtime import LossRecord, build, configure_torch, optimisation_settings
from repro.tasks import TASKS


def train(settings: dict, data: dict, progress: bool = True):
    """Train one run; returns (model, record). Raises NonFiniteLoss naming run and step."""
    if "stages" in settings:
        return train_staged.train(settings, data, progress)
    return train_single_phase(settings, data, progress)


def train_single_phase(settings: dict, data: dict, progress: bool = True):
    configure_torch(settings)
    device = devices.resolve(settings["device"])
    task = TASKS[settings["task"]]
    model = build(settings, device)
    step_once = OptimisationStep(lambda inputs, targets: (task.loss(model(inputs), targets),), [model.parameters()],
                                 **optimisation_settings(settings, device))
    losses = LossRecord(settings)
    start = time.perf_counter()
    model.train()
    bar = tqdm(task.training_batches(settings, data), desc=settings["run"], total=settings["steps"], file=sys.stderr,
               disable=not progress, mininterval=2)
    for inputs, targets in bar:
        loss, = step_once(devices.transfer(inputs, device), devices.transfer(targets, device))
        losses.add(loss)
        if losses.values:
            bar.set_postfix(loss=f"{losses.values[-1]:.4f}", refresh=False)
    record = {
        "losses": losses.read_back(),
        "train_seconds": time.perf_counter() - start,
        "params": count_params(model),
        "device": devices.describe(device),
    }
    return model, record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True, help="the run's resolved settings (JSON), as repro.config.train_settings makes them")
    parser.add_argument("--data", action="append", default=[], metavar="ROLE=PATH", help="a prepared data stream, e.g. train=data/wikitext2/train_stream.pt")
    parser.add_argument("--checkpoint", required=True, help="where to write the checkpoint (written only when training succeeds)")
    args = parser.parse_args(argv)
    settings = json.loads(args.settings)
    model, record = train(settings, load_data(args.data))
    save_atomically({"settings": settings, "state_dict": model.state_dict(), "record": record}, args.checkpoint)


if __name__ == "__main__":
    main()
