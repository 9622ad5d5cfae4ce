"""Depth diagnostics of the shared-depth LMs (results/depth_diagnostics.csv, repro/depth/): one panel
per measure (relative update, cosine to the step before, effective rank, and where ACT models were
measured the share of positions halting at each step) against the depth step, one line per model
and mode, mean over seeds with the sample std as error bars. Colours follow the variants' order;
corrected runs dashed."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

from repro.depth.measure import HALTING, METRICS  # noqa: E402
from repro.figures.output import save  # noqa: E402

TITLES = {"relative_update": r"Relative update $\|h_l - h_{l-1}\| \,/\, \|h_{l-1}\|$",
          "cosine": r"Cosine similarity of $h_l$ and $h_{l-1}$", "effective_rank": r"Effective rank of $h_l$",
          HALTING: r"Positions halting at step $l$ (%, ACT)"}
X_LABEL = "Depth step $l$"
LINE_STYLES = {"faithful": "-", "corrected": "--"}
PANEL_INCHES = (4, 3.8)


def draw(diagnostics: pd.DataFrame, names: dict):
    """diagnostics: the tidy frame of repro.depth.aggregate; names: {variant: {"label", ...}} in line order."""
    shown = [metric for metric in (*METRICS, HALTING) if (diagnostics["metric"] == metric).any()]
    figure, panels = plt.subplots(1, len(shown), figsize=(PANEL_INCHES[0] * len(shown), PANEL_INCHES[1]), squeeze=False)
    panels = panels[0]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axes, metric in zip(panels, shown):
        rows = diagnostics[diagnostics["metric"] == metric]
        for i, (variant, described) in enumerate(names.items()):
            modes = sorted(rows.loc[rows["variant"] == variant, "mode"].unique(), key=list(LINE_STYLES).index)
            for mode in modes:
                steps = rows[(rows["variant"] == variant) & (rows["mode"] == mode)].groupby("step")["value"]
                mean, std = steps.mean(), steps.std(ddof=1).fillna(0.0)
                label = described["label"] if len(modes) == 1 else f"{described['label']}, {mode}"
                axes.errorbar(mean.index, mean, yerr=std, label=label, color=colours[i % len(colours)],
                              linestyle=LINE_STYLES[mode], marker="o", markersize=4, capsize=3)
        axes.set_title(TITLES[metric], fontsize=9)
        axes.set_xlabel(X_LABEL)
        axes.xaxis.get_major_locator().set_params(integer=True)
    # Every model has a line in the first panel; the halting panel holds the ACT models only.
    panels[-1].legend(*panels[0].get_legend_handles_labels(), fontsize=7, frameon=False, loc="center left",
                      bbox_to_anchor=(1, 0.5))
    figure.tight_layout()
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--diagnostics", required=True, type=Path, help="results/depth_diagnostics.csv")
    parser.add_argument("--names", required=True, help='JSON {variant: {"label": ...}}, in line order')
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    save(draw(pd.read_csv(args.diagnostics), json.loads(args.names)), args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
