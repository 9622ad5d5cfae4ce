"""The one training loop of every experiment: AdamW, constant LR, global-norm clipping (spec §1.2).

Run by hand: python -m repro.train --settings '<json>' --checkpoint out/model.pt [--data train=...]
"""
import argparse
import json
import sys
import time

import torch
from tqdm import tqdm

from models import build_model, count_params
from repro import device as devices
from repro.artifacts import load_data, save_atomically
from repro.tasks import TASKS


class NonFiniteLoss(RuntimeError):
    """Training diverged; no checkpoint is written."""


def configure_torch(settings: dict) -> None:
    torch.set_num_threads(settings["torch_threads"])
    torch.use_deterministic_algorithms(True, warn_only=True)


def build(settings: dict, device: torch.device) -> torch.nn.Module:
    """The run's model, seeded by the run seed (initialisation and dropout, spec §1.3)."""
    task = TASKS[settings["task"]]
    torch.manual_seed(settings["seed"])
    model = build_model(settings["architecture"], vocab_size=task.VOCAB_SIZE, max_seq_len=settings["seq_len"],
                        pad_id=task.PAD_ID, mode=settings["mode"], dropout=settings["dropout"],
                        recurrence=settings["recurrence"])
    return model.to(device)


def train(settings: dict, data: dict, progress: bool = True):
    """Train one run; returns (model, record). Raises NonFiniteLoss naming run and step."""
    configure_torch(settings)
    device = devices.resolve(settings["device"])
    task = TASKS[settings["task"]]
    model = build(settings, device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings["lr"], weight_decay=settings["weight_decay"])
    data_generator = torch.Generator().manual_seed(settings["seed"])  # separate stream for data (spec §1.3)
    losses = []
    start = time.perf_counter()
    model.train()
    bar = tqdm(range(1, settings["steps"] + 1), desc=settings["run"], file=sys.stderr, disable=not progress, mininterval=2)
    for step in bar:
        inputs, targets = task.sample_batch(settings, data, data_generator)
        loss = task.loss(model(inputs.to(device)), targets.to(device))
        if not torch.isfinite(loss):
            raise NonFiniteLoss(f"run {settings['run']}: loss is {loss.item()} at step {step}; no checkpoint written")
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings["clip_norm"])
        optimiser.step()
        losses.append(loss.item())
        bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
    record = {
        "losses": losses,
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
