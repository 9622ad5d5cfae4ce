"""The triple benchmark as a task (spec §5.2.4, recipe R-TRI): its staged curriculum and its
evaluation. The sequences come from repro/tasks/triple_data.py.

Stages copy → affine → gate → lookup, each trained on its own task only, with one AdamW over the
model and the auxiliary heads whose state carries across stages. Loss per step:
CE(logits, y) + aux_weight · mean of the three auxiliary CEs (a, b, c of the queried tag), the
representation coming from a second forward call in training mode (independent dropout masks).
Gradients are clipped separately for the model and for the heads. All four tasks are evaluated
before training (stage 0) and after every stage; the record keeps those numbers and, per stage,
the first step from which the training accuracy stayed at 100% for the rest of the stage (absent
when the stage ended on a miss)."""
import hashlib

import torch
import torch.nn.functional as F

from models.auxiliary_heads import AuxiliaryHeads
from repro.cuda_graph import replayed_forward
from repro.curriculum import Phase
from repro.device import transfer
from repro.settings import TrainSettings
from repro.tasks import streams
from repro.tasks.triple_data import (LAYOUT, N_CLASSES, PAD_ID, TASK_BODY_FORMAT, TASKS, VOCAB_SIZE,  # noqa: F401
                                     filler_budget, lookup_table, triple_batch)

MODEL_KWARGS = {"n_classes": N_CLASSES, "layout": LAYOUT}
DEFECTS = ("D4",)  # faithful runs keep the paper's unequal task lengths; corrected runs pad every task to seq_len


def equal_lengths(settings: TrainSettings) -> bool:
    """Corrected runs pad every task to seq_len; faithful runs keep the paper's 43 / 49 (D4)."""
    return settings.mode == "corrected"


def table_seed(settings: TrainSettings) -> int:
    return settings.seed + settings.seed_offsets["lookup_table"]


def stage_batches(settings: TrainSettings, task: str, stage: int) -> tuple:
    """The training batches of one curriculum stage, in order, from their own generator."""
    seed = settings.seed + settings.seed_offsets["stage_data"] * stage
    return streams.drawn(_kept_batch, settings.steps, seed, task, settings.batch_size, settings.seq_len,
                         table_seed(settings), equal_lengths(settings))


def _kept_batch(task: str, batch_size: int, seq_len: int, table: int, equal: bool, generator: torch.Generator):
    """triple_batch with the lookup table of seed `table`, its inputs kept as bytes (ids < 53): the
    streams stay in memory (repro/tasks/streams.py), and bytes take 1/8 of it; `as_ids` widens them."""
    inputs, labels, aux = triple_batch(task, batch_size, seq_len, generator, lookup_table(table), equal)
    return inputs.to(torch.uint8), labels, aux


def as_ids(batch):
    """A kept batch with its inputs as int64 ids again."""
    inputs, labels, aux = batch
    return inputs.long(), labels, aux


def eval_seed(settings: TrainSettings, stage: int) -> int:
    """The evaluation after stage k (k = 0 before training) draws from run seed + offset + k − 1,
    the stage-0 evaluation from the same seed as stage 1's."""
    return settings.seed + settings.seed_offsets["eval"] + max(stage, 1) - 1


@torch.no_grad()
def evaluate_all(model, settings: TrainSettings, seed: int, device: torch.device, acceleration, heads=None):
    """Accuracy and mean CE on every task, each over the same count of batches from a generator
    seeded `seed` (the same seed for all four tasks); with `heads`, also the auxiliary accuracy
    (a, b and c of the queried tag, pooled). Returns (metrics, {task: sha256 of its inputs})."""
    spec, metrics, hashes = settings.eval, {}, {}
    model.eval()
    forward = replayed_forward(model, acceleration.cuda_graphs)
    for task in TASKS:
        batches = streams.drawn(_kept_batch, spec["batches"], seed, task, spec["batch_size"], settings.seq_len,
                                table_seed(settings), equal_lengths(settings))
        # Summed on the device (loss in float64, in batch order) and read once per task.
        loss = torch.zeros((), dtype=torch.float64, device=device)
        correct = torch.zeros((), dtype=torch.int64, device=device)
        aux_correct, count = torch.zeros_like(correct), 0
        digest = hashlib.sha256()
        for inputs, labels, aux in map(as_ids, batches):
            digest.update(inputs.numpy().tobytes())
            logits, rep = forward(transfer(inputs, device))
            labels = transfer(labels, device)
            loss += F.cross_entropy(logits.double(), labels, reduction="sum")
            correct += (logits.argmax(-1) == labels).sum()
            if heads is not None:
                aux_correct += (heads(rep).argmax(-1) == transfer(aux, device)).sum()
            count += labels.numel()
        metrics[f"{task}_accuracy_pct"] = 100.0 * correct.item() / count
        metrics[f"{task}_loss"] = loss.item() / count
        if heads is not None:
            metrics[f"{task}_aux_accuracy_pct"] = 100.0 * aux_correct.item() / (3 * count)
        hashes[task] = digest.hexdigest()
    return metrics, hashes


def evaluate(model, settings: TrainSettings, data: dict, device: torch.device, acceleration):
    """The evaluation Table 6 reports: every task after the last stage (the auxiliary heads are not
    part of the checkpointed model; their accuracies come from the training record)."""
    seed = eval_seed(settings, len(settings.stages))
    metrics, hashes = evaluate_all(model, settings, seed, device, acceleration)
    return metrics, {"source": f"synthetic (repro.tasks.triple), evaluation seed {seed}, "
                               f"{'equal lengths' if equal_lengths(settings) else 'faithful lengths'}",
                     **{f"eval_{task}_sha256": digest for task, digest in hashes.items()}}


def recipe_problems(recipe: dict, data: dict):
    """(key, problem) of each setting of a triple recipe this task cannot generate: every stage's
    task must fit seq_len in both modes (the paper's lengths and equal lengths)."""
    for i, task in enumerate(recipe["stages"]):
        if task not in TASKS:
            yield f"stages.{i}", f"{task!r}; valid: {', '.join(TASKS)}"
            continue
        shortest = max(recipe["seq_len"] - filler_budget(recipe["seq_len"], TASK_BODY_FORMAT[task], equal, True)
                       for equal in (False, True))
        if recipe["seq_len"] < shortest:
            yield "seq_len", f"{recipe['seq_len']} is too short for the {task} stage; valid: at least {shortest}"
    offsets, stages = recipe["seed_offsets"], range(1, len(recipe["stages"]) + 1)
    training = [seed + offsets["stage_data"] * stage for seed in recipe["seeds"] for stage in stages]  # stage_batches
    evaluation = [seed + offsets["eval"] + stage - 1 for seed in recipe["seeds"] for stage in stages]  # eval_seed
    if problem := streams.shared_seeds(training, evaluation):
        yield "seeds", problem


class StagedCurriculum:
    def __init__(self, model, settings: TrainSettings, device: torch.device, acceleration):
        self.model, self.settings, self.device, self.acceleration = model, settings, device, acceleration
        self.heads = AuxiliaryHeads(settings.architecture["d_model"]).to(device)
        self.modules = [model, self.heads]
        self.stage = 0
        self.all_correct = []  # per step of this stage, on the device: read back once, at the stage's end

    def loss(self, inputs, labels, aux):
        logits, _ = self.model(inputs)
        _, rep = self.model(inputs)
        aux_loss = F.cross_entropy(self.heads(rep).flatten(0, 1), aux.flatten())  # = (CE_a + CE_b + CE_c) / 3
        return F.cross_entropy(logits, labels) + self.settings.aux_weight * aux_loss, logits

    def phases(self):
        for stage, task in enumerate(self.settings.stages, start=1):
            self.stage, self.all_correct = stage, []
            yield Phase(task, map(as_ids, stage_batches(self.settings, task, self.stage)))

    def before_training(self) -> dict:
        return self._evaluated()

    def after_step(self, batch, outputs) -> None:
        _, labels, _ = batch
        self.all_correct.append((outputs[1].argmax(-1) == labels).all())

    def after_phase(self) -> dict:
        metrics = {}
        # the last step of this stage with a wrong training prediction (0: none)
        last_miss = max((i for i, correct in enumerate(torch.stack(self.all_correct).tolist(), 1) if not correct), default=0)
        if last_miss < self.settings.steps:  # else the stage ended on a miss: no such step
            metrics[f"{self.settings.stages[self.stage - 1]}_steps_to_perfect_training"] = last_miss + 1
        return metrics | self._evaluated()

    def _evaluated(self) -> dict:
        found, _ = evaluate_all(self.model, self.settings, eval_seed(self.settings, self.stage), self.device,
                                self.acceleration, heads=self.heads)
        return {f"{name}_after_stage{self.stage}": value for name, value in found.items()}


def curriculum(model, settings: TrainSettings, data: dict, device: torch.device, acceleration) -> StagedCurriculum:
    return StagedCurriculum(model, settings, device, acceleration)
