"""Recall over distance (our extension): associative-recall accuracy against sequence length T.

One figure per result set (this run's, and each committed set of config report.result_sets), one
line per model and mode over the set's recall_distance experiments (one per length), colours in the
variants' order: the faithful mean over seeds solid, the corrected mean dashed for the models with
corrected runs, error bars the sample std.
The x axis is log2, so each doubling of T (and of the pairs) is one step, where a model's recall
breaks shows as a fall between two neighbouring points."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

from repro.figures.output import save  # noqa: E402
from repro.report import runs  # noqa: E402
from repro.report.stats import summarize  # noqa: E402

TITLE = "Associative Recall over Distance"
X_LABEL = "Sequence length T (log2)"
Y_LABEL = "Accuracy (%)"
METRIC = "accuracy_pct"
SIZE_INCHES = (8, 4.8)
CORRECTED_MODE = "corrected"
LINE_STYLES = {runs.BASELINE_MODE: "-", CORRECTED_MODE: "--"}


def _modes(metrics: pd.DataFrame, variant: str) -> list:
    """Faithful, and corrected where the model has corrected runs (else its faithful runs serve both)."""
    return [runs.BASELINE_MODE, *([CORRECTED_MODE] if runs.has_runs(metrics, variant, CORRECTED_MODE) else [])]


def draw(metrics: pd.DataFrame, lengths: dict, names: dict):
    """metrics: the tidy frame of the experiments in `lengths` ({experiment: T}); names: {variant:
    {"label", ...}} in line order. A model without runs at some length leaves that point out."""
    figure, axes = plt.subplots(figsize=SIZE_INCHES)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (variant, described) in enumerate(names.items()):
        present = metrics[metrics["variant"] == variant]
        for mode in _modes(present, variant):
            points = []
            for experiment, length in sorted(lengths.items(), key=lambda item: item[1]):
                found = runs.values(present[present["experiment"] == experiment], variant, mode, METRIC)
                if len(found):
                    summary = summarize(found)
                    points.append((length, summary.mean, summary.std or 0.0))
            if not points:
                continue
            x, mean, std = zip(*points)
            label = described["label"] if len(_modes(present, variant)) == 1 else f"{described['label']}, {mode}"
            axes.errorbar(x, mean, yerr=std, label=label, color=colours[i % len(colours)], linestyle=LINE_STYLES[mode],
                          marker="o", markersize=4, capsize=3)
    axes.set_xscale("log", base=2)
    axes.set_xticks(sorted(lengths.values()), [str(length) for length in sorted(lengths.values())])
    axes.minorticks_off()
    axes.set_ylim(0, 105)
    axes.set_xlabel(X_LABEL)
    axes.set_ylabel(Y_LABEL)
    axes.set_title(TITLE)
    axes.legend(fontsize=7, frameon=False, loc="center left", bbox_to_anchor=(1, 0.5))
    figure.tight_layout()
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", required=True, type=Path, nargs="+",
                        help="the result set's tidy metrics: results/metrics/<experiment>.csv of each length, or a committed set's metrics.csv")
    parser.add_argument("--lengths", required=True, help="JSON {experiment: sequence length}")
    parser.add_argument("--names", required=True, help='JSON {variant: {"label": ...}}, in line order')
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    metrics = pd.concat([pd.read_csv(path) for path in args.metrics], ignore_index=True)
    save(draw(metrics, json.loads(args.lengths), json.loads(args.names)), args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
