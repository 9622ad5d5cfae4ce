"""The outer-product matrix-state recurrence through flash-linear-attention's chunked gated
linear-attention kernel (`chunk_simple_gla`, Triton) on CUDA: optional, used by the fast form only
where it runs and is exact; everywhere else the plain PyTorch chunked form runs.

With a scalar retention per head and token, S_t = ρ_t S_{t-1} + (1 - ρ_t) k_t v_tᵀ and r_t = S_t q_t
is simple GLA with the library's query q, key v, value (1 - ρ) k and log-decay log ρ, scale 1; its
state, stored value-first, is our S (see models/matrix_state.py for the notation).

Where it does not run:
- RuleMix writes (diagonal and transposed terms) and the Frobenius guard: not in the kernel.
- Gradients on Hopper with Triton < 3.7.1: the library refuses its backward there (it is wrong
  with those Triton versions), so training keeps the PyTorch form; forward-only work still runs.
- Triton multiplies float32 by TF32 tensor cores unless told otherwise (~1e-3 relative error);
  TRITON_F32_DEFAULT=ieee, set before the library is imported, keeps float32 products exact
  (5e-6 relative error against a float64 reference at T = 8192 on the H100 here).
- Sequences shorter than KERNEL_MIN_LENGTH: the first call on a machine compiles and autotunes
  the Triton kernels, 120 s on the H100 here (Triton and the library keep both on disk, so the
  next process took 0.5 s), which a short sequence never pays back; the pipeline's short-sequence
  jobs keep the PyTorch form, long sequences, where the kernel pays, use it.
"""

import functools
import os

import torch

MIN_TRITON_FOR_HOPPER_BACKWARD = (3, 7, 1)
KERNEL_MIN_LENGTH = 1024


@functools.cache
def _library():
    """chunk_simple_gla and the Triton version, or None where the library cannot be imported."""
    os.environ.setdefault("TRITON_F32_DEFAULT", "ieee")
    try:
        import triton
        from fla.ops.simple_gla import chunk_simple_gla
    except ImportError:
        return None
    version = tuple(int(part) for part in triton.__version__.split("+")[0].split(".")[:3])
    return chunk_simple_gla, version


def kernel_applies(q, rho, mix, frobenius_guard) -> bool:
    if (mix is not None or frobenius_guard or q.device.type != "cuda" or q.dtype != torch.float32
            or q.size(2) < KERNEL_MIN_LENGTH):
        return False
    library = _library()
    if library is None:
        return False
    needs_backward = torch.is_grad_enabled() and (q.requires_grad or rho.requires_grad)
    hopper = torch.cuda.get_device_capability(q.device)[0] == 9
    return not (needs_backward and hopper and library[1] < MIN_TRITON_FOR_HOPPER_BACKWARD)


def matrix_state_kernel(q, k, v, rho, state0):
    """Shapes as in models/matrix_state.py, outer-product writes only."""
    chunk_simple_gla = _library()[0]
    log_rho = torch.log(rho.clamp_min(torch.finfo(rho.dtype).tiny))
    time_major = lambda x: x.transpose(1, 2).contiguous()  # (B, H, T, ...) -> (B, T, H, ...)
    r, state = chunk_simple_gla(
        time_major(q), time_major(v), time_major((1 - rho).unsqueeze(-1) * k), g=time_major(log_rho),
        scale=1.0, initial_state=state0, output_final_state=True, state_v_first=True,
    )
    return r.transpose(1, 2), state
