"""Jinja2 for LaTeX: delimiters that do not clash with TeX, and escaping of every value from data.

Templates use <% block %>, << variable >> and <# comment #>. Every << variable >> is escaped unless it
is a `Latex` string (markup we wrote or a config author wrote as LaTeX on purpose, or a macro's
output passed through the `latex` filter) or `None`, which renders as an em dash."""
import re
from pathlib import Path

import jinja2

SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}", "±": r"\ensuremath{\pm}",
}
MISSING = "---"
LABEL = re.compile(r"[A-Za-z0-9:_.-]+")


class Latex(str):
    """A string that is already LaTeX: rendered as is."""


def label(text: str) -> Latex:
    """A cross-reference key goes into the source unescaped, so it must be plain."""
    if not LABEL.fullmatch(text):
        raise ValueError(f"LaTeX label {text!r}: use letters, digits and : _ - . only")
    return Latex(text)


def escape(text) -> str:
    return "".join(SPECIAL.get(char, char) for char in str(text))


def _finalize(value):
    if value is None:
        return MISSING
    if isinstance(value, Latex):
        return value
    return escape(value)


def environment(template_dir: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        block_start_string="<%", block_end_string="%>",
        variable_start_string="<<", variable_end_string=">>",
        comment_start_string="<#", comment_end_string="#>",
        finalize=_finalize, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True, undefined=jinja2.StrictUndefined, autoescape=False,
    )
    env.filters["latex"] = Latex  # a macro's output: its values were escaped inside it, so it is LaTeX already
    return env


def render(template: Path, out: Path, **context) -> None:
    """Render `template` with `context` into `out`, creating its folder."""
    text = environment(template.parent).get_template(template.name).render(**context)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
