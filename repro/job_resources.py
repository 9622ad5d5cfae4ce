"""What a job of the DAG asks a scheduler for (a SLURM cluster through Snakemake's executor plugin,
or Snakemake's own `--resources`): peak memory and wall time bounded from the tokens its recipe
makes the model pass over, with per-token costs measured on each kind of device
(benchmarks/measured/PERFORMANCE.md). Bounds, not guesses: a job killed at its limit is lost work.
"""
import math
from dataclasses import dataclass

from repro.ruler.tasks import TASKS as RULER_TASKS


@dataclass(frozen=True)
class Device:
    start_s: float  # interpreter, imports, data, model; on CUDA also its start, graph capture, Triton's first compile
    seconds_per_token: float  # of a training step, the slowest model; a forward pass costs less
    base_mb: float  # the process before its first batch (with CUDA: the context on the host)
    mb_per_batch_token: float  # activations, per token of the largest batch (on CUDA they live on the GPU)


# CPU: UniMatrix-Discovery's recall step, the slowest measured, took 668 ms for 32 x 128 tokens, and
# peak RSS grew by 0.09 MB per batch token at T = 128 and 256. CUDA: the H100 pipeline's recall
# trainings averaged 5.5 us a token beside five others. `auto` and `mps` take the CPU's bounds.
DEVICES = {
    "cpu": Device(start_s=60, seconds_per_token=2e-4, base_mb=1000, mb_per_batch_token=0.1),
    "cuda": Device(start_s=300, seconds_per_token=2e-5, base_mb=3000, mb_per_batch_token=0),
}
MARGIN = 2  # over the slowest measured model, since a job killed at its limit must run again


@dataclass(frozen=True)
class Need:
    tokens: int  # tokens the job passes through its model, forward or forward and backward
    batch_tokens: int  # tokens of its largest batch

    def on(self, device: str) -> dict:
        """{"mem_mb", "runtime" (minutes)} for one attempt on `device` (a config's `device`)."""
        bounds = DEVICES.get(device, DEVICES["cpu"])
        seconds = MARGIN * (bounds.start_s + self.tokens * bounds.seconds_per_token)
        megabytes = MARGIN * (bounds.base_mb + self.batch_tokens * bounds.mb_per_batch_token)
        return {"mem_mb": math.ceil(megabytes), "runtime": math.ceil(seconds / 60)}


def evaluation_tokens(recipe: dict) -> int:
    """Tokens of one evaluation of a recipe's `eval` spec: every listed batch count, of every set."""
    spec = recipe["eval"]
    batches = spec["batches"] if isinstance(spec["batches"], list) else [spec["batches"]]
    return sum(batches) * spec["batch_size"] * recipe["seq_len"] * len(spec.get("sets", [None]))


def training(recipe: dict) -> Need:
    """A training run: its steps (per stage of a curriculum), and a staged curriculum's evaluation
    of every stage's task before training and after each stage."""
    stages = len(recipe.get("stages", [None]))
    tokens = stages * recipe["steps"] * recipe["batch_size"] * recipe["seq_len"]
    if "stages" in recipe:
        tokens += (stages + 1) * stages * evaluation_tokens(recipe)
    return Need(tokens, max(recipe["batch_size"], recipe["eval"]["batch_size"]) * recipe["seq_len"])


def evaluation(recipe: dict) -> Need:
    return Need(evaluation_tokens(recipe), recipe["eval"]["batch_size"] * recipe["seq_len"])


def ruler(samples: int, budget: int) -> Need:
    """RULER-core on one checkpoint: each sample of each task generates token by token over a prompt
    window of `budget` tokens."""
    longest = max(task.max_new for task in RULER_TASKS.values())
    return Need(samples * len(RULER_TASKS) * longest * (budget + longest), budget + longest)


def depth(windows: int, seq_len: int) -> Need:
    """The depth diagnostics of one checkpoint: one forward pass over `windows` validation windows."""
    return Need(windows * seq_len, windows * seq_len)


def timing(settings: list) -> Need:
    """One timing job (repro.config.benchmark_variant_settings): every sweep's lengths, warm-up and
    repeats, and the training-step measurement's batches."""
    tokens, largest = 0, 0
    for measurement in settings:
        if measurement["measurement"] == "train_step":
            shapes = [(measurement["batch"], measurement["seq_len"], measurement["warmup"] + measurement["repeats"])]
        else:
            shapes = [(measurement["batch"], length, sweep["warmup"] + sweep["repeats"])
                      for sweep in measurement["sweeps"] for length in sweep["lengths"]]
        tokens += sum(batch * length * passes for batch, length, passes in shapes)
        largest = max([largest, *(batch * length for batch, length, _ in shapes)])
    return Need(tokens, largest)
