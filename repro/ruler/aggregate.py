"""Collect the RULER-core results of every run into one tidy table (results/ruler.csv): a row per
experiment, variant, mode, seed, budget and task.

    python -m repro.ruler.aggregate --out results/ruler.csv results/runs/*/*/*/*/ruler_budget*.json
"""
from repro.artifacts import collect_json

COLUMNS = ("experiment", "variant", "mode", "seed", "requested_budget", "budget", "window", "samples", "ruler_seed")


def rows(result: dict) -> list[dict]:
    return [{**{key: result[key] for key in COLUMNS}, "task": task,
             "score": outcome["score"], "empty_predictions": outcome["empty_predictions"],
             "units_max": max(outcome["units"]), "prompt_tokens_min": min(outcome["prompt_tokens"]),
             "prompts_over_budget": outcome["prompts_over_budget"], "prompts_over_window": outcome["prompts_over_window"]}
            for task, outcome in result["tasks"].items()]


def main(argv=None) -> None:
    collect_json(argv, __doc__, "repro.ruler.run", rows)


if __name__ == "__main__":
    main()
