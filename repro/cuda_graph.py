"""Forward passes captured as CUDA graphs: replaying one runs the same kernels on the same
buffers, so its outputs are those of the eager pass, without Python's per-operation launch cost
(which dominates small models at short lengths). Used by
the throughput study and by evaluation; training steps: repro/optimisation_step.py."""
from collections.abc import Callable

import torch


def capture_forward(model: torch.nn.Module, x: torch.Tensor, warmup: int = 3) -> Callable[[], object]:
    """A no-argument callable that replays model(x), no gradients, and returns the output buffers.
    Raises RuntimeError where the forward cannot be captured (e.g. it synchronises with the host)."""
    side = torch.cuda.Stream(x.device)
    side.wait_stream(torch.cuda.current_stream(x.device))
    with torch.no_grad(), torch.cuda.stream(side):  # kernels compiled and workspaces allocated before capture
        for _ in range(warmup):
            model(x)
    torch.cuda.current_stream(x.device).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.no_grad(), torch.cuda.graph(graph):
        out = model(x)

    def replay():
        graph.replay()
        return out

    return replay


def replayed_forward(model: torch.nn.Module, enabled: bool) -> Callable[[torch.Tensor], object]:
    """model's forward, no gradients, as a function of its input. Enabled and on CUDA, the forward
    of each input shape is captured once and replayed on the input copied into the graph's buffer;
    the outputs are then the graph's buffers, overwritten by the next call: read them before."""
    if not enabled:
        return model
    graphs = {}  # input shape -> (replay, input buffer)

    def forward(x: torch.Tensor):
        if x.device.type != "cuda":
            return model(x)
        if x.shape not in graphs:
            buffer = x.clone()
            graphs[x.shape] = capture_forward(model, buffer), buffer
        replay, buffer = graphs[x.shape]
        buffer.copy_(x)
        return replay()

    return forward
