"""What every training and evaluation job does first: configure torch, and build the run's model
seeded by the run seed (spec §1.3)."""
import torch

from models import build_model
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
                        recurrence=settings["recurrence"], **task.MODEL_KWARGS)
    return model.to(device)


def optimisation_settings(settings: dict, device: torch.device) -> dict:
    """OptimisationStep's keywords for a run: AdamW and clipping (spec §1.2), and whether the step is
    replayed as a CUDA graph (config `cuda_graphs`, CUDA only)."""
    return {"lr": settings["lr"], "weight_decay": settings["weight_decay"], "clip_norm": settings["clip_norm"],
            "graph": settings["cuda_graphs"] and device.type == "cuda"}


def check_finite(loss: torch.Tensor, settings: dict, step: int) -> None:
    if not torch.isfinite(loss):
        raise NonFiniteLoss(f"run {settings['run']}: loss is {loss.item()} at step {step}; no checkpoint written")
