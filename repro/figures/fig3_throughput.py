"""Figure 3: forward throughput against sequence length, log-log, one line per model and recurrence
form (spec E7): reference (the per-token loops the paper timed) dashed, fast solid (on CUDA also
replayed as a CUDA graph, dotted), one colour per
model (by its place in --names, so a model keeps its colour and marker in every result set). A model with one
form (no recurrence) is labelled by its name alone. Open diamonds: the paper's numbers, which come
from Apple MPS: its Figure 3 Transformer as read off the plot (paper/read_off.csv, approximate) and
the Triple-Hybrid tokens/s printed in Sec. 5.5. The title names the device of the measurements."""
import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import pandas as pd  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

from repro.figures.output import save  # noqa: E402
from repro.report.reported import Reported  # noqa: E402

STYLES = {"reference": "--", "fast": "-"}
GRAPH_STYLE = ":"  # the same forward replayed as a CUDA graph (CUDA only)
# one colour and marker per model; the paper's points are open diamonds
COLOURS = (*plt.get_cmap("tab10").colors, "black", "#e6ab02", "#1b9e77")
MARKERS = "osv^<>PX*hpd8"
# (source, experiment, the paper's model name, metric at length {T}, legend)
PAPER_POINTS = (
    ("read_off", "F3_throughput_figure_approx", "transformer", "tokens_per_s_seq{}", "paper Fig. 3, transformer (read off, MPS)"),
    ("reported", "S55_throughput_generic", "triple-hybrid", "tokens_per_s_seq{}_approx", "paper Sec. 5.5, triple-hybrid (MPS)"),
)
PAPER_COLOUR = "dimgray"  # for a paper model that is not among the timed ones
SIZE_INCHES = (13, 5.6)


def label(name: str, form: str, forms: list) -> str:
    return name if len(forms) == 1 else f"{name}, {form}"


def draw(throughput: pd.DataFrame, names: dict, sources: dict):
    """throughput: the rows of results/benchmarks/throughput.csv; names: {variant: {"paper_name", ...}}
    in colour order; sources: {"reported": Reported, "read_off": Reported}."""
    variants = [*names, *(v for v in throughput["variant"].unique() if v not in names)]
    colours = {variant: COLOURS[i % len(COLOURS)] for i, variant in enumerate(variants)}
    # the marker moves on by one each time the colours come round, so no two models share both
    markers = {variant: MARKERS[(i + i // len(COLOURS)) % len(MARKERS)] for i, variant in enumerate(variants)}
    paper_names = {variant: names.get(variant, {}).get("paper_name", variant) for variant in variants}
    figure, axes = plt.subplots(figsize=SIZE_INCHES)
    for variant in variants:
        rows = throughput[throughput["variant"] == variant]
        forms = [form for form in STYLES if (rows["form"] == form).any()]
        for form in forms:
            line = rows[rows["form"] == form].sort_values("seq_len")
            axes.plot(line["seq_len"], line["tokens_per_s"], linestyle=STYLES[form], marker=markers[variant], markersize=4,
                      color=colours[variant], label=label(paper_names[variant], form, forms))
            if line["tokens_per_s_graph"].notna().any():
                axes.plot(line["seq_len"], line["tokens_per_s_graph"], linestyle=GRAPH_STYLE, marker=markers[variant],
                          markersize=3, color=colours[variant], label=f"{label(paper_names[variant], form, forms)}, CUDA graph")
    lengths = sorted(throughput["seq_len"].unique())
    by_paper_name = {name: variant for variant, name in paper_names.items()}
    for source, experiment, model, metric, legend in PAPER_POINTS:
        points = [(T, sources[source].get(experiment, model, metric.format(T))) for T in lengths]
        points = [(T, value) for T, value in points if value is not None]
        if points:
            colour = colours.get(by_paper_name.get(model), PAPER_COLOUR)
            axes.plot(*zip(*points), linestyle="none", marker="D", markerfacecolor="none", markeredgecolor=colour,
                      markersize=8, label=legend)
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(lengths, [str(T) for T in lengths])
    axes.xaxis.set_minor_locator(NullLocator())
    axes.set_xlabel("Sequence length")
    axes.set_ylabel("Tokens / second")
    batch = ", ".join(str(b) for b in sorted(throughput["batch"].unique()))
    axes.set_title(f"Throughput scaling (forward, batch {batch}) on {', '.join(sorted(throughput['device'].unique()))}")
    axes.grid(True, which="major", linewidth=0.3)
    axes.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, ncol=2)
    figure.tight_layout()
    return figure


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--throughput", required=True, type=Path, help="a result set's throughput.csv")
    parser.add_argument("--names", required=True, help='JSON {variant: {"paper_name": ...}}, in colour order')
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--read-off", required=True, type=Path, help="paper/read_off.csv")
    parser.add_argument("--out-pdf", required=True, type=Path, help="the PDF to write")
    parser.add_argument("--out-png", required=True, type=Path, help="the PNG to write")
    args = parser.parse_args(argv)
    figure = draw(pd.read_csv(args.throughput), json.loads(args.names),
                  {"reported": Reported(args.reported), "read_off": Reported(args.read_off)})
    save(figure, args.out_pdf, args.out_png)


if __name__ == "__main__":
    main()
