"""Render a CSV of measured quantities (columns quantity, value, description) as a LaTeX table,
e.g. the audit of the triple benchmark (repro/triple_audit.py)."""
import argparse
from pathlib import Path

import pandas as pd

from repro.report import latex


def _breakable(name: str) -> latex.Latex:
    """A snake_case name that may break after its underscores in a narrow column."""
    return latex.Latex(latex.escape(name).replace(r"\_", r"\_\allowbreak{}"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quantities", required=True, type=Path, help="CSV with columns quantity, value, description")
    parser.add_argument("--caption", required=True, help="the table's caption (LaTeX)")
    parser.add_argument("--label", required=True, help="the LaTeX label, e.g. tab:triple_audit")
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/quantities_table.tex.j2")
    parser.add_argument("--out", required=True, type=Path, help="the .tex table to write")
    args = parser.parse_args(argv)
    frame = pd.read_csv(args.quantities)
    missing = {"quantity", "value", "description"} - set(frame.columns)
    if missing:
        raise SystemExit(f"{args.quantities}: missing column(s) {', '.join(sorted(missing))}")
    rows = [{"quantity": _breakable(row.quantity), "value": f"{row.value:.4g}", "description": row.description}
            for row in frame.itertuples()]
    latex.render(args.template, args.out, caption=latex.Latex(args.caption), label=latex.label(args.label), rows=rows)


if __name__ == "__main__":
    main()
