"""Write the report's variables: one \\newcommand per number its prose states, from the config's facts
(repro.report.facts), the slot-capacity simulation and the triple generator, so no template types a
number by hand (as showyourwork's \\variable does).

    python -m repro.report.variables --facts '{"TripleStageSteps": "200", ...}' \\
        --slot-capacity results/audit/slot_capacity.csv --triple-seq-len 49 --out paper/build/variables.tex
"""
import argparse
import json
import re
from pathlib import Path

import pandas as pd
import torch

from repro.report import latex
from repro.report.facts import series
from repro.tasks.triple_data import TASKS, lookup_table, triple_batch

NAME = re.compile(r"[A-Za-z]+")
LOOKUP_TASK = "lookup"


def slot_thresholds(capacity: pd.DataFrame) -> dict:
    """Per pair count, the fewest slots from which the write rule keeps every queried binding."""
    thresholds = {}
    for pairs, rows in capacity.sort_values("slots").groupby("pairs", sort=False):
        losing = rows.loc[rows["binding_kept_pct"] < 100.0, "slots"]
        fewest = rows["slots"].min() if losing.empty else losing.max() + 1
        if fewest > rows["slots"].max():
            raise ValueError(f"slot capacity, {pairs} pairs: no simulated slot count (up to {rows['slots'].max()}) "
                             "keeps every binding; simulate more slots")
        thresholds[int(pairs)] = int(fewest)
    return dict(sorted(thresholds.items()))


def faithful_lengths(seq_len: int) -> dict:
    """{task: sequence length} of the paper's generator (D4: the record-format tasks come out short)."""
    table = lookup_table(0)
    return {task: triple_batch(task, 1, seq_len, torch.Generator().manual_seed(0), table, equal_lengths=False)[0].size(1)
            for task in TASKS}


def measured_facts(capacity: pd.DataFrame, triple_seq_len: int) -> dict:
    lengths = faithful_lengths(triple_seq_len)
    others = {length for task, length in lengths.items() if task != LOOKUP_TASK}
    if len(others) != 1:
        raise ValueError(f"faithful triple lengths {lengths}: the report states one length for every task but lookup")
    return {
        "SlotThresholds": series(slot_thresholds(capacity).values(), "or"),
        "TripleFaithfulLength": str(others.pop()),
        "TripleFaithfulLookupLength": str(lengths[LOOKUP_TASK]),
    }


def source(variables: dict) -> str:
    """The LaTeX file: a \\newcommand per variable (which also refuses a name LaTeX already defines)."""
    lines = ["% The report's variables, written by repro.report.variables: do not edit."]
    for name, value in variables.items():
        if not NAME.fullmatch(name):
            raise ValueError(f"variable {name!r}: a LaTeX macro name has letters only")
        lines.append(f"\\newcommand{{\\{name}}}{{{latex.escape(value)}}}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facts", required=True, help="JSON {macro name: text}, from repro.report.facts")
    parser.add_argument("--slot-capacity", required=True, type=Path, help="results/audit/slot_capacity.csv")
    parser.add_argument("--triple-seq-len", required=True, type=int, help="the triple benchmark's seq_len")
    parser.add_argument("--out", required=True, type=Path, help="paper/build/variables.tex")
    args = parser.parse_args(argv)
    variables = {**json.loads(args.facts), **measured_facts(pd.read_csv(args.slot_capacity), args.triple_seq_len)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(source(variables))
    print(source(variables), end="")


if __name__ == "__main__":
    main()
