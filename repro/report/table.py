"""Render one comparison table (LaTeX, booktabs): the paper's value beside ours (mean ± std over seeds, n).

The table spec is JSON: {"caption", "label", "columns": [{"metric", "label", "format", "paper_metric"?}],
"groups": [{"title", "experiment", "metric_experiments"?, "paper_experiment", "rows": [{"variant", "mode",
"label", "paper_name"}]}]}. A group is a block of rows from one experiment (metrics named in
`metric_experiments` from another) beside one experiment of the paper; its `title` (or null) heads
the block. A column's `paper_metric` names the paper's metric when it differs from ours. `caption`, column `label`s and group `title`s are LaTeX; every other
string is escaped. A row's `mode` is `faithful`,
`corrected` or `both` (a variant without a defect: its faithful runs stand for both modes).
`format` is a Python format string such as "{:.3f}". Beside the LaTeX, the same rows as CSV (for
Snakemake's HTML report, which cannot show LaTeX): one line per row, each column's cells under its metric."""
import argparse
import json
from pathlib import Path

import pandas as pd

from repro.report import latex, runs
from repro.report.reported import Reported
from repro.report.stats import summarize

BOTH_MODES = "both"


def _cell(metrics: pd.DataFrame, reported: Reported, paper_experiment: str, row: dict, column: dict) -> dict:
    form = column["format"].format
    paper = reported.get(paper_experiment, row["paper_name"], column.get("paper_metric", column["metric"]))
    mode = runs.BASELINE_MODE if row["mode"] == BOTH_MODES else row["mode"]
    ours = runs.values(metrics, row["variant"], mode, column["metric"])
    cell = {"paper": None if paper is None else form(paper), "mean": None, "std": None, "n": len(ours)}
    if len(ours):
        summary = summarize(ours)
        cell["mean"] = form(summary.mean)
        if summary.std:  # a single run, or identical values, has no spread to show
            cell["std"] = form(summary.std)
    return cell


def _group(group: dict, columns: list, metrics: pd.DataFrame, reported: Reported) -> dict:
    def runs_of(column):  # a metric's runs come from the group's experiment unless it names another
        experiment = group.get("metric_experiments", {}).get(column["metric"], group["experiment"])
        return metrics[metrics["experiment"] == experiment]
    rows = []
    for row in group["rows"]:
        cells = [_cell(runs_of(column), reported, group["paper_experiment"], row, column) for column in columns]
        rows.append({"label": row["label"], "mode": row["mode"], "cells": cells, "n": max(c["n"] for c in cells)})
    return {"title": None if group["title"] is None else latex.Latex(group["title"]), "rows": rows}


def table_context(spec: dict, metrics: pd.DataFrame, reported: Reported) -> dict:
    return {
        "caption": latex.Latex(spec["caption"]),
        "label": latex.label(spec["label"]),
        "columns": [{"label": latex.Latex(column["label"])} for column in spec["columns"]],
        "groups": [_group(group, spec["columns"], metrics, reported) for group in spec["groups"]],
    }


def table_frame(spec: dict, context: dict) -> pd.DataFrame:
    """The rows the LaTeX table shows, with their group's experiments, formatted as the table formats them."""
    lines = []
    for group_spec, group in zip(spec["groups"], context["groups"]):
        for row in group["rows"]:
            line = {"experiment": group_spec["experiment"], "paper_experiment": group_spec["paper_experiment"],
                    "model": row["label"], "mode": row["mode"]}
            for column, cell in zip(spec["columns"], row["cells"]):
                line.update({f"{column['metric']} {part}": cell[part] for part in ("paper", "mean", "std", "n")})
            lines.append(line)
    return pd.DataFrame(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", required=True, help="the table spec as a JSON string")
    parser.add_argument("--metrics", required=True, type=Path, nargs="+",
                        help="the tidy metrics CSVs of the table's experiments")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/comparison_table.tex.j2")
    parser.add_argument("--out", required=True, type=Path, help="the .tex table to write")
    parser.add_argument("--out-csv", required=True, type=Path, help="the same rows as CSV")
    args = parser.parse_args(argv)
    metrics = pd.concat([pd.read_csv(path) for path in args.metrics], ignore_index=True)
    spec = json.loads(args.spec)
    context = table_context(spec, metrics, Reported(args.reported))
    latex.render(args.template, args.out, **context)
    args.out_csv.parent.mkdir(parents=True, exist_ok=True)
    table_frame(spec, context).to_csv(args.out_csv, index=False)


if __name__ == "__main__":
    main()
