"""Pick the torch device: CUDA, then Apple MPS, then CPU, unless the config names one."""
import platform

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve(name: str) -> torch.device:
    if name not in DEVICES:
        raise ValueError(f"device {name!r}: valid devices are {', '.join(DEVICES)}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but torch sees no CUDA device")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("device 'mps' was requested but torch sees no MPS device")
    return torch.device(name)


def transfer(tensor: torch.Tensor, device: torch.device) -> torch.Tensor:
    """`tensor` on `device`; to CUDA through pinned memory and without waiting. A copy from pageable
    memory first waits for all queued GPU work, so the host could not prepare the next batch while
    the GPU runs this one. PyTorch's pinned-memory cache keeps the block until its copy is done."""
    if device.type != "cuda":
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple)"
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"
