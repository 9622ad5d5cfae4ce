"""Wall time of N training steps per model, in one process on one device, and each model's ratio
to the first. The paper's SparsePointer took 285-290 s for 200 steps against 3-5 s for the
Transformer (spec §7.1, D6_train_time).

  python -m repro.benchmarks.train_time --variants transformer sparse_pointer --experiment recall --steps 200
"""
import argparse
import json
from dataclasses import replace

import torch

from repro.config import Run, load, train_settings
from repro.train import train


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", default=["config/config.yaml"], help="config file and overlays")
    parser.add_argument("--experiment", default="recall", help="whose recipe to train with (a synthetic task: no data files)")
    parser.add_argument("--variants", nargs="+", default=["transformer", "sparse_pointer"], help="the first is the reference of the ratios")
    parser.add_argument("--mode", default="faithful", choices=["faithful", "corrected"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    args = parser.parse_args(argv)
    config = load(*args.config)
    config["device"] = args.device
    seconds = {}
    for variant in args.variants:
        run = Run(args.experiment, variant, args.mode, config["recipes"][config["experiments"][args.experiment]["recipe"]]["seeds"][0])
        settings = replace(train_settings(config, run), steps=args.steps)
        _, record = train(settings, data={}, progress=False)
        seconds[variant] = record["train_seconds"]
        print(json.dumps({"variant": variant, "device": record["device"], "steps": args.steps, "seconds": record["train_seconds"],
                          "ratio_to_" + args.variants[0]: record["train_seconds"] / seconds[args.variants[0]],
                          "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
