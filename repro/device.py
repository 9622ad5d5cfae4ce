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


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "mps (Apple)"
    return f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)"
