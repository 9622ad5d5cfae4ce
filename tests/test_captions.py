"""The report's captions: one text in the config, LaTeX in the PDF and plain text in the HTML report,
the variables the PDF prints filled in from paper/build/variables.tex."""
import json

import jinja2
import pytest
from docutils.core import publish_parts

from repro.config import load, reported_numbers
from repro.report import captions, variables
from repro.report.facts import config_facts

from conftest import REPO

MACROS = {"RecallPairs": "4", "SimulatedSequences": "2,000", "Steps": r"1\,000"}


def rendered(caption_file: str, **wildcards) -> str:
    """A caption file as Snakemake's report shows it: Jinja first, then reStructuredText to HTML."""
    text = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(caption_file).render(
        snakemake={"wildcards": wildcards})
    return publish_parts(text, writer="html")["body"]


def test_plain_text_fills_in_the_variables_and_drops_the_markup():
    caption = (r"Recall, \RecallPairs{} pairs (\%), \SimulatedSequences{} sequences, \Steps{} steps; "
               r"mean $\pm$ std (spec \S5.2, Sec.~5.6, log--log); made by \script{python -m repro.figures.fig2\_lm\_bpb}.")
    assert captions.plain_text(caption, MACROS) == ("Recall, 4 pairs (%), 2,000 sequences, 1 000 steps; mean ± std "
                                                    "(spec §5.2, Sec.\u00a05.6, log–log); made by python -m repro.figures.fig2_lm_bpb.")


def test_a_latex_command_without_a_plain_form_is_refused_by_name():
    with pytest.raises(ValueError, match=r"\\Unknown has no plain-text form; known: the variables"):
        captions.plain_text(r"Some \Unknown{} text.", MACROS)


def test_a_caption_file_shows_the_text_verbatim_and_picks_the_item_by_its_wildcard():
    spec = {"by": "table", "captions": {"table1_lm": r"LM, \RecallPairs{} *pairs* with `ticks` and a_name_",
                                        "table3_recall": r"Recall \{\{ not a template \}\}."}}
    text = captions.caption_file(spec, MACROS)
    assert "LM, 4 *pairs* with `ticks` and a_name_" in rendered(text, table="table1_lm")
    assert "table3_recall" not in rendered(text, table="table1_lm")
    assert "Recall {{ not a template }}." in rendered(text, table="table3_recall")
    assert "Only one." in rendered(captions.caption_file({"by": None, "captions": {"": "Only one."}}, MACROS))


def test_figure_3_has_one_caption_per_result_set(tmp_path):
    config = load(REPO / "config" / "config.yaml")
    figures = captions.figure_captions(config)
    throughput = {name: caption for name, caption in figures.items() if name.startswith("fig3_throughput_")}
    assert set(throughput) == {f"fig3_throughput_{name}" for name in config["benchmark"]["result_sets"]} | {"fig3_throughput_local"}
    for name, caption in throughput.items():
        assert rf"result set \texttt{{{name.removeprefix('fig3_throughput_')}}}" in caption


def test_every_caption_of_the_config_reads_as_plain_text_with_the_reports_variables(tmp_path):
    config = load(REPO / "config" / "config.yaml")
    variables_tex = tmp_path / "variables.tex"
    (tmp_path / "capacity.csv").write_text("pairs,slots,binding_kept_pct\n4,4,90.0\n4,5,100.0\n")
    variables.main(["--facts", json.dumps(config_facts(config, reported_numbers(REPO / "paper" / "reported.csv"))),
                    "--slot-capacity", str(tmp_path / "capacity.csv"), "--triple-seq-len", "49", "--out", str(variables_tex)])
    out = tmp_path / "captions"
    files = captions.caption_files(config)
    captions.main(["--captions", json.dumps(files), "--variables", str(variables_tex), "--out-dir", str(out)])
    assert sorted(path.stem for path in out.iterdir()) == sorted(files)
    table1 = rendered((out / "table.rst").read_text(), table="table1_lm")
    batches = config["recipes"][config["experiments"]["lm"]["recipe"]]["eval"]["compare_batches"]
    assert f"validation on the first {batches} batches." in table1 and "\\" not in table1
    sp_capacity = rendered((out / "sp_capacity.rst").read_text())
    assert f"{config['report']['slot_capacity']['sequences']:,} sequences per pair count" in sp_capacity
    assert "python -m repro.figures.sp_capacity" in sp_capacity
