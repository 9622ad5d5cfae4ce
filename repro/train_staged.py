"""The staged curriculum of the triple benchmark (spec §5.2.4, recipe R-TRI).

Stages copy → affine → gate → lookup, each trained on its own task only, with one AdamW over the
model and the auxiliary heads whose state carries across stages. Loss per step:
CE(logits, y) + aux_weight · mean of the three auxiliary CEs (a, b, c of the queried tag), the
representation coming from a second forward call in training mode (independent dropout masks).
Gradients are clipped separately for the model and for the heads. All four tasks are evaluated
before training (stage 0) and after every stage; the record keeps those numbers and, per stage,
the first step from which the training accuracy stayed at 100% for the rest of the stage (absent
when the stage ended on a miss)."""
import sys
import time

import torch
import torch.nn.functional as F
from tqdm import tqdm

from models import count_params
from models.auxiliary_heads import AuxiliaryHeads
from repro import device as devices
from repro.optimisation_step import OptimisationStep
from repro.runtime import LossRecord, build, configure_torch, optimisation_settings
from repro.tasks import triple


def _stage_metrics(model, heads, settings: dict, stage: int, device) -> dict:
    found, _ = triple.evaluate_all(model, settings, triple.eval_seed(settings, stage), device, heads=heads)
    return {f"{name}_after_stage{stage}": value for name, value in found.items()}


def train(settings: dict, data: dict, progress: bool = True):
    """Train one staged run; returns (model, record). Raises NonFiniteLoss naming run and step."""
    configure_torch(settings)
    device = devices.resolve(settings["device"])
    model = build(settings, device)
    heads = AuxiliaryHeads(settings["architecture"]["d_model"]).to(device)

    def loss_fn(inputs, labels, aux):
        logits, _ = model(inputs)
        _, rep = model(inputs)
        aux_loss = F.cross_entropy(heads(rep).flatten(0, 1), aux.flatten())  # = (CE_a + CE_b + CE_c) / 3
        return F.cross_entropy(logits, labels) + settings["aux_weight"] * aux_loss, logits

    # One AdamW over both; the model's and the heads' gradients are clipped separately.
    step_once = OptimisationStep(loss_fn, [model.parameters(), heads.parameters()], **optimisation_settings(settings, device))
    record = {"metrics": _stage_metrics(model, heads, settings, 0, device)}
    losses = LossRecord(settings)
    start = time.perf_counter()
    for stage, task in enumerate(settings["stages"], start=1):
        model.train()
        heads.train()
        all_correct = []  # per step of this stage, on the device: read back once, at the stage's end
        bar = tqdm(triple.stage_batches(settings, task, stage), desc=f"{settings['run']} {task}", file=sys.stderr,
                   disable=not progress, mininterval=2)
        for batch in bar:
            inputs, labels, aux = (devices.transfer(t, device) for t in triple.as_ids(batch))
            loss, logits = step_once(inputs, labels, aux)
            losses.add(loss)
            all_correct.append((logits.argmax(-1) == labels).all())
            if losses.values:
                bar.set_postfix(loss=f"{losses.values[-1]:.4f}", refresh=False)
        losses.read_back()
        # the last step of this stage with a wrong training prediction (0: none)
        last_miss = max((i for i, correct in enumerate(torch.stack(all_correct).tolist(), 1) if not correct), default=0)
        if last_miss < settings["steps"]:  # else the stage ended on a miss: no such step
            record["metrics"][f"{task}_steps_to_perfect_training"] = last_miss + 1
        record["metrics"].update(_stage_metrics(model, heads, settings, stage, device))
    record.update(losses=losses.read_back(), train_seconds=time.perf_counter() - start, params=count_params(model), device=devices.describe(device))
    return model, record
