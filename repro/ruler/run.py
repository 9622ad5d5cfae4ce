"""Run RULER-core (spec §5.4) on one trained byte LM and write, per task, the score, the empty
predictions, the n each prompt was fitted with, its prompt tokens, how many prompts with their answer
exceeded the budget and how many the window (D18), with what produced them.

    python -m repro.ruler.run --checkpoint results/runs/lm/transformer/faithful/seed7/model.pt \\
        --budget 128 --samples 8 --out ruler_budget128.json
"""
import argparse

from repro import device as devices
from repro.artifacts import write_json_atomically
from repro.config import parse_run
from repro.evaluate import load_checkpoint, trained_model
from repro.provenance import code_version, library_versions
from repro.ruler.budget import effective_budget, fit_units
from repro.ruler.generate import greedy
from repro.ruler.score import empty_predictions, string_match_all
from repro.ruler.tasks import TASKS, Task
from repro.ruler.tokens import decode, encode, token_count
from repro.settings import TrainSettings

SAMPLE_SEED_STRIDE = 1000  # sample i is seeded seed · 1000 + i


def run_task(model, task: Task, samples: int, seed: int, budget: int, window: int, device) -> dict:
    """One task's samples fitted to `budget`, generated and scored."""
    units, prompt_tokens, predictions, references = [], [], [], []
    for index in range(samples):
        sample_seed = seed * SAMPLE_SEED_STRIDE + index
        n = fit_units(lambda n: token_count(task.build(sample_seed, n).prompt) + task.max_new, budget, task.most_units)
        sample = task.build(sample_seed, n)
        units.append(n)
        prompt_tokens.append(token_count(sample.prompt))
        predictions.append(decode(greedy(model, encode(sample.prompt), task.max_new, window, device)))
        references.append(list(sample.references))
    return {
        "score": string_match_all(predictions, references),
        "empty_predictions": empty_predictions(predictions),
        "max_new": task.max_new,
        "units": units,
        "prompt_tokens": prompt_tokens,
        # Over the budget: not even n = 1 fits with the answer. Over the window: generation may lose the prompt's beginning.
        "prompts_over_budget": sum(tokens + task.max_new > budget for tokens in prompt_tokens),
        "prompts_over_window": sum(tokens + task.max_new > window for tokens in prompt_tokens),
        "predictions": predictions,
        "references": references,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a trained byte LM's model.pt")
    parser.add_argument("--trained-with", help="settings hash the checkpoint must have been trained with (refuses a stale one)")
    parser.add_argument("--run", type=parse_run, help="the run the results belong to (default: the checkpoint's own)")
    parser.add_argument("--budget", required=True, type=int, help="requested token budget; the model's window caps it")
    parser.add_argument("--samples", required=True, type=int, help="samples per task")
    parser.add_argument("--seed", type=int, default=17, help="global RULER seed (spec §5.4)")
    parser.add_argument("--out", required=True, help="the JSON to write")
    args = parser.parse_args(argv)
    if args.budget < 1 or args.samples < 1:
        parser.error(f"--budget {args.budget}, --samples {args.samples}: both must be at least 1")
    checkpoint = load_checkpoint(args.checkpoint, args.trained_with)
    trained = TrainSettings.from_dict(checkpoint["settings"])
    run = args.run or parse_run(trained.run)
    model, device, _ = trained_model(checkpoint, trained)
    model.eval()
    window, budget = trained.seq_len, effective_budget(args.budget, trained.seq_len)
    tasks = {name: run_task(model, task, args.samples, args.seed, budget, window, device) for name, task in TASKS.items()}
    write_json_atomically({
        "experiment": run.experiment, "variant": run.variant, "mode": run.mode, "seed": run.seed,
        "checkpoint": args.checkpoint,
        "trained_as": trained.run,
        "requested_budget": args.budget, "budget": budget, "window": window,
        "samples": args.samples, "ruler_seed": args.seed,
        "tasks": tasks,
        "provenance": {"code_version": code_version(), "library_versions": library_versions(),
                       "device": devices.describe(device)},
    }, args.out)
    for name, result in tasks.items():
        print(f"{name}: score {result['score']}, empty {result['empty_predictions']}, n {result['units']}, "
              f"prompt tokens {result['prompt_tokens']} (budget {budget})")


if __name__ == "__main__":
    main()
