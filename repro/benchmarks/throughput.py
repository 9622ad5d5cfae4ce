"""Forward-pass throughput of untrained models (spec §5.5, R-TP): eval mode, no gradients, a fixed
batch of random byte ids per sequence length, warm-up passes, then timed passes between device
synchronisations. The position table is as long as the longest tested length (P = 512 in the
paper). One JSON line per (variant, length), with the ratio of its tokens/s to the first variant's.
The paper times the per-token loops (`--recurrence reference`); the fast forms are reported apart.

  python -m repro.benchmarks.throughput --variants transformer triple_hybrid --recurrence reference
"""
import argparse
import json
import time

import torch

from models import build_model, count_params
from repro.config import load
from repro.data.wikitext import PAD_ID, VOCAB_SIZE
from repro.device import describe, resolve


def time_forward(model: torch.nn.Module, x: torch.Tensor, warmup: int, repeats: int) -> tuple[float, dict]:
    """Seconds for `repeats` forward passes of x after `warmup` untimed ones, and on CUDA the memory
    in MB: the larger of the allocated memory before and after (spec §5.5) and the true peak."""
    cuda = x.device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(x.device)
        before = torch.cuda.memory_allocated(x.device)
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        if cuda:
            torch.cuda.synchronize(x.device)
        start = time.perf_counter()
        for _ in range(repeats):
            model(x)
        if cuda:
            torch.cuda.synchronize(x.device)
        seconds = time.perf_counter() - start
    if not cuda:
        return seconds, {}
    return seconds, {"memory_mb": max(before, torch.cuda.memory_allocated(x.device)) / 2**20,
                     "peak_memory_mb": torch.cuda.max_memory_allocated(x.device) / 2**20}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", nargs="+", default=["config/config.yaml"], help="config file and overlays")
    parser.add_argument("--variants", nargs="+", default=["transformer"], help="the first is the reference of the ratios")
    parser.add_argument("--lengths", nargs="+", type=int, default=[64, 128, 256, 512])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=11, help="global seed before each model is built")
    parser.add_argument("--mode", default="faithful", choices=["faithful", "corrected"])
    parser.add_argument("--recurrence", default="reference", choices=["fast", "reference"],
                        help="reference = the per-token loops the paper timed")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: the config's torch_threads)")
    args = parser.parse_args(argv)
    config = load(*args.config)
    unknown = [name for name in args.variants if name not in config["variants"]]
    if unknown:
        parser.error(f"unknown variants {', '.join(unknown)}; valid: {', '.join(config['variants'])}")
    torch.set_num_threads(args.threads or config["torch_threads"])
    device = resolve(args.device)
    inputs = {T: torch.randint(0, VOCAB_SIZE, (args.batch, T), generator=torch.Generator().manual_seed(args.seed))
              for T in args.lengths}
    first = {}  # tokens/s of the first variant per length
    for variant in args.variants:
        torch.manual_seed(args.seed)
        model = build_model(config["variants"][variant], vocab_size=VOCAB_SIZE, max_seq_len=max(args.lengths),
                            pad_id=PAD_ID, mode=args.mode, dropout=0.1, recurrence=args.recurrence)
        model = model.to(device).eval()
        for T, x in inputs.items():
            seconds, memory = time_forward(model, x.to(device), args.warmup, args.repeats)
            tokens_per_s = args.batch * T * args.repeats / seconds
            first.setdefault(T, tokens_per_s)
            print(json.dumps({
                "variant": variant, "seq_len": T, "tokens_per_s": tokens_per_s,
                "ms_per_iter": 1000 * seconds / args.repeats,
                f"ratio_to_{args.variants[0]}": tokens_per_s / first[T],
                "params": count_params(model), "batch": args.batch, "mode": args.mode,
                "recurrence": args.recurrence, "device": describe(device),
                **memory, "torch": torch.__version__,
            }), flush=True)


if __name__ == "__main__":
    main()
