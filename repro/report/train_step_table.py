"""Render one result set's training-step times (train_step.csv of repro.benchmarks.aggregate) as a
LaTeX table: per model and recurrence form, ms per step, the ratio to the baseline (the Transformer)
and, on a fast row, the speed-up over the reference form. The caption names the device."""
import argparse
import json
import math
from pathlib import Path

import pandas as pd

from repro.report import latex


def _number(value: float, fmt: str) -> str | None:
    return None if math.isnan(value) else fmt.format(value)


def rows(train_step: pd.DataFrame, names: dict) -> list[dict]:
    """One row per model and form, in the order of `names` (others after), reference before fast."""
    order = {variant: i for i, variant in enumerate(names)}
    ordered = train_step.assign(_model=train_step["variant"].map(order).fillna(len(order)),
                                _form=train_step["form"].map({"reference": 0, "fast": 1}))
    return [{"label": names.get(row.variant, {}).get("label", row.variant), "form": row.form,
             "params": f"{row.params:,.0f}", "ms": f"{row.ms_per_step:.1f}",
             "ratio": f"{row.time_ratio_to_baseline:.2f}", "speedup": _number(row.fast_speedup, "{:.2f}"),
             "graph_ms": _number(row.ms_per_step_graph, "{:.1f}"), "graph_ratio": _number(row.graph_ratio_to_baseline, "{:.2f}")}
            for row in ordered.sort_values(["_model", "variant", "_form"], kind="stable").itertuples()]


def caption(train_step: pd.DataFrame, result_set: str, baseline: str) -> latex.Latex:
    def listed(column: str) -> str:
        return latex.escape(", ".join(sorted(str(value) for value in train_step[column].unique())))

    return latex.Latex(
        f"One training step of each untrained model (forward in train mode, cross-entropy on random targets, "
        f"backward, clipping, AdamW), batch {listed('batch')}, $T = {listed('seq_len')}$, mean of "
        f"{listed('repeats')} timed steps after {listed('warmup')} warm-up steps, on \\texttt{{{listed('device')}}} "
        f"(torch {listed('torch')}; result set \\texttt{{{latex.escape(result_set)}}}). "
        f"$\\times$ {latex.escape(baseline)}: ms per step over the {latex.escape(baseline)}'s. Fast speed-up: the "
        f"reference form's ms per step over the fast form's. Models without a recurrence have one form, listed as fast."
        + (" CUDA graph: the whole step captured once and replayed (no Python launch cost), and its ratio to the "
           f"{latex.escape(baseline)}'s replayed step." if train_step["ms_per_step_graph"].notna().any() else ""))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train-step", required=True, type=Path, help="a result set's train_step.csv")
    parser.add_argument("--names", required=True, help='JSON {variant: {"label": ...}}, in row order')
    parser.add_argument("--result-set", required=True, help="its name, e.g. local")
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/train_step_table.tex.j2")
    parser.add_argument("--out", required=True, type=Path, help="the .tex table to write")
    args = parser.parse_args(argv)
    frame, names = pd.read_csv(args.train_step), json.loads(args.names)
    baselines = frame["baseline"].unique()
    if len(baselines) != 1:
        raise SystemExit(f"{args.train_step}: expected one baseline, found {', '.join(map(str, baselines))}")
    baseline = names.get(baselines[0], {}).get("label", baselines[0])
    latex.render(args.template, args.out, caption=caption(frame, args.result_set, baseline),
                 label=latex.label(f"tab:train_step_{args.result_set}"), baseline=baseline, rows=rows(frame, names),
                 graph=bool(frame["ms_per_step_graph"].notna().any()))


if __name__ == "__main__":
    main()
