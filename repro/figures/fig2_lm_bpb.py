"""Figure 2: validation BPB of the byte-level WikiText-2 LM pilot, in the paper's style (spec E1).

One bar group per variant of the experiment, in the config's order, named by its paper name and
coloured as the config says (report.figures.fig2_lm_bpb). Solid bars: our faithful mean over seeds
(error bar: sample std), annotated to 3 decimals; hatched bars beside them: our corrected mean, for
the models that have corrected runs; diamonds: the paper."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from repro.figures.output import save  # noqa: E402
from repro.report import runs  # noqa: E402
from repro.report.reported import Reported  # noqa: E402
from repro.report.stats import summarize  # noqa: E402

TITLE = "Byte-Level LM Pilot on WikiText-2"
Y_LABEL = "Validation bits-per-byte"
SIZE_INCHES = (8, 4.8)
CORRECTED_MODE = "corrected"
BAR_WIDTH = 0.38
HATCH = "///"
HEADROOM = 1.2  # y-axis top = tallest bar × this, leaving room for the labels and the legend


def _bar(axes, x: float, values: pd.Series, colour: str, hatch: str | None) -> float:
    """Draw one bar of a mean with its std error bar and value label; return the bar's top."""
    summary = summarize(values)
    axes.bar(x, summary.mean, BAR_WIDTH, color=colour, linewidth=0, hatch=hatch, hatchcolor="white",
             yerr=summary.std, capsize=4, error_kw={"ecolor": "black", "elinewidth": 1})
    top = summary.mean + (summary.std or 0.0)
    axes.annotate(f"{summary.mean:.3f}", (x, top), xytext=(0, 3), textcoords="offset points",
                  ha="center", va="bottom", fontsize=8)
    return top


def bar_colours(names: dict, colours: dict) -> list:
    missing = [variant for variant in names if variant not in colours]
    if missing:
        raise ValueError(f"report.figures.fig2_lm_bpb.colours: no colour for {', '.join(missing)}; "
                         f"it names {', '.join(colours) or 'none'}")
    return [colours[variant] for variant in names]


def draw(metrics: pd.DataFrame, reported: Reported, names: dict, colours: dict, paper_experiment: str, metric: str):
    """names: {variant: {"paper_name", ...}} in bar order; colours: {variant: colour}."""
    figure, axes = plt.subplots(figsize=SIZE_INCHES)
    tops = []
    for i, (variant, colour) in enumerate(zip(names, bar_colours(names, colours))):
        corrected = runs.has_runs(metrics, variant, CORRECTED_MODE)
        faithful_x = i - BAR_WIDTH / 2 if corrected else i
        tops.append(_bar(axes, faithful_x, runs.values(metrics, variant, runs.BASELINE_MODE, metric), colour, None))
        if corrected:
            tops.append(_bar(axes, i + BAR_WIDTH / 2, runs.values(metrics, variant, CORRECTED_MODE, metric), colour, HATCH))
        paper = reported.get(paper_experiment, names[variant]["paper_name"], metric)
        if paper is not None:
            axes.plot(faithful_x, paper, marker="D", color="black", markersize=6, linestyle="none", zorder=3)
    axes.set_xticks(range(len(names)), [name["paper_name"] for name in names.values()])
    axes.set_ylabel(Y_LABEL)
    axes.set_title(TITLE)
    axes.set_ylim(0, max(tops) * HEADROOM)
    axes.legend(handles=[
        Patch(facecolor="#999999", label="ours, faithful (mean ± std)"),
        Patch(facecolor="#999999", linewidth=0, hatch=HATCH, hatchcolor="white", label="ours, corrected (mean ± std)"),
        Line2D([], [], marker="D", color="black", linestyle="none", label="paper (Table 1)"),
    ], loc="upper center", ncol=3, fontsize=8, frameon=False)
    figure.tight_layout()
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics/lm.csv")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--names", required=True, help='JSON {variant: {"paper_name": ...}}, in bar order')
    parser.add_argument("--colours", required=True, help="JSON {variant: colour}")
    parser.add_argument("--paper-experiment", required=True, help="the paper's experiment in paper/reported.csv")
    parser.add_argument("--metric", required=True, help="the metric drawn, ours and the paper's")
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    figure = draw(pd.read_csv(args.metrics), Reported(args.reported), json.loads(args.names), json.loads(args.colours),
                  args.paper_experiment, args.metric)
    save(figure, args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
