"""The report's captions, from one source (the config), for the PDF and for Snakemake's HTML report.

The PDF gets each caption as LaTeX. The HTML report gets it as plain text in a reStructuredText file,
with every macro of the report's variables replaced by the value that paper/build/variables.tex gives
it, so both say the same words and numbers; plain text, because LaTeX markup has no HTML form there.
A rule whose outputs are many report items (one per table, one per result set) has one caption file
that picks the item's caption by its wildcard, since Snakemake names one caption file per output.

    python -m repro.report.captions --captions '{"table": {"by": "table", "captions": {...}}}' \\
        --variables paper/build/variables.tex --out-dir results/report_captions
"""
import argparse
import json
import re
from pathlib import Path

from repro.config import benchmark_result_sets, report_tables, task_result_sets
from repro.report import latex
from repro.report.figure_settings import RECALL_DISTANCE
NEWCOMMAND = re.compile(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}")
TOKEN = re.compile(r"\\([A-Za-z]+)(?:\{\}|\s*)|\\(.)|---|--|~|\$|\{|\}")
MARKUP = {"script", "texttt", "emph", "textbf", "textit", "mathrm", "ensuremath"}  # their argument stays as text
SYMBOLS = {"pm": "±", "times": "×", "cdot": "·", "odot": "⊙", "sum": "Σ", "in": "∈", "top": "ᵀ", "alpha": "α",
           "lambda": "λ", "pi": "π", "rho": "ρ", "S": "§", "ldots": "…", "textbackslash": "\\", "textless": "<",
           "textgreater": ">", "textbar": "|", "textasciitilde": "~", "textasciicircum": "^"}
PUNCTUATION = {"---": "—", "--": "–", "~": "\u00a0"}
SPACES = {",": " ", " ": " "}  # \, and \ (escaped characters otherwise print as themselves)
RST_SPECIAL = re.compile(r"([\\*`|_])")


def fill(caption: str, **fields) -> str:
    """A caption template's fields (`<< result_set >>`) filled in, escaped for LaTeX."""
    return latex.environment(Path(".")).from_string(caption).render(**fields)


def per_result_set(config: dict) -> dict:
    """{figure drawn once per result set, its caption a template of `result_set`: (the rule's wildcard
    that names the set, the sets)}."""
    return {"fig3_throughput": ("result_set", list(benchmark_result_sets(config))),
            "recall_distance": ("recall_set", list(task_result_sets(config, RECALL_DISTANCE)))}


def _figure_caption_files(config: dict) -> dict:
    """{figure: {"by": the wildcard naming its result set or None, "captions": {wildcard value: LaTeX}}}."""
    sets = per_result_set(config)
    files = {}
    for name, spec in config["report"]["figures"].items():
        if name not in sets:
            files[name] = {"by": None, "captions": {"": spec["caption"]}}
            continue
        wildcard, names = sets[name]
        files[name] = {"by": wildcard, "captions": {result_set: fill(spec["caption"], result_set=result_set) for result_set in names}}
    return files


def figure_captions(config: dict) -> dict:
    """{figure name, as the report names its file: LaTeX caption}: a figure drawn per result set once per set."""
    return {name if spec["by"] is None else f"{name}_{key}": caption
            for name, spec in _figure_caption_files(config).items() for key, caption in spec["captions"].items()}


def caption_files(config: dict) -> dict:
    """{caption file: {"by": the wildcard that picks the caption or None, "captions": {wildcard value: LaTeX}}},
    one file per rule that puts outputs in the HTML report."""
    report = config["report"]
    files = _figure_caption_files(config)
    files["table"] = {"by": "table", "captions": {name: table["spec"]["caption"] for name, table in report_tables(config).items()}}
    files["triple_audit"] = {"by": None, "captions": {"": report["triple_audit"]["caption"]}}
    files["ruler"] = {"by": None, "captions": {"": report["ruler"]["caption"]}}
    files["claims"] = {"by": None, "captions": {"": report["claims"]["caption"]}}
    return files


def read_macros(variables_tex: str) -> dict:
    """{macro name: its LaTeX value}, from the \\newcommand lines of repro.report.variables."""
    return dict(NEWCOMMAND.fullmatch(line).groups() for line in variables_tex.splitlines() if NEWCOMMAND.fullmatch(line))


def plain_text(caption: str, macros: dict) -> str:
    """The caption as the PDF prints it, in plain text: macros replaced by their values, markup dropped.
    Raises ValueError for a LaTeX command with no plain form, naming it and those known."""
    def replace(match: re.Match) -> str:
        word, symbol, other = match.group(1), match.group(2), match.group(0)
        if word is None:
            return SPACES.get(symbol, symbol) if symbol is not None else PUNCTUATION.get(other, "")
        if word in macros:
            return plain_text(macros[word], macros)
        if word in SYMBOLS:
            return SYMBOLS[word]
        if word in MARKUP:
            return ""
        raise ValueError(f"caption {caption!r}: \\{word} has no plain-text form; known: the variables of "
                         f"paper/build/variables.tex, {', '.join(sorted([*SYMBOLS, *MARKUP]))}")
    return TOKEN.sub(replace, caption)


def rst(text: str) -> str:
    """Plain text as reStructuredText that shows it verbatim, inside a Jinja raw block (Snakemake renders
    caption files with Jinja first)."""
    return "{% raw %}" + RST_SPECIAL.sub(r"\\\1", text) + "{% endraw %}\n"


def caption_file(spec: dict, macros: dict) -> str:
    """A caption file: the one caption, or each item's behind a test of the rule's wildcard."""
    texts = {key: rst(plain_text(caption, macros)) for key, caption in spec["captions"].items()}
    if spec["by"] is None:
        return texts[""]
    branches = [f'{{% {"if" if i == 0 else "elif"} snakemake.wildcards.{spec["by"]} == "{key}" %}}\n{text}'
                for i, (key, text) in enumerate(texts.items())]
    return "".join(branches) + "{% endif %}\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--captions", required=True, help="JSON, as caption_files(config) gives it")
    parser.add_argument("--variables", required=True, type=Path, help="paper/build/variables.tex, from repro.report.variables")
    parser.add_argument("--out-dir", required=True, type=Path, help="the folder of the caption files (<name>.rst)")
    args = parser.parse_args(argv)
    macros = read_macros(args.variables.read_text())
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, spec in json.loads(args.captions).items():
        (args.out_dir / f"{name}.rst").write_text(caption_file(spec, macros))


if __name__ == "__main__":
    main()
