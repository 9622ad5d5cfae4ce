"""Render RULER-core at one budget as a LaTeX table: per variant and mode, the mean score of each task
over seeds, the empty predictions, the largest n a prompt was fitted with and how many prompts alone
exceeded the budget, with a sentence, from these counts, on what the scores can say (D18).

    python -m repro.report.ruler_table --ruler results/ruler.csv --budget 128 --labels '{"transformer": "Transformer"}' \\
        --template paper/templates/ruler_table.tex.j2 --out paper/tables/ruler_budget128.tex
"""
import argparse
import json
from pathlib import Path

import pandas as pd

from repro.report import latex
from repro.report.runs import BASELINE_MODE
from repro.report.table import BOTH_MODES
from repro.ruler.tasks import TASKS


def verdict(over: int, prompts: int, largest_n: int) -> str:
    """What the scores can say, given how many prompts alone exceeded the budget (spec D18)."""
    if over == prompts:
        return (f"Every prompt alone is longer than the budget (D18): each fell back to n = {largest_n} and "
                "generation reads only its last tokens, without the question, so these scores are degenerate "
                "and carry no information.")
    if over:
        return f"{over} of {prompts} prompts alone are longer than the budget (D18): their scores carry no information."
    return "Every prompt fits the budget with its answer."


def table_context(frame: pd.DataFrame, requested_budget: int, labels: dict) -> dict:
    frame = frame[frame["requested_budget"] == requested_budget]
    if frame.empty:
        raise ValueError(f"no RULER-core results at budget {requested_budget}")
    tasks = sorted(set(frame["task"]), key=list(TASKS).index)  # in the spec's order
    several_modes = frame["mode"].nunique() > 1
    rows = []
    for (variant, mode), runs in frame.groupby(["variant", "mode"], sort=False):
        scores = runs.groupby("task")["score"].mean()
        single = several_modes and set(frame.loc[frame["variant"] == variant, "mode"]) == {BASELINE_MODE}
        rows.append({"label": labels.get(variant, variant), "mode": BOTH_MODES if single else mode,
                     "scores": [f"{scores[task]:.2f}" for task in tasks],
                     "empty": int(runs["empty_predictions"].sum()), "predictions": int(runs["samples"].sum()),
                     "largest_n": int(runs["units_max"].max()),
                     "over_budget": int(runs["prompts_over_budget"].sum()), "seeds": runs["seed"].nunique()})
    over, prompts = int(frame["prompts_over_budget"].sum()), int(frame["samples"].sum())
    budgets = sorted(frame["budget"].unique())
    caption = (f"RULER-core (spec \\S5.4) at a budget of {requested_budget} bytes (used: {', '.join(map(str, budgets))}), "
               f"{frame['samples'].iloc[0]} samples per task: string-match-all score (\\%), mean over seeds. "
               + latex.escape(verdict(over, prompts, int(frame["units_max"].max()))))
    return {"caption": latex.Latex(caption), "label": latex.label(f"tab:ruler_budget{requested_budget}"),
            "tasks": tasks, "rows": rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ruler", required=True, type=Path, help="results/ruler.csv, from repro.ruler.aggregate")
    parser.add_argument("--budget", required=True, type=int, help="the requested budget the table shows")
    parser.add_argument("--labels", required=True, help="JSON {variant: label}")
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/ruler_table.tex.j2")
    parser.add_argument("--out", required=True, type=Path, help="the .tex table to write")
    args = parser.parse_args(argv)
    context = table_context(pd.read_csv(args.ruler), args.budget, json.loads(args.labels))
    latex.render(args.template, args.out, **context)


if __name__ == "__main__":
    main()
