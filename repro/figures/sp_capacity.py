"""SparsePointer capacity: recall accuracy against slot count, per evaluation pair count (Table 5's models).

Solid lines: our mean over seeds (error bars: sample std) of the models with pointer logits and write
gate on. Open markers: the paper's Table 5. Dashed lines: the ceiling the write rule alone sets, the
percentage of sequences whose queried binding is still in a slot when it is needed, as
repro.slot_capacity measured it; a model that loses the binding is left with a guess among the values.
The ladder (variant → slots), the pair counts and the colours come from the config, so adding a slot
count there adds a point here. This script only draws."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

from repro.figures.output import save  # noqa: E402
from repro.report import runs  # noqa: E402
from repro.report.facts import series  # noqa: E402
from repro.report.reported import Reported  # noqa: E402
from repro.report.stats import summarize  # noqa: E402

SIZE_INCHES = (7, 5.2)


def metric(pairs: int) -> str:
    return f"acc_{pairs}pairs_pct"


def pair_colours(pairs: list[int], colours: list[str]) -> list[str]:
    if len(colours) < len(pairs):
        raise ValueError(f"report.figures.sp_capacity.colours: {len(colours)} colours for {len(pairs)} pair counts "
                         f"({series(pairs)}); give one per pair count")
    return colours[:len(pairs)]


def draw(metrics: pd.DataFrame, reported: Reported, capacity: pd.DataFrame, ladder: dict, train_pairs: int,
         pairs: list[int], colours: list[str], paper_experiment: str):
    """capacity: the rows of results/audit/slot_capacity.csv; ladder: {variant: {"slots", "paper_name", ...}}."""
    ordered = sorted(ladder.items(), key=lambda item: item[1]["slots"])
    slot_counts = [spec["slots"] for _, spec in ordered]
    figure, axes = plt.subplots(figsize=SIZE_INCHES)
    for n, colour in zip(pairs, pair_colours(pairs, colours)):
        ours = [summarize(runs.values(metrics, variant, runs.BASELINE_MODE, metric(n))) for variant, _ in ordered]
        axes.errorbar(slot_counts, [s.mean for s in ours], yerr=[s.std or 0.0 for s in ours], color=colour,
                      marker="o", capsize=3, label=f"ours, {n} pairs")
        paper = [(spec["slots"], reported.get(paper_experiment, spec["paper_name"], metric(n))) for _, spec in ordered]
        paper = [(slots, value) for slots, value in paper if value is not None]
        axes.plot(*zip(*paper), linestyle="none", marker="D", markerfacecolor="none", markeredgecolor=colour,
                  markersize=7, label=f"paper, {n} pairs")
        ceiling = capacity[capacity["pairs"] == n].sort_values("slots")
        if ceiling.empty:
            raise ValueError(f"slot capacity: no simulated rows for {n} pairs (it has {series(sorted(set(capacity['pairs'])))})")
        axes.plot(ceiling["slots"], ceiling["binding_kept_pct"], color=colour, linestyle="--", linewidth=1,
                  label=f"binding kept (write rule), {n} pairs")
    axes.set_xticks(slot_counts)
    axes.set_xlabel("slots")
    axes.set_ylabel("accuracy / sequences, %")
    axes.set_ylim(0, 105)
    axes.set_title(f"SparsePointer capacity: trained on {train_pairs} pairs, evaluated on {series(pairs)}")
    axes.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    figure.tight_layout()
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics/sparse_pointer_ablation.csv")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--slot-capacity", required=True, type=Path, help="results/audit/slot_capacity.csv")
    parser.add_argument("--ladder", required=True, help='JSON {variant: {"slots", "paper_name", ...}}')
    parser.add_argument("--train-pairs", required=True, type=int, help="the pair count the models were trained on")
    parser.add_argument("--pairs", required=True, type=int, nargs="+", help="the evaluation pair counts")
    parser.add_argument("--colours", required=True, help="JSON [colour per evaluation pair count]")
    parser.add_argument("--paper-experiment", required=True, help="the paper's Table 5 in paper/reported.csv")
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    figure = draw(pd.read_csv(args.metrics), Reported(args.reported), pd.read_csv(args.slot_capacity),
                  json.loads(args.ladder), args.train_pairs, args.pairs, json.loads(args.colours), args.paper_experiment)
    save(figure, args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
