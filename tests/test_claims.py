"""paper/claims.yaml: its schema and load-time checks, and the claims derived from the report tables
(parameter-count claims, paper keys). The evaluation of claims against runs is tested in test_report.py."""
import copy

import pytest
import yaml

from repro.config import ConfigError, load, reported_numbers, table_spec, validate_answer, validate_claims
from repro.report import claim_list

from conftest import REPO

CLAIMS = yaml.safe_load((REPO / "paper" / "claims.yaml").read_text())
REPORTED = reported_numbers(REPO / "paper" / "reported.csv")


@pytest.fixture(scope="module")
def paper_claims(paper_config):
    return validate_claims(copy.deepcopy(CLAIMS), paper_config, REPORTED)


def spec(*groups, columns=({"metric": "params"}, {"metric": "val_bpb"})) -> dict:
    """A resolved report table (repro.config.table_spec) with one row per variant of each group."""
    return {"columns": list(columns), "groups": [
        {"experiment": experiment, "paper_experiment": paper_experiment, "metric_experiments": metric_experiments,
         "rows": [{"variant": v, "mode": "both", "label": v.title(), "paper_name": v.replace("_", "-")} for v in variants]}
        for experiment, paper_experiment, variants, metric_experiments in groups]}


def section(claims=(), table="t") -> dict:
    return {"name": "Table 9", "report_table": table, "id_prefix": "t9", "claims": list(claims)}


def within(variant="core", metric="val_bpb", experiment="lm", **fields) -> dict:
    return {"id": f"t9_{metric}_{variant}", "text": "a claim", "experiment": experiment, "kind": "within",
            "metric": metric, "variant": variant, "tolerance": 0.05, **fields}


LM = ("lm", "P1", ["transformer", "unimatrix_core"], {})
REPORTED_LM = {"P1/transformer/params": 100.0, "P1/unimatrix-core/params": 50.0, "P1/core/val_bpb": 5.0,
               "P1/transformer/val_bpb": 5.1, "P1/unimatrix-core/val_bpb": 5.0}


# ---- parameter-count claims ---------------------------------------------------------------------

def test_each_row_with_a_printed_parameter_count_gets_an_exact_claim():
    claims = claim_list.expand({"tables": [section()]}, {"t": spec(LM)}, REPORTED_LM)
    assert claims == [
        {"id": "t9_params_transformer", "table": "Table 9", "text": "Transformer: its parameter count in experiment lm equals the paper's.",
         "experiment": "lm", "kind": "exact", "metric": "params", "variant": "transformer", "paper": "P1/transformer/params"},
        {"id": "t9_params_core", "table": "Table 9", "text": "Unimatrix_Core: its parameter count in experiment lm equals the paper's.",
         "experiment": "lm", "kind": "exact", "metric": "params", "variant": "unimatrix_core", "paper": "P1/unimatrix-core/params"}]


def test_removing_a_row_removes_its_claim_and_a_row_the_paper_prints_no_count_for_gets_none():
    reported = {key: value for key, value in REPORTED_LM.items() if key != "P1/transformer/params"}
    without_row = claim_list.expand({"tables": [section()]}, {"t": spec(("lm", "P1", ["unimatrix_core"], {}))}, REPORTED_LM)
    without_count = claim_list.expand({"tables": [section()]}, {"t": spec(LM)}, reported)
    assert [c["id"] for c in without_row] == [c["id"] for c in without_count] == ["t9_params_core"]


def test_a_count_printed_again_for_the_same_variant_is_claimed_once_where_it_first_appears():
    again = ("recall", "P2", ["transformer"], {})
    reported = {**REPORTED_LM, "P2/transformer/params": 100.0}
    claims = claim_list.expand({"tables": [section()]}, {"t": spec(LM, again)}, reported)
    assert [(c["experiment"], c["variant"]) for c in claims] == [("lm", "transformer"), ("lm", "unimatrix_core")]
    other_count = claim_list.expand({"tables": [section()]}, {"t": spec(LM, again)}, {**reported, "P2/transformer/params": 90.0})
    assert [(c["experiment"], c["variant"]) for c in other_count] == [("lm", "transformer"), ("lm", "unimatrix_core"),
                                                                     ("recall", "transformer")]


def test_every_row_of_the_papers_tables_with_a_printed_count_has_exactly_one_claim(paper_config, paper_claims):
    params = [c for c in paper_claims if c["kind"] == "exact" and c["metric"] == "params"]
    rows = 0
    for name in {s["report_table"] for s in CLAIMS["tables"]}:
        for group in table_spec(paper_config, name)["groups"]:
            for row in group["rows"]:
                key = f"{group['paper_experiment']}/{row['paper_name']}/params"
                if key in REPORTED:
                    rows += 1
                    assert len([c for c in params if c["variant"] == row["variant"]
                                and REPORTED[c["paper"]] == REPORTED[key]]) == 1, key
    assert rows > len(params) > 0  # rows repeat per mode and table; each count is claimed once


# ---- paper keys ---------------------------------------------------------------------------------

def test_a_claims_paper_key_is_the_tables_cell_for_its_variant_and_metric():
    recall = ("retrieval", "P2", ["unimatrix_core"], {"accuracy_pct": "recall"})  # its accuracy comes from `recall`
    columns = ({"metric": "val_bpb"}, {"metric": "accuracy_pct", "paper_metric": "recall_pct"})
    ordering = {**within("transformer"), "kind": "less_than", "than": [{"variant": "unimatrix_core"}]}
    ordering.pop("tolerance")
    document = {"tables": [section([ordering, within("unimatrix_core", "accuracy_pct", "recall")])]}
    reported = {**REPORTED_LM, "P2/unimatrix-core/recall_pct": 13.0}
    claims = claim_list.expand(document, {"t": spec(LM, recall, columns=columns)}, reported)[-2:]
    assert [c["paper"] for c in claims] == ["P1/transformer/val_bpb", "P2/unimatrix-core/recall_pct"]
    assert claims[0]["than"] == [{"variant": "unimatrix_core", "paper": "P1/unimatrix-core/val_bpb"}]


def test_a_named_paper_key_stays_where_it_is_not_the_tables_cell():
    reduction = {**within("unimatrix_core", "params"), "kind": "reduction_pct", "reference": "transformer",
                 "paper": "P1/unimatrix-core/reduction_pct"}
    claims = claim_list.expand({"tables": [section([reduction])]}, {"t": spec(LM)}, REPORTED_LM)
    assert claims[-1]["paper"] == "P1/unimatrix-core/reduction_pct"


@pytest.mark.parametrize("claim, message", [
    (within("unimatrix_core", paper="P1/unimatrix-core/val_bpb"),
     "'tables.0.claims.0.paper': 'P1/unimatrix-core/val_bpb' is the paper key report table t gives; drop it"),
    (within("unimatrix_core", experiment="recall"),
     "'tables.0.claims.0.paper': report table t has no row showing val_bpb of unimatrix_core in experiment recall; "
     "name its paper/reported.csv key"),
    (within("transformer", "val_ppl"),
     "'tables.0.claims.0.paper': the key report table t gives, 'P1/transformer/val_ppl', is not a key of paper/reported.csv"),
])
def test_a_paper_key_that_cannot_be_derived_or_need_not_be_named_is_refused(claim, message):
    with pytest.raises(claim_list.ClaimError) as error:
        claim_list.expand({"tables": [section([claim])]}, {"t": spec(LM)}, REPORTED_LM)
    assert str(error.value).startswith("claims.yaml key ") and message in str(error.value)


# ---- the paper's claims, checked at load --------------------------------------------------------

def test_the_papers_claims_name_a_paper_key_only_where_the_table_cannot_give_it(paper_claims):
    named = [c for s in CLAIMS["tables"] for c in s["claims"] if "paper" in c]
    assert {c["kind"] for c in named} == {"reduction_pct"}
    assert len({c["id"] for c in paper_claims}) == len(paper_claims)
    assert all(c["paper"] in REPORTED for c in paper_claims if "source" not in c)  # ours have none
    cited = [c for c in paper_claims if "cited" in c]  # a cited work's claim: no paper number to compare
    assert cited and all(c["source"] == "cited" and c["paper"] is None and all(o["paper"] is None for o in c.get("than", []))
                         for c in cited)


def explicit(claims: dict, claim_id: str) -> dict:
    return next(c for s in claims["tables"] for c in s["claims"] if c["id"] == claim_id)


def refusal(edit, config) -> str:
    """The error validate_claims gives for a copy of paper/claims.yaml changed by `edit`."""
    claims = copy.deepcopy(CLAIMS)
    edit(claims)
    with pytest.raises(ConfigError) as error:
        validate_claims(claims, config, REPORTED)
    return str(error.value)


@pytest.mark.parametrize("edit, message", [
    (lambda c: explicit(c, "t1_bpb_transformer").update(kind="range"), "claims.0': 'band' is a required property"),
    (lambda c: explicit(c, "t1_bpb_transformer").update(table="Table 1"),
     "claims.0': 'table' is not one of ['id', 'text', 'experiment'"),
    (lambda c: explicit(c, "t1_bpb_transformer").update(kind="about"), "claims.0.kind': 'about' is not one of ['exact', 'within'"),
    (lambda c: explicit(c, "t1_rosa_fewer_params").pop("paper"), "claims.6': 'paper' is a required property"),
    (lambda c: explicit(c, "t1_bpb_transformer").update(variant="unimatrix_cor"),
     "claims.0.variant': 'unimatrix_cor' is not a known variant of experiment lm; valid: transformer, unimatrix_core"),
    (lambda c: explicit(c, "t1_bpb_transformer").update(experiment="lm_pilot"),
     "claims.0.experiment': 'lm_pilot' is not a known experiment; valid: "),
    (lambda c: explicit(c, "t1_rosa_fewer_params").update(paper="T1_lm_pilot/unimatrix-rosa/param_reduction_pct"),
     "claims.6.paper': 'T1_lm_pilot/unimatrix-rosa/param_reduction_pct' is not a key of paper/reported.csv"),
    (lambda c: explicit(c, "t1_bpb_transformer").update(paper="T1_lm_pilot/transformer/val_bpb"),
     "claims.0.paper': 'T1_lm_pilot/transformer/val_bpb' is the paper key report table table1_lm gives; drop it"),
    (lambda c: c["tables"][0].update(report_table="table1"), "tables.0.report_table': 'table1' is not a known report table; valid: "),
    (lambda c: explicit(c, "t1_bpb_transformer").update(id="t1_params_core"),
     "tables.0.claims.0': the id 't1_params_core' is also that of the claim from 'tables.0.report_table'; ids are unique"),
])
def test_a_bad_claim_names_its_key(paper_config, edit, message):
    refused = refusal(edit, paper_config)
    assert refused.startswith("claims.yaml key 'tables.0") and message in refused


@pytest.mark.parametrize("edit, message", [
    (lambda c: explicit(c, "rs_ut_beats_transformer_lm").update(paper="T1_lm_pilot/transformer/val_bpb"),
     "claims.0.paper': a claim of Dehghani et al. (2019) has no paper number; drop it"),
    (lambda c: explicit(c, "rs_ut_beats_transformer_lm")["than"][0].update(paper="T1_lm_pilot/transformer/val_bpb"),
     "claims.0.than.0.paper': a claim of Dehghani et al. (2019) has no paper number; drop it"),
    (lambda c: explicit(c, "t1_bpb_transformer").update(cited="Somebody (2020)"),
     "tables.0.claims.0.kind': 'within' is not one of ['range', 'less_than', 'greater_than']"),
])
def test_a_cited_works_claim_compares_our_runs_alone(paper_config, edit, message):
    assert message in refusal(edit, paper_config)


def test_a_table_row_an_explicit_claim_compares_against_cannot_be_removed(paper_config):
    config = copy.deepcopy(paper_config)
    config["report"]["tables"]["table1_lm"]["groups"][0]["variants"] = ["transformer", "unimatrix_core", "unimatrix_discovery"]
    with pytest.raises(ConfigError, match="report table table1_lm has no row showing val_bpb of unimatrix_rosa in experiment lm"):
        validate_claims(copy.deepcopy(CLAIMS), config, REPORTED)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["headline"][0]["claims"].append("t1_bpb_nothing"),
     "claims.yaml key 'headline.0.claims.5': 't1_bpb_nothing' is not a known claim id; valid: "),
    (lambda c: c["explanations"][0]["claims"].append("t3_typo"),
     "claims.yaml key 'explanations.0.claims.2': 't3_typo' is not a known claim id"),
    (lambda c: c["explanations"].append({**c["explanations"][0], "why": "twice."}),
     "claims.yaml key 'explanations.4': t2_bpb_triple_hybrid in corrected mode is already explained by 'explanations.0'"),
])
def test_a_bad_first_page_entry_names_its_key(paper_config, edit, message):
    claims = copy.deepcopy(CLAIMS)
    edit(claims)
    with pytest.raises(ConfigError) as error:
        validate_answer(claims, validate_claims(claims, paper_config, REPORTED))
    assert message in str(error.value)


def test_the_first_page_sections_pass_to_the_report_one_explanation_per_claim_and_mode(paper_config):
    sections = validate_answer(CLAIMS, validate_claims(copy.deepcopy(CLAIMS), paper_config, REPORTED))
    assert sections["headline"] == CLAIMS["headline"]
    pairs = [(e["claim"], e["mode"]) for e in sections["explanations"]]
    assert len(pairs) == len(set(pairs)) == sum(len(e["claims"]) * len(e["modes"]) for e in CLAIMS["explanations"])
    assert {e["defect"] for e in sections["explanations"]} == {"D1", "D2", None}


def test_a_defect_must_be_named_as_spec_section_8_names_it(paper_config):
    claims = copy.deepcopy(CLAIMS)
    claims["explanations"][0]["defect"] = "leak"
    with pytest.raises(ConfigError, match="explanations.0.defect': 'leak' does not match"):
        validate_claims(claims, paper_config, REPORTED)


# ---- our extension's claims ---------------------------------------------------------------------

def extension_rows(claims: list) -> dict:
    """{claim as written: [(result set, experiment, T) of each row]}, in the list's order."""
    rows = {}
    for claim in claims:
        if claim.get("source") == "extension":
            rows.setdefault(claim["template"], []).append((claim["result_set"], claim["experiment"], claim["seq_len"]))
    return rows


def test_each_extension_claim_gets_a_row_per_length_of_this_run_and_of_each_committed_set(paper_claims):
    committed = [("recall_distance_h100", f"recall_distance_{length}", length) for length in (128, 256, 512, 1024, 2048)]
    local = [("local", "recall_distance_128", 128), ("local", "recall_distance_256", 256)]
    assert extension_rows(paper_claims) == {"x_recurrent_state_below_transformer": local + committed,
                                            "x_sparse_pointer_keeps_95": local + committed}
    row = next(c for c in paper_claims if c["id"] == "x_sparse_pointer_keeps_95_t2048_recall_distance_h100")
    assert row["text"].startswith("At T = 2048: ") and row["table"].endswith("(our extension), result set recall_distance_h100")
    assert row["paper"] is None and row["chance"] == pytest.approx(100 / 64) and "max_seq_len" not in row
    # the paper's claims are unmarked; a cited work's is marked as such
    assert all("source" not in c for c in paper_claims if not c["id"].startswith(("x_", "rs_")))


def test_the_rows_follow_the_lengths_the_active_config_runs():
    long = load(REPO / "config" / "config.yaml", REPO / "config" / "long.yaml")
    long["report"]["result_sets"] = {}
    rows = extension_rows(validate_claims(copy.deepcopy(CLAIMS), long, REPORTED))
    assert [length for _, _, length in rows["x_recurrent_state_below_transformer"]] == [128, 256, 512, 1024, 2048]
    capped = copy.deepcopy(CLAIMS)
    capped["extension"][0]["claims"][1]["max_seq_len"] = 512  # the claim speaks of no longer T
    rows = extension_rows(validate_claims(capped, long, REPORTED))
    assert [length for _, _, length in rows["x_sparse_pointer_keeps_95"]] == [128, 256, 512]


def extension_claim(claims: dict, claim_id: str) -> dict:
    return next(c for c in claims["extension"][0]["claims"] if c["id"] == claim_id)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["extension"][0].update(task="recall_far"), "'extension.0.task': 'recall_far' is not a known task; valid: lm, "),
    (lambda c: extension_claim(c, "x_recurrent_state_below_transformer")["than"].append({"variant": "unimatrix_discovery"}),
     "'extension.0.claims.0.than.3.variant': 'unimatrix_discovery' has no runs in experiment recall_distance_128 of result set "
     "local; valid: mamba2, sparse_pointer, transformer, unimatrix_assoc, unimatrix_core, unimatrix_rosa"),
    (lambda c: extension_claim(c, "x_sparse_pointer_keeps_95").update(kind="within", tolerance=3),
     "'extension.0.claims.1.kind': 'within' is not one of ['range', 'less_than', 'greater_than']"),
    (lambda c: extension_claim(c, "x_sparse_pointer_keeps_95").update(paper="T4/x/accuracy_pct"),
     "'extension.0.claims.1': 'paper' is not one of ['id', 'text', 'kind', 'metric', 'variant', 'band', 'max_seq_len']"),
])
def test_a_bad_extension_claim_names_its_key(paper_config, edit, message):
    assert message in refusal(edit, paper_config)


def test_a_model_the_committed_set_did_not_run_is_refused_naming_the_set(paper_config):
    config = copy.deepcopy(paper_config)
    config["experiments"]["recall_distance_128"]["variants"].append("unimatrix_discovery")
    config["experiments"]["recall_distance_256"]["variants"].append("unimatrix_discovery")
    claims = copy.deepcopy(CLAIMS)
    extension_claim(claims, "x_recurrent_state_below_transformer")["than"].append({"variant": "unimatrix_discovery"})
    with pytest.raises(ConfigError, match="'unimatrix_discovery' has no runs in experiment recall_distance_128 of result set "
                                          "recall_distance_h100; valid: mamba2, "):
        validate_claims(claims, config, REPORTED)


def test_the_first_page_gets_each_extension_claim_with_its_rows(paper_config):
    sections = validate_answer(CLAIMS, validate_claims(copy.deepcopy(CLAIMS), paper_config, REPORTED))
    (block,) = sections["extension"]
    assert block["name"] == "Recall over distance"
    assert [stated["text"] for stated in block["claims"]] == [c["text"] for c in CLAIMS["extension"][0]["claims"]]
    assert block["claims"][1]["rows"][-1] == {"id": "x_sparse_pointer_keeps_95_t2048_recall_distance_h100", "seq_len": 2048,
                                              "result_set": "recall_distance_h100"}
