"""Render one result set's RULER-core scores (this run's or a committed set's) as one LaTeX table, a block
per experiment and budget (repro.config.ruler_table_spec): per variant and mode, each task's mean score
over seeds beside its empty predictions, the largest n a prompt was fitted with and how many prompts with
their answer exceeded the budget and the window; each block's title says what its scores can say (D18).

    python -m repro.report.ruler_table --ruler results/ruler.csv --spec '{"caption": "...", "label": "tab:ruler",
        "blocks": [{"experiment": "lm", "budget": 128}], "labels": {"transformer": "Transformer"}}' \\
        --template paper/templates/ruler_table.tex.j2 --out paper/tables/ruler_local.tex
"""
import argparse
import json
from pathlib import Path

import pandas as pd

from repro.report import latex
from repro.report.runs import BASELINE_MODE
from repro.report.table import BOTH_MODES
from repro.ruler.tasks import TASKS


def verdict(over_budget: int, over_window: int, prompts: int) -> str:
    """What a block's scores can say (spec D18): only a prompt that fits the window with its answer is read
    whole at every generation step."""
    if over_window == prompts:
        return "every prompt overflows the window, so the scores are degenerate (D18)"
    if over_window:
        return f"{over_window} of {prompts} prompts overflow the window (D18)"
    if over_budget:
        return f"every prompt fits the window; {over_budget} of {prompts} overflow the budget"
    return "every prompt fits the budget"


def block(frame: pd.DataFrame, experiment: str, budget: int, labels: dict) -> dict:
    """One experiment at one requested budget: its title and a row per variant and mode."""
    frame = frame[(frame["experiment"] == experiment) & (frame["requested_budget"] == budget)]
    if frame.empty:
        raise ValueError(f"no RULER-core results of {experiment} at budget {budget}")
    tasks = sorted(set(frame["task"]), key=list(TASKS).index)  # in the spec's order
    several_modes = frame["mode"].nunique() > 1
    rows = []
    for (variant, mode), runs in frame.groupby(["variant", "mode"], sort=False):
        by_task = runs.groupby("task")
        scores, empty = by_task["score"].mean(), by_task["empty_predictions"].sum()
        single = several_modes and set(frame.loc[frame["variant"] == variant, "mode"]) == {BASELINE_MODE}
        rows.append({"label": labels.get(variant, variant), "mode": BOTH_MODES if single else mode,
                     "cells": [{"score": f"{scores[task]:.2f}", "empty": int(empty[task])} for task in tasks],
                     "largest_n": int(runs["units_max"].max()), "over_budget": int(runs["prompts_over_budget"].sum()),
                     "over_window": int(runs["prompts_over_window"].sum()), "prompts": int(runs["samples"].sum()),
                     "seeds": runs["seed"].nunique()})
    over_budget, over_window = (int(frame[f"prompts_over_{limit}"].sum()) for limit in ("budget", "window"))
    used, window, samples = (", ".join(map(str, sorted(frame[key].unique()))) for key in ("budget", "window", "samples"))
    title = (f"\\texttt{{{latex.escape(experiment)}}}, budget {used} (window {window}), {samples} samples per task: "
             f"{latex.escape(verdict(over_budget, over_window, int(frame['samples'].sum())))}")
    return {"title": latex.Latex(title), "tasks": tasks, "rows": rows}


def table_context(frame: pd.DataFrame, spec: dict) -> dict:
    """The template's context: the caption and label of `spec`, the tasks, and its blocks in order."""
    blocks = [block(frame, entry["experiment"], entry["budget"], spec["labels"]) for entry in spec["blocks"]]
    tasks = blocks[0]["tasks"]
    for entry, shown in zip(spec["blocks"], blocks):
        if shown["tasks"] != tasks:
            raise ValueError(f"RULER-core results of {entry['experiment']} at budget {entry['budget']} hold the tasks "
                             f"{shown['tasks']}, the first block's {tasks}; one table needs the same tasks in every block")
    return {"caption": latex.Latex(spec["caption"]), "label": latex.label(spec["label"]), "tasks": tasks, "blocks": blocks}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ruler", required=True, type=Path, help="results/ruler.csv, from repro.ruler.aggregate")
    parser.add_argument("--spec", required=True, help="JSON {caption, label, blocks: [{experiment, budget}], labels: {variant: label}}")
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/ruler_table.tex.j2")
    parser.add_argument("--out", required=True, type=Path, help="the .tex table to write")
    args = parser.parse_args(argv)
    latex.render(args.template, args.out, **table_context(pd.read_csv(args.ruler), json.loads(args.spec)))


if __name__ == "__main__":
    main()
