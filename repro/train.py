"""The training loop of every run: AdamW, constant LR, global-norm clipping (spec §1.2), over the
phases of the task's curriculum (repro/curriculum.py).

Run by hand: python -m repro.train --settings '<json>' --checkpoint out/model.pt [--data train=...]
"""
import argparse
import json
import sys
import time

from tqdm import tqdm

from models import count_params, with_auxiliary_loss
from repro import device as devices
from repro.acceleration import run_acceleration
from repro.artifacts import load_data, save_atomically
from repro.optimisation_step import OptimisationStep
from repro.provenance import host
from repro.runtime import LossRecord, build, configure_torch, optimisation_settings
from repro.settings import TrainSettings
from repro.tasks import TASKS


def train(settings: TrainSettings, data: dict, progress: bool = True):
    """Train one run; returns (model, record). Raises NonFiniteLoss naming run and step."""
    device = devices.resolve(settings.device)
    acceleration = run_acceleration(settings, device)
    configure_torch(acceleration)
    model = build(settings, device, acceleration)
    curriculum = TASKS[settings.task].curriculum(model, settings, data, device, acceleration)

    def loss(*batch):  # the task's loss and the model's own term (ACT's ponder cost), as recorded
        task_loss, *outputs = curriculum.loss(*batch)
        return (with_auxiliary_loss(model, task_loss), *outputs)

    step_once = OptimisationStep(loss, [module.parameters() for module in curriculum.modules],
                                 **optimisation_settings(settings, acceleration))
    metrics = curriculum.before_training()
    losses = LossRecord(settings.run)
    start = time.perf_counter()
    for phase in curriculum.phases():
        for module in curriculum.modules:
            module.train()
        bar = tqdm(phase.batches, desc=" ".join(filter(None, (settings.run, phase.name))), total=settings.steps,
                   file=sys.stderr, disable=not progress, mininterval=2)
        for batch in bar:
            batch = tuple(devices.transfer(tensor, device) for tensor in batch)
            outputs = step_once(*batch)
            losses.add(outputs[0])
            curriculum.after_step(batch, outputs)
            if losses.values:
                bar.set_postfix(loss=f"{losses.values[-1]:.4f}", refresh=False)
        losses.read_back()
        metrics.update(curriculum.after_phase())
    record = {
        "losses": losses.read_back(),
        "train_seconds": time.perf_counter() - start,
        "params": count_params(model),
        "device": devices.describe(device),
        "metrics": metrics,  # measured during training, e.g. after each stage of a curriculum
    }
    return model, record


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--settings", required=True, help="the run's resolved settings (JSON), as repro.config.train_settings makes them")
    parser.add_argument("--data", action="append", default=[], metavar="ROLE=PATH", help="a prepared data stream, e.g. train=data/wikitext2/train_stream.pt")
    parser.add_argument("--checkpoint", required=True, help="where to write the checkpoint (written only when training succeeds)")
    args = parser.parse_args(argv)
    settings = TrainSettings.from_dict(json.loads(args.settings))
    model, record = train(settings, load_data(args.data))
    save_atomically({"settings": settings.as_dict(), "state_dict": model.state_dict(), "record": {**record, "host": host()}},
                    args.checkpoint)


if __name__ == "__main__":
    main()
