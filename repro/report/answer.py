"""The report's pages about the claims, from results/claims.csv: the first page, which answers
whether the paper holds (the abstract's claims in both modes, the verdict counts per table and
mode, and why each claim that failed failed, all from the paper's claims alone), then our
extension's claims in a block of their own, and the appendix's long table of every claim with
both modes side by side. The first page's sections come from paper/claims.yaml, checked by
repro.config.validate_answer. The claims of cited works (source `cited`, the work in column `cited`)
are not the paper's: the first page leaves them out, the appendix names the work beside each."""
import argparse
import json
from pathlib import Path

import pandas as pd

from repro.report import latex
from repro.report.claims import PAPER
from repro.report.verdict import NOT_REPRODUCED, VERDICTS

MODES = ("faithful", "corrected")


def number(value) -> str | None:
    """A value as the report prints it: integers with thousands separators, else up to 3 decimals."""
    if value is None or pd.isna(value):
        return None
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:.3f}".rstrip("0").rstrip(".")


def _cell(row) -> dict:
    seeds = row.seeds_to_decide
    return {"ours": number(row.ours), "ci95": number(row.ci95), "n": int(row.n), "verdict": row.verdict,
            "seeds_to_decide": None if pd.isna(seeds) else str(seeds).removesuffix(".0")}


def side_by_side(results: pd.DataFrame) -> list[dict]:
    """One row per claim, in the CSV's order, with a cell per mode (None where the claim has no
    runs in that mode)."""
    rows = []
    for claim_id, own in results.groupby("claim", sort=False):
        first = own.iloc[0]
        cells = {row.mode: _cell(row) for row in own.itertuples()}
        text = first["text"] if pd.isna(first["cited"]) else f"{first['text']} (claim of {first['cited']})"
        rows.append({"id": claim_id, "table": first["table"], "text": text, "quantity": first["quantity"],
                     "paper": number(first["paper"]), "tolerance": first["tolerance"],
                     "modes": [cells.get(mode) for mode in MODES]})
    return rows


def verdict_counts(results: pd.DataFrame) -> list[dict]:
    """Per table (in the CSV's order) and a total: the count of each verdict in each mode."""
    def counts(rows: pd.DataFrame) -> list[list[int]]:
        return [[int(((rows["mode"] == mode) & (rows["verdict"] == v)).sum()) for v in VERDICTS] for mode in MODES]

    tables = [{"table": table, "modes": counts(rows)} for table, rows in results.groupby("table", sort=False)]
    return tables + [{"table": "All", "modes": counts(results)}]


def failures(results: pd.DataFrame, explanations: list[dict]) -> list[dict]:
    """Every claim row not reproduced, with its explanation (None: unexplained)."""
    why = {(e["claim"], e["mode"]): e for e in explanations}
    return [{"text": row.text, "table": row.table, "mode": row.mode, "ours": number(row.ours), "ci95": number(row.ci95),
             "paper": number(row.paper), "quantity": row.quantity, "explanation": why.get((row.claim, row.mode))}
            for row in results[results["verdict"] == NOT_REPRODUCED].itertuples()]


def headline(results: pd.DataFrame, entries: list[dict]) -> list[dict]:
    rows = {row["id"]: row for row in side_by_side(results)}
    return [{"text": entry["text"], "rows": [rows[claim_id] for claim_id in entry["claims"]]} for entry in entries]


def extension(results: pd.DataFrame, sections: list[dict]) -> list[dict]:
    """Our extension's block: per section, each claim as written with its rows (one per result set and T)."""
    rows = {row["id"]: row for row in side_by_side(results)}
    return [{"name": section["name"], "claims": [
        {"text": stated["text"], "rows": [{**rows[row["id"]], "seq_len": row["seq_len"], "result_set": row["result_set"]}
                                          for row in stated["rows"]]} for stated in section["claims"]]} for section in sections]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--claims", required=True, type=Path, help="results/claims.csv")
    parser.add_argument("--answer", required=True,
                        help="the first page's sections of paper/claims.yaml as JSON, as repro.config.validate_answer returns them")
    parser.add_argument("--first-page-template", required=True, type=Path, help="paper/templates/answer.tex.j2")
    parser.add_argument("--table-template", required=True, type=Path, help="paper/templates/claims_table.tex.j2")
    parser.add_argument("--table-caption", required=True, help="the table's caption (LaTeX), config report.claims.caption")
    parser.add_argument("--out-first-page", required=True, type=Path, help="paper/tables/answer.tex")
    parser.add_argument("--out-table", required=True, type=Path, help="paper/tables/claims.tex")
    args = parser.parse_args(argv)
    results, answer = pd.read_csv(args.claims), json.loads(args.answer)
    shown = [claim_id for entry in answer["headline"] for claim_id in entry["claims"]] + \
        [row["id"] for section in answer["extension"] for stated in section["claims"] for row in stated["rows"]]
    missing = set(shown) - set(results["claim"])
    if missing:
        raise SystemExit(f"error: {args.claims} has no rows for the first page's claims {sorted(missing)}")
    paper = results[results["source"] == PAPER]
    latex.render(args.first_page_template, args.out_first_page, headline=headline(paper, answer["headline"]),
                 counts=verdict_counts(paper), verdicts=VERDICTS, failures=failures(paper, answer["explanations"]),
                 extension=extension(results, answer["extension"]))
    latex.render(args.table_template, args.out_table, caption=latex.Latex(args.table_caption), rows=side_by_side(results),
                 verdicts=VERDICTS)


if __name__ == "__main__":
    main()
