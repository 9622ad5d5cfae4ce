"""Render the report's LaTeX source: provenance, the generated tables and figures (by name; the
template refers to `tables.<name>` and `figures.<name>`), the figures' captions (`captions.<name>`,
repro.report.captions), and the variables file (repro.report.variables) whose macros state every
number of the prose. Paths
to the generated files are written relative to the output's folder, so `latexmk -cd` on the output
compiles it."""
import argparse
import json
import os
from pathlib import Path

from repro.report import latex


def _relative(path: Path, out: Path) -> latex.Latex:
    return latex.Latex(Path(os.path.relpath(path.resolve(), out.resolve().parent)).as_posix())


def named_path(value: str) -> tuple[str, Path]:
    """A NAME=PATH argument: a generated file and the name a template or a claim refers to it by."""
    name, separator, path = value.partition("=")
    if not separator or not name or not path:
        raise argparse.ArgumentTypeError(f"{value!r}: expected NAME=PATH")
    return name, Path(path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True, type=Path, help="paper/templates/main.tex.j2")
    parser.add_argument("--provenance", required=True, type=Path, help="results/provenance.json")
    parser.add_argument("--variables", required=True, type=Path, help="paper/build/variables.tex, from repro.report.variables")
    parser.add_argument("--table", type=named_path, action="append", default=[], metavar="NAME=PATH",
                        help="a generated table (.tex); repeat for each")
    parser.add_argument("--figure", type=named_path, action="append", default=[], metavar="NAME=PATH",
                        help="a generated figure (.pdf); repeat for each")
    parser.add_argument("--captions", required=True, help="JSON {figure name: LaTeX caption}, from repro.report.captions")
    parser.add_argument("--out", required=True, type=Path, help="paper/build/main.tex")
    args = parser.parse_args(argv)
    provenance = json.loads(args.provenance.read_text())
    latex.render(
        args.template, args.out,
        provenance=provenance,
        library_versions=sorted(provenance["library_versions"].items()),
        tables={name: _relative(path, args.out) for name, path in args.table},
        figures={name: _relative(path, args.out) for name, path in args.figure},
        captions={name: latex.Latex(caption) for name, caption in json.loads(args.captions).items()},
        variables=_relative(args.variables, args.out),
    )


if __name__ == "__main__":
    main()
