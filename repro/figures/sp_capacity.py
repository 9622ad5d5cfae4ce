"""SparsePointer capacity: recall accuracy against slot count, per evaluation pair count (Table 5's models).

Solid lines: our mean over seeds (error bars: sample std) of the models with pointer logits and write
gate on, trained on 4 pairs. Open markers: the paper's Table 5. Dashed lines: the ceiling the write
rule alone sets, the percentage of sequences whose queried binding is still in a slot when it is
needed (repro.slot_capacity); a model that loses the binding is left with a guess among the values.
The ladder (variant → slots) comes from the config, so adding a slot count there adds a point here."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402

from repro.figures.output import save  # noqa: E402
from repro.report import runs  # noqa: E402
from repro.report.reported import Reported  # noqa: E402
from repro.report.stats import summarize  # noqa: E402
from repro.slot_capacity import binding_survival, recall_inputs  # noqa: E402

PAPER_EXPERIMENT = "T5_sparsepointer_ablation"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
SIMULATED_SEQUENCES = 2000  # fewer leave ±5-point noise on the partial fractions (spec §4.7)
SIMULATED_SLOT_STEP = 2
SIMULATION_SEED = 0
SIZE_INCHES = (7, 5.2)


def metric(pairs: int) -> str:
    return f"acc_{pairs}pairs_pct"


def draw(metrics: pd.DataFrame, reported: Reported, ladder: dict, pairs: list[int],
         simulated_sequences: int = SIMULATED_SEQUENCES):
    """ladder: {variant: {"slots", "paper_name", "merge_threshold", "strength_floor"}}."""
    ordered = sorted(ladder.items(), key=lambda item: item[1]["slots"])
    slot_counts = [spec["slots"] for _, spec in ordered]
    rule = ordered[0][1]
    simulated_slots = list(range(min(slot_counts), max(slot_counts) + 1, SIMULATED_SLOT_STEP))
    figure, axes = plt.subplots(figsize=SIZE_INCHES)
    for n, colour in zip(pairs, COLOURS):
        ours = [summarize(runs.values(metrics, variant, runs.BASELINE_MODE, metric(n))) for variant, _ in ordered]
        axes.errorbar(slot_counts, [s.mean for s in ours], yerr=[s.std or 0.0 for s in ours], color=colour,
                      marker="o", capsize=3, label=f"ours, {n} pairs")
        paper = [(spec["slots"], reported.get(PAPER_EXPERIMENT, spec["paper_name"], metric(n))) for _, spec in ordered]
        paper = [(slots, value) for slots, value in paper if value is not None]
        axes.plot(*zip(*paper), linestyle="none", marker="D", markerfacecolor="none", markeredgecolor=colour,
                  markersize=7, label=f"paper, {n} pairs")
        inputs = recall_inputs(n, simulated_sequences, SIMULATION_SEED)
        ceiling = [100 * binding_survival(slots, inputs, rule["merge_threshold"], rule["strength_floor"]).stored
                   for slots in simulated_slots]
        axes.plot(simulated_slots, ceiling, color=colour, linestyle="--", linewidth=1,
                  label=f"binding kept (write rule), {n} pairs")
    axes.set_xticks(slot_counts)
    axes.set_xlabel("slots")
    axes.set_ylabel("accuracy / sequences, %")
    axes.set_ylim(0, 105)
    axes.set_title("SparsePointer capacity: trained on 4 pairs, evaluated on 4, 6 and 8")
    axes.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    figure.tight_layout()
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics/sparse_pointer_ablation.csv")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--ladder", required=True,
                        help='JSON {variant: {"slots", "paper_name", "merge_threshold", "strength_floor"}}')
    parser.add_argument("--pairs", required=True, type=int, nargs="+", help="the evaluation pair counts")
    parser.add_argument("--simulated-sequences", type=int, default=SIMULATED_SEQUENCES,
                        help="recall sequences per pair count in the write-rule simulation")
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    figure = draw(pd.read_csv(args.metrics), Reported(args.reported), json.loads(args.ladder), args.pairs,
                  args.simulated_sequences)
    save(figure, args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
