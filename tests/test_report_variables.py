"""The report's words come from data: every number its prose states is a macro that
repro.report.variables writes from the config and the results, and no template types one by hand."""
import copy
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from repro.config import load, reported_numbers
from repro.report import facts, variables

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "paper" / "templates"
REPORTED = reported_numbers(REPO / "paper" / "reported.csv")

# What a template may still spell with digits, and why none of it is a fact of the config or results.
ALLOWED = {
    r"\\documentclass\[\d+pt\]|margin=\d+(\.\d+)?cm|\d+(\.\d+)?\\textwidth|p\{\d+(\.\d+)?cm\}": "page layout",
    r"arXiv:\d{4}\.\d{5}|abs/\d{4}\.\d{5}": "the paper's arXiv identifier",
    r"(?<=et al\., )\d{4}|(?<=Graves, )\d{4}": "a cited work's year",
    r"(Table|Tables|Figure|Fig\.)~?\s?\d+( to \d+)?|Sec\.~\d+(\.\d+)*|\\S\d+(\.\d+)*": "a section, table or figure of the paper or spec",
    r"\(?D\d+\)?[;,.)]*": "a defect of the spec (D1, D2, ...)",
    r"SHA-256|WikiText-2": "a name: the hash, the data set",
    r"95\\%": "the confidence level, fixed by repro/report/stats.py's Student t table (t_0.975), not a setting",
    r"\\multicolumn\{\d+\}|\\cmidrule(\([lr]+\))?\{\d+-\d*\}?|\[\d\]|#\d":
        "a table's column count and ranges, a macro's argument count and argument (LaTeX structure)",
}
# Spans that are names or code, not prose: Jinja, cross-reference keys, script names, links.
NOT_PROSE = re.compile(r"<<.*?>>|<%.*?%>|<#.*?#>|\\(?:ref|label|script|href|input|includegraphics)(\[[^]]*\])?\{[^}]*\}", re.S)


def typed_numbers(template: str) -> list[str]:
    """The tokens of a template's prose that hold a digit and are not on the allow-list."""
    prose = NOT_PROSE.sub(" ", template)
    for pattern in ALLOWED:
        prose = re.sub(pattern, " ", prose)
    return re.findall(r"\S*\d\S*", prose)


@pytest.fixture(scope="module")
def paper_config():
    return load(REPO / "config" / "config.yaml")


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.j2")), ids=lambda path: path.name)
def test_no_template_types_a_number(template):
    assert typed_numbers(template.read_text()) == []


def test_the_scan_finds_a_typed_number_beside_allowed_ones():
    text = r"As in Table~5 (D4, spec \S5.2.5), trained for 200 steps at dropout 0.1; << steps >> via \ref{tab:table1_lm}."
    assert typed_numbers(text) == ["200", "0.1;"]


def test_every_macro_the_report_uses_is_a_variable_and_every_variable_is_used(paper_config):
    """In the templates and in the LaTeX of the config's tables (captions, group titles, column labels) and figure captions."""
    config_latex = yaml.safe_dump([paper_config["report"][part] for part in ("tables", "figures", "ruler")])
    used = set(re.findall(r"\\([A-Z][A-Za-z]+)", (TEMPLATES / "main.tex.j2").read_text() + config_latex))
    measured = variables.measured_facts(capacity_frame({4: 19, 6: 23, 8: 27}), 49)
    assert used == set(facts.config_facts(paper_config, REPORTED)) | set(measured)


def test_variables_state_the_papers_config(paper_config):
    stated = facts.config_facts(paper_config, REPORTED)
    assert stated["ThroughputBatch"] == "8" and stated["ThroughputWarmup"] == "5" and stated["ThroughputRepeats"] == "20"
    assert stated["ThroughputPaperMaxLength"] == "512" and stated["ThroughputMaxLength"] == "8192"
    assert stated["RecallDropout"] == "0.1" and stated["NoDropoutPilotDropout"] == "0"
    assert stated["TripleStages"] == "copy, affine, gate, lookup" and stated["TripleStageSteps"] == "200"
    assert stated["AblationPaperConfigurations"] == "Six" and stated["AblationEvalPairs"] == "4, 6 and 8"
    assert (stated["AblationExtraSlotCounts"], stated["AblationExtraSlotsFrom"], stated["AblationExtraSlotsTo"]) == ("three", "16", "32")
    assert stated["SimulatedSequences"] == "2,000"
    assert (stated["RffnRecipes"], stated["RffnCompareBatches"], stated["MemoryPilotSeqLen"]) == ("three", "64", "64")
    assert (stated["LMCompareBatches"], stated["RecallPairs"], stated["MemoryPilotSequences"]) == ("128", "4", "512")
    assert stated["RulerRuns"] == "lm at 128 bytes with 8 samples per task"


@pytest.mark.parametrize("change, macro, text", [
    (lambda c: c["benchmark"].update(repeats=7), "ThroughputRepeats", "7"),
    (lambda c: c["benchmark"].update(extended_lengths=[1024, 4096]), "ThroughputMaxLength", "4096"),
    (lambda c: c["recipes"]["R-AR"].update(dropout=0.25), "RecallDropout", "0.25"),
    (lambda c: c["recipes"]["R-TRI"].update(steps=150), "TripleStageSteps", "150"),
    (lambda c: c["recipes"]["R-ABL"]["eval"]["sets"].append({"pairs": 10, "seed": 30}), "AblationEvalPairs", "4, 6, 8 and 10"),
    (lambda c: c["experiments"]["sparse_pointer_ablation"]["variants"].remove("sparse_pointer_slots20"),
     "AblationExtraSlotCounts", "two"),
    (lambda c: c["report"]["slot_capacity"].update(sequences=12345), "SimulatedSequences", "12,345"),
    (lambda c: c["ruler"]["experiments"]["lm"].update(budgets=[64, 128], samples=32), "RulerRuns",
     "lm at 64 and 128 bytes with 32 samples per task"),
    (lambda c: c["ruler"]["experiments"].update(rffn_tuned120={"budgets": [128], "samples": 4}), "RulerRuns",
     "lm at 128 bytes with 8 samples per task and rffn_tuned120 at 128 bytes with 4 samples per task"),
])
def test_a_config_change_changes_its_variable(paper_config, change, macro, text):
    changed = copy.deepcopy(paper_config)
    change(changed)
    assert facts.config_facts(changed, REPORTED)[macro] == text != facts.config_facts(paper_config, REPORTED)[macro]


def test_recipes_that_disagree_on_a_stated_value_are_refused(paper_config):
    changed = copy.deepcopy(paper_config)
    changed["recipes"]["R-LM-T120"]["eval"] = {**changed["recipes"]["R-LM-T120"]["eval"], "compare_batches": 128}
    with pytest.raises(ValueError, match=r"table_s56_recurrent_ffn: eval.compare_batches.*\[64, 128\]"):
        facts.config_facts(changed, REPORTED)


def capacity_frame(thresholds: dict) -> pd.DataFrame:
    """Simulated rows whose binding is always kept from `thresholds[pairs]` slots on."""
    return pd.DataFrame([(n, slots, 100, 100.0 if slots >= first else 50.0)
                         for n, first in thresholds.items() for slots in range(4, 33)],
                        columns=["pairs", "slots", "sequences", "binding_kept_pct"])


def test_slot_thresholds_are_the_fewest_slots_that_always_keep_the_binding():
    assert variables.slot_thresholds(capacity_frame({8: 27, 4: 19})) == {4: 19, 8: 27}
    noisy = capacity_frame({4: 19})
    noisy.loc[noisy["slots"] == 22, "binding_kept_pct"] = 99.9  # a dip above the first 100%: not yet always kept
    assert variables.slot_thresholds(noisy) == {4: 23}
    with pytest.raises(ValueError, match="6 pairs: no simulated slot count \\(up to 32\\) keeps every binding"):
        variables.slot_thresholds(capacity_frame({6: 40}))


def test_faithful_triple_lengths_are_measured_on_the_generator():
    assert variables.faithful_lengths(49) == {"copy": 43, "affine": 43, "gate": 43, "lookup": 49}
    measured = variables.measured_facts(capacity_frame({4: 19, 6: 23, 8: 27}), 55)
    assert measured == {"SlotThresholds": "19, 23 or 27", "TripleFaithfulLength": "49", "TripleFaithfulLookupLength": "55"}


def test_variables_file_defines_escaped_macros_and_refuses_a_bad_name(tmp_path):
    assert variables.source({"SimulatedSequences": "2,000", "Odd": "50%"}).splitlines()[1:] == [
        r"\newcommand{\SimulatedSequences}{2,000}", r"\newcommand{\Odd}{50\%}"]
    with pytest.raises(ValueError, match="variable 'Slots2'"):
        variables.source({"Slots2": "3"})
