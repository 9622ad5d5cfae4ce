"""What the recurrences' Triton kernels buy a training step on CUDA: each variant's step
(repro/benchmarks/train_step.py, the pipeline's settings) in its fast form with the kernels and
with the PyTorch chunked forms in their place, eager and replayed as a CUDA graph. Prints one row
per variant and writes them as CSV.

    python -m repro.benchmarks.triton_gain --out triton_gain.csv triple_latent mamba2
"""
import argparse

import pandas as pd

from repro.benchmarks import train_step
from repro.config import benchmark_settings, load

DEFAULT_CONFIG = "config/config.yaml"


def gain(settings: dict) -> dict:
    """One variant's step times (ms) with and without the kernels, and their ratios."""
    times = {}
    for kernels in (True, False):
        device, (row,) = train_step.measure(settings, triton=kernels)
        times[kernels] = row
    with_kernels, chunked = times[True], times[False]
    return {"variant": settings["variant"], "device": with_kernels["device"],
            "ms_triton": with_kernels["ms_per_step"], "ms_chunk": chunked["ms_per_step"],
            "speedup": chunked["ms_per_step"] / with_kernels["ms_per_step"],
            "ms_triton_graph": with_kernels["ms_per_step_graph"], "ms_chunk_graph": chunked["ms_per_step_graph"],
            "speedup_graph": chunked["ms_per_step_graph"] / with_kernels["ms_per_step_graph"],
            "peak_mb_triton": with_kernels["peak_memory_mb"], "peak_mb_chunk": chunked["peak_memory_mb"]}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variants", nargs="+", help="timed variants (config benchmark.variants)")
    parser.add_argument("--config", nargs="+", default=[DEFAULT_CONFIG], help="a config and its overlays")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--out", required=True, help="the CSV to write")
    args = parser.parse_args(argv)
    config = load(*args.config)
    config["device"] = args.device
    try:
        settings = [benchmark_settings(config, "train_step", variant, "fast") for variant in args.variants]
    except ValueError as error:
        parser.error(str(error))
    table = pd.DataFrame([gain(s) for s in settings])
    print(table.to_string(index=False, float_format="{:.2f}".format))
    table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
