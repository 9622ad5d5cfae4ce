"""Render the report's LaTeX source: provenance, the generated tables and figures (by name; the
template refers to `tables.<name>` and `figures.<name>`), the figures' captions (`captions.<name>`,
repro.report.captions), the claims with a count of their verdicts,
and the variables file (repro.report.variables) whose macros state every number of the prose. Paths
to the generated files are written relative to the output's folder, so `latexmk -cd` on the output
compiles it."""
import argparse
import json
import os
from pathlib import Path

import pandas as pd

from repro.report import latex, runs
from repro.report.claims import VERDICTS


def verdict_counts(claims: pd.DataFrame) -> list[dict]:
    """Per mode (faithful first): how many claims were evaluated, and how many got each verdict."""
    modes = [runs.BASELINE_MODE] + sorted(set(claims["mode"]) - {runs.BASELINE_MODE})
    counts = []
    for mode in modes:
        verdicts = claims.loc[claims["mode"] == mode, "verdict"]
        counts.append({"mode": mode, "total": len(verdicts),
                       "verdicts": [{"verdict": v, "count": int((verdicts == v).sum())} for v in VERDICTS]})
    return counts


def _relative(path: Path, out: Path) -> latex.Latex:
    return latex.Latex(Path(os.path.relpath(path.resolve(), out.resolve().parent)).as_posix())


def _named(value: str) -> tuple[str, Path]:
    name, separator, path = value.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=PATH")
    return name, Path(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/main.tex.j2")
    parser.add_argument("--provenance", required=True, type=Path, help="results/provenance.json")
    parser.add_argument("--claims", required=True, type=Path, help="results/claims.csv")
    parser.add_argument("--claims-table", required=True, type=Path, help="claims table (.tex), from repro.report.claims")
    parser.add_argument("--variables", required=True, type=Path, help="paper/build/variables.tex, from repro.report.variables")
    parser.add_argument("--table", type=_named, action="append", default=[], metavar="NAME=PATH",
                        help="a generated table (.tex); repeat for each")
    parser.add_argument("--figure", type=_named, action="append", default=[], metavar="NAME=PATH",
                        help="a generated figure (.pdf); repeat for each")
    parser.add_argument("--captions", required=True, help="JSON {figure name: LaTeX caption}, from repro.report.captions")
    parser.add_argument("--out", required=True, type=Path, help="paper/build/main.tex")
    args = parser.parse_args(argv)
    provenance = json.loads(args.provenance.read_text())
    latex.render(
        args.template, args.out,
        provenance=provenance,
        library_versions=sorted(provenance["library_versions"].items()),
        verdict_counts=verdict_counts(pd.read_csv(args.claims)),
        tables={name: _relative(path, args.out) for name, path in args.table},
        figures={name: _relative(path, args.out) for name, path in args.figure},
        captions={name: latex.Latex(caption) for name, caption in json.loads(args.captions).items()},
        claims_table=_relative(args.claims_table, args.out),
        variables=_relative(args.variables, args.out),
    )


if __name__ == "__main__":
    main()
