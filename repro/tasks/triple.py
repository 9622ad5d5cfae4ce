"""Triple-interaction benchmark (spec §5.2): three tags each bind values a, b, c; the label is one of
four rules applied to the queried tag's (a, b, c).

Vocabulary (V = 53): 0 PAD, 1 BOS, 2 QUERY, 3-5 role markers A B C, 6-21 filler, 22-29 A values,
30-37 B values, 38-45 C values, 46-48 tags, 49-52 task tokens (copy, affine, gate, lookup).
One example is [BOS, TASK] + body + [QUERY, TAG_queried], one label per sequence (16 classes).
"""
import hashlib
import itertools

import torch
import torch.nn.functional as F

from repro.acceleration import acceleration_for
from repro.cuda_graph import replayed_forward
from repro.device import transfer
from repro.tasks import streams

VOCAB_SIZE = 53
N_CLASSES = 16
PAD_ID, BOS, QUERY = 0, 1, 2
ROLE_MARKERS = (3, 4, 5)             # A, B, C
FILLER_LOW, FILLER_HIGH = 6, 22      # filler ids are drawn from [6, 22)
VALUE_STARTS = (22, 30, 38)          # first id of the A, B and C value ranges
N_VALUES = 8
TAG_BASE, N_TAGS = 46, 3
TASK_TOKEN_BASE = 49
TASKS = ("copy", "affine", "gate", "lookup")
BODY_FORMATS = ("chunk", "record")
TASK_BODY_FORMAT = {"copy": "record", "affine": "record", "gate": "record", "lookup": "chunk"}
# Faithful filler budget: seq_len minus the shortest chunk-format sequence (2 + 27 + 2), whatever the
# task's format, so record-format tasks come out 6 tokens short (D4).
FAITHFUL_MIN_LEN = 31

# What the benchmark-aware Typed-Latent parser needs to know (spec §4.9); the model gets this dict.
LAYOUT = {
    "vocab_size": VOCAB_SIZE,
    "n_classes": N_CLASSES,
    "n_tasks": len(TASKS),
    "task_position": 1,
    "task_token_base": TASK_TOKEN_BASE,
    "tag_base": TAG_BASE,
    "n_tags": N_TAGS,
    "role_markers": ROLE_MARKERS,
    "value_starts": VALUE_STARTS,
    "n_values": N_VALUES,
}


def lookup_table(seed: int) -> torch.Tensor:
    """Tbl (8, 8, 8) of classes 0..15, i.i.d. uniform; the trainer seeds it with run seed + 101."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, N_CLASSES, (N_VALUES,) * 3, generator=generator)


def rule_labels(a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Labels (..., 4) of copy, affine, gate and lookup for value indices a, b, c (any equal shapes)."""
    copy = a
    affine = (a + 2 * b + 3 * c) % N_CLASSES
    gate = (a * (b + 1) + c * ((a ^ b) + 1)) % N_CLASSES
    lookup = table[a, b, c]
    return torch.stack([copy, affine, gate, lookup], dim=-1)


def body_length(body_format: str) -> int:
    return 27 if body_format == "chunk" else 21


def filler_budget(seq_len: int, body_format: str, equal_lengths: bool, task_token: bool) -> int:
    """Faithful: seq_len − 31 for every format. Equal lengths: whatever makes the sequence seq_len."""
    if not equal_lengths:
        return seq_len - FAITHFUL_MIN_LEN
    return seq_len - (1 + int(task_token)) - body_length(body_format) - 2


def body_units(values: list, body_format: str) -> list:
    """The body's units before shuffling. values (3 × 3 nested list): row = tag, columns = a, b, c
    indices. chunk: 9 × (TAG_i, ROLE_X, X-value), tag-major; record: 3 × (TAG_i, A, a, B, b, C, c)."""
    def binding(tag, role):
        return [ROLE_MARKERS[role], VALUE_STARTS[role] + values[tag][role]]
    if body_format == "chunk":
        return [[TAG_BASE + tag] + binding(tag, role) for tag in range(N_TAGS) for role in range(3)]
    return [[TAG_BASE + tag] + [token for role in range(3) for token in binding(tag, role)] for tag in range(N_TAGS)]


def triple_example(task_id: int, body_format: str, n_filler: int, generator: torch.Generator,
                   task_token: bool = True):
    """One sequence and the queried tag's (a, b, c), as lists. RNG order (spec §5.2.3): a0 b0 c0 a1 … c2,
    queried tag, unit permutation, gap weights, gap assignment of the filler, filler ids gap by gap.
    The filler ids of all gaps are one draw, split gap by gap: the CPU generator draws a tensor's
    integers one after another, so that is the same stream as one draw per gap, in a tenth of the
    calls (tests/test_triple_task.py holds it)."""
    values = torch.randint(0, N_VALUES, (N_TAGS * 3,), generator=generator).view(N_TAGS, 3).tolist()
    queried = int(torch.randint(0, N_TAGS, (1,), generator=generator))
    units = body_units(values, body_format)
    order = torch.randperm(len(units), generator=generator).tolist()
    weights = torch.rand(len(units) + 1, generator=generator) + 1e-4
    gap_sizes = [0] * (len(units) + 1)
    if n_filler > 0:
        gaps = torch.multinomial(weights / weights.sum(), n_filler, replacement=True, generator=generator)
        gap_sizes = torch.bincount(gaps, minlength=len(units) + 1).tolist()
    filler = torch.randint(FILLER_LOW, FILLER_HIGH, (n_filler,), generator=generator).tolist()
    ends = list(itertools.accumulate(gap_sizes))
    fillers = [filler[end - size:end] for size, end in zip(gap_sizes, ends)]
    tokens = [BOS] + ([TASK_TOKEN_BASE + task_id] if task_token else [])
    for unit_index, gap in zip(order, fillers):
        tokens += gap + units[unit_index]
    tokens += fillers[-1] + [QUERY, TAG_BASE + queried]
    return tokens, values[queried]


def triple_batch(task: str, batch_size: int, seq_len: int, generator: torch.Generator, table: torch.Tensor,
                 equal_lengths: bool, task_token: bool = True, body_format: str = None):
    """(inputs (B, L), labels (B,), aux (B, 3) = the queried tag's a, b, c).

    equal_lengths=False is the paper's generator (lookup seq_len long, the others 6 shorter);
    True pads every task to exactly seq_len. task_token=False drops the TASK token (the uncorrected
    benchmark); body_format ("chunk"/"record") replaces the task's own format, e.g. to give every task
    the same one. Examples are drawn one after another from the one generator."""
    if task not in TASKS:
        raise ValueError(f"task={task!r}: must be one of {TASKS}")
    if body_format is not None and body_format not in BODY_FORMATS:
        raise ValueError(f"body_format={body_format!r}: must be None or one of {BODY_FORMATS}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: must be a positive integer")
    if tuple(table.shape) != (N_VALUES,) * 3:
        raise ValueError(f"table of shape {tuple(table.shape)}: must be {(N_VALUES,) * 3}")
    body_format = body_format or TASK_BODY_FORMAT[task]
    n_filler = filler_budget(seq_len, body_format, equal_lengths, task_token)
    if n_filler < 0:
        raise ValueError(f"seq_len={seq_len} is too short for task {task!r} in {body_format} format "
                         f"(minimum {seq_len - n_filler} with equal_lengths={equal_lengths})")
    task_id = TASKS.index(task)
    examples = [triple_example(task_id, body_format, n_filler, generator, task_token) for _ in range(batch_size)]
    inputs = torch.tensor([tokens for tokens, _ in examples])
    aux = torch.tensor([abc for _, abc in examples])
    labels = rule_labels(aux[:, 0], aux[:, 1], aux[:, 2], table)[:, task_id]
    return inputs, labels, aux


# ---- the staged curriculum's side (repro/train_staged.py, spec §5.2.4) ----------------------------

MODEL_KWARGS = {"n_classes": N_CLASSES, "layout": LAYOUT}


def equal_lengths(settings: dict) -> bool:
    """Corrected runs pad every task to seq_len; faithful runs keep the paper's 43 / 49 (D4)."""
    return settings["mode"] == "corrected"


def table_seed(settings: dict) -> int:
    return settings["seed"] + settings["seed_offsets"]["lookup_table"]


def stage_batches(settings: dict, task: str, stage: int) -> tuple:
    """The training batches of one curriculum stage, in order, from their own generator."""
    seed = settings["seed"] + settings["seed_offsets"]["stage_data"] * stage
    return streams.drawn(_kept_batch, settings["steps"], seed, task, settings["batch_size"], settings["seq_len"],
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


def eval_seed(settings: dict, stage: int) -> int:
    """The evaluation after stage k (k = 0 before training) draws from run seed + offset + k − 1,
    the stage-0 evaluation from the same seed as stage 1's."""
    return settings["seed"] + settings["seed_offsets"]["eval"] + max(stage, 1) - 1


@torch.no_grad()
def evaluate_all(model, settings: dict, seed: int, device: torch.device, heads=None):
    """Accuracy and mean CE on every task, each over the same count of batches from a generator
    seeded `seed` (the same seed for all four tasks); with `heads`, also the auxiliary accuracy
    (a, b and c of the queried tag, pooled). Returns (metrics, {task: sha256 of its inputs})."""
    spec, metrics, hashes = settings["eval"], {}, {}
    model.eval()
    forward = replayed_forward(model, acceleration_for(settings, device).cuda_graphs)
    for task in TASKS:
        batches = streams.drawn(_kept_batch, spec["batches"], seed, task, spec["batch_size"], settings["seq_len"],
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


def evaluate(model, settings: dict, data: dict, device: torch.device):
    """The evaluation Table 6 reports: every task after the last stage (the auxiliary heads are not
    part of the checkpointed model; their accuracies come from the training record)."""
    seed = eval_seed(settings, len(settings["stages"]))
    metrics, hashes = evaluate_all(model, settings, seed, device)
    return metrics, {"source": f"synthetic (repro.tasks.triple), evaluation seed {seed}, "
                               f"{'equal lengths' if equal_lengths(settings) else 'faithful lengths'}",
                     **{f"eval_{task}_sha256": digest for task, digest in hashes.items()}}
