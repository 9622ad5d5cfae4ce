"""One optimisation step of training (spec §1.2): forward and loss, backward, global-norm clipping
of each parameter group, AdamW. Eager, or on CUDA captured once as a CUDA graph and replayed.

The paper's models are small, so on a GPU an eager step is mostly Python launching kernels
(benchmarks/measured/h100/train_step.csv: several times the replayed step). A replay runs the
kernels the capture recorded,
on the new batch copied into the graph's input buffers, so it computes the step the eager code
computes. Its numbers are not bit-identical to eager CUDA training (AdamW keeps its step count on
the device, dropout draws from the graph's offsets of the same Philox stream), but they are as
deterministic: same config, seed and device, same numbers. The first WARMUP_STEPS steps run
eagerly, as capture needs (they create AdamW's state and the library handles); they are real
training steps. A batch of a new shape gets a graph of its own.
"""
import torch

WARMUP_STEPS = 3


class OptimisationStep:
    """step(*batch) -> (loss, *outputs) of `loss_fn(*batch)`, after the update. With a graph the
    returned tensors are the graph's buffers, overwritten by the next step: read them before."""

    def __init__(self, loss_fn, clip_groups, *, lr: float, weight_decay: float, clip_norm: float, graph: bool):
        self.loss_fn = loss_fn
        self.clip_groups = [list(group) for group in clip_groups]
        self.clip_norm = clip_norm
        self.optimiser = torch.optim.AdamW([p for group in self.clip_groups for p in group], lr=lr,
                                           weight_decay=weight_decay, capturable=graph)
        self.graph = graph
        self.graphs = {}  # input shapes -> (CUDA graph, its input buffers, its outputs)
        self.eager_steps = 0

    def __call__(self, *batch):
        if not self.graph:
            self.optimiser.zero_grad(set_to_none=True)
            return self._update(*batch)
        if self.eager_steps < WARMUP_STEPS:
            self.eager_steps += 1
            return self._on_side_stream(*batch)
        shapes = tuple(tensor.shape for tensor in batch)
        if shapes not in self.graphs:
            self.graphs[shapes] = self._capture(batch)
        graph, inputs, outputs = self.graphs[shapes]
        for buffer, tensor in zip(inputs, batch):
            buffer.copy_(tensor, non_blocking=True)
        graph.replay()
        return outputs

    def _update(self, *batch):  # everything after zero_grad
        loss, *outputs = self.loss_fn(*batch)
        loss.backward()
        for group in self.clip_groups:
            torch.nn.utils.clip_grad_norm_(group, self.clip_norm)
        self.optimiser.step()
        return (loss, *outputs)

    def _on_side_stream(self, *batch):  # an eager step where capture wants its warm-up (PyTorch's docs)
        side, current = torch.cuda.Stream(), torch.cuda.current_stream()
        side.wait_stream(current)
        with torch.cuda.stream(side):
            self.optimiser.zero_grad(set_to_none=True)
            result = self._update(*batch)
        current.wait_stream(side)
        return result

    def _capture(self, batch):
        inputs = [tensor.clone() for tensor in batch]
        # The captured backward then allocates the gradients, and each replay overwrites them.
        self.optimiser.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs = self._update(*inputs)
        return graph, inputs, outputs
