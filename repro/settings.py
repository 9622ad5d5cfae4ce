"""A run's settings as typed records: what the train and evaluate rules pass to their jobs (as JSON,
see as_dict) and what the jobs read. repro/config.py resolves them from the config. A setting that
one task alone reads is None for the others and left out of the JSON, so the JSON, and with it
every settings hash, holds exactly the settings a run has."""
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class _Settings:
    def as_dict(self) -> dict:
        """The JSON form: the settings that are set."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_dict(cls, settings: Mapping):
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(settings) - names)
        if unknown:
            raise ValueError(f"{cls.__name__} has no setting {', '.join(unknown)}; valid: {', '.join(sorted(names))}")
        return cls(**settings)


@dataclass(frozen=True)
class TrainSettings(_Settings):
    """Everything that determines a trained checkpoint, and nothing else."""
    run: str
    experiment: str
    task: str
    variant: str
    architecture: Mapping  # the variant's family and settings (models/registry.py)
    mode: str
    seed: int
    steps: int
    batch_size: int
    seq_len: int
    lr: float
    weight_decay: float
    dropout: float
    clip_norm: float
    device: str
    recurrence: str
    torch_threads: int
    flush_denormals: bool
    cuda_graphs: bool
    data: Mapping | None = None  # lm: {"train_split"}
    pairs: int | None = None  # recall: key-value pairs per training sequence
    stages: list | None = None  # triple: the curriculum, one task per stage
    aux_weight: float | None = None  # triple
    seed_offsets: Mapping | None = None  # triple: data seeds = run seed + offset
    eval: Mapping | None = None  # triple: the curriculum evaluates after every stage

    def evaluated_with(self, evaluation: "EvalSettings") -> "TrainSettings":
        """These settings as an evaluation sees them: its run names, evaluation and computing settings
        in place of the training's (a shared run is evaluated under each experiment's name)."""
        return replace(self, **evaluation.as_dict())


@dataclass(frozen=True)
class EvalSettings(_Settings):
    """Everything that determines a run's evaluation given its checkpoint, and the run it is."""
    run: str
    experiment: str
    variant: str
    mode: str
    seed: int
    task: str
    eval: Mapping
    device: str
    recurrence: str
    torch_threads: int
    flush_denormals: bool
