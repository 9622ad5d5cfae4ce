"""One generated sentence: how much of a model's published gain over a reference the causal fix
removes, from the measured gap between its faithful and corrected runs (Triple-Hybrid, D2).

The gain is reference − model on a lower-is-better metric (BPB), mean over seeds, per mode; the
reference (a model without the defect) has faithful runs only."""
import argparse
from pathlib import Path

import pandas as pd

from repro.report import latex, runs
from repro.report.reported import Reported


def _mean(metrics: pd.DataFrame, run: str, mode: str, metric: str) -> float:
    experiment, variant = run.split("/")
    found = runs.values(metrics[metrics["experiment"] == experiment], variant, mode, metric)
    if found.empty:
        raise ValueError(f"no {metric} runs of {run} in {mode} mode")
    return float(found.mean())


def sentence(metrics: pd.DataFrame, reported: Reported, label: str, model: str, reference: str, metric: str,
             paper_model: str, paper_reference: str) -> str:
    paper_gain = reported.at(paper_reference) - reported.at(paper_model)
    reference_value = _mean(metrics, reference, runs.BASELINE_MODE, metric)
    faithful = reference_value - _mean(metrics, model, "faithful", metric)
    corrected = reference_value - _mean(metrics, model, "corrected", metric)
    text = (f"{label}: the paper reports a gain of {paper_gain:.3f} BPB over the Transformer; our faithful runs "
            f"gain {faithful:.3f} and our corrected (causal) runs {corrected:.3f}, so the causal fix removes "
            f"{faithful - corrected:.3f} BPB")
    if faithful > 0 and corrected >= 0:
        text += f", {100 * (faithful - corrected) / faithful:.0f}% of the faithful gain"
    elif faithful > 0:
        text += f", all of the faithful gain and more: the causal model is {-corrected:.3f} BPB worse than the Transformer"
    return text + "."


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", required=True, type=Path, help="results/metrics.csv")
    parser.add_argument("--reported", required=True, type=Path, help="paper/reported.csv")
    parser.add_argument("--label", required=True, help="who the sentence is about, e.g. 'Triple-Hybrid, matched width'")
    parser.add_argument("--model", required=True, help="experiment/variant of the model with the defect")
    parser.add_argument("--reference", required=True, help="experiment/variant of the reference")
    parser.add_argument("--metric", default="val_bpb")
    parser.add_argument("--paper-model", required=True, help="paper/reported.csv key of the model's value")
    parser.add_argument("--paper-reference", required=True, help="paper/reported.csv key of the reference's value")
    parser.add_argument("--out", required=True, type=Path, help="the .tex sentence to write")
    args = parser.parse_args(argv)
    text = sentence(pd.read_csv(args.metrics), Reported(args.reported), args.label, args.model, args.reference,
                    args.metric, args.paper_model, args.paper_reference)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(latex.escape(text) + "\n")


if __name__ == "__main__":
    main()
