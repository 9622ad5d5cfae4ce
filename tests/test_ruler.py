"""RULER-core (spec §5.4): the four generators' layout and references, the budget fitter, the
scorer, greedy generation and decoding, on hand-made inputs with known answers."""
import json
import re
from collections import Counter

import pandas as pd
import pytest
import torch

from repro.config import parse_run
from repro.data.wikitext import BOS_ID, EOS_ID, PAD_ID, VOCAB_SIZE
from repro.report import ruler_table
from repro.ruler import aggregate
from repro.ruler.budget import effective_budget, fit_units
from repro.ruler.generate import greedy
from repro.ruler.run import run_task
from repro.ruler.score import empty_predictions, string_match_all
from repro.ruler.tasks import NOISE, TASKS, WORD_BANK, cwe, fwe, niah_single_1, vt, zipf_counts
from repro.ruler.tokens import decode, encode, token_count

from conftest import REPO

SEED = 17000


# The generators

def test_the_word_bank_holds_sixty_distinct_lowercase_words():
    assert len(set(WORD_BANK)) == 60 and all(re.fullmatch(r"[a-z]+", word) for word in WORD_BANK)
    assert len(re.findall(r"[^.]+\.", NOISE)) == 5


@pytest.mark.parametrize("task", TASKS.values(), ids=TASKS.keys())
def test_a_prompt_is_the_template_then_the_answer_prefix_and_depends_on_seed_and_n_only(task):
    sample = task.build(SEED, 6)
    assert sample.prompt.startswith(sample.instruction) and sample.prompt.endswith(sample.question + "\n" + sample.answer_prefix)
    assert sample.context in sample.prompt
    assert task.build(SEED, 6) == sample  # nothing carried over from an earlier build (D18's shared generator)
    assert task.build(SEED, 7).references == sample.references  # the content does not move with n
    assert task.build(SEED + 1, 6).references != sample.references


@pytest.mark.parametrize("n", [1, 4, 7])
def test_niah_puts_the_needle_at_line_n_over_2_among_noise(n):
    sample = niah_single_1(SEED, n)
    lines = sample.context.split("\n")
    (value,) = sample.references
    assert len(lines) == n + 1 and re.fullmatch(r"\d{7}", value)
    assert value in lines[n // 2] and all(line == NOISE for i, line in enumerate(lines) if i != n // 2)
    key = re.search(r"for (\S+) is", lines[n // 2]).group(1)
    first, second = key.split("-")
    assert first in WORD_BANK and second in WORD_BANK and first != second
    assert key in sample.question and key in sample.answer_prefix and value not in sample.question + sample.answer_prefix


def _assignments(context: str) -> list:
    """(line index, variable, source) of each statement."""
    return [(i, *re.fullmatch(r"Let (\w+) be (\w+)\.", line).groups())
            for i, line in enumerate(context.split("\n")) if line.startswith("Let ")]


@pytest.mark.parametrize("n", [2, 5, 30])
def test_vt_places_a_chain_of_five_in_order_among_n_noise_lines(n):
    sample = vt(SEED, n)
    lines = sample.context.split("\n")
    statements = _assignments(sample.context)
    names = [name for _, name, _ in statements]
    value = statements[0][2]
    assert tuple(names) == sample.references and len(set(names)) == 5
    assert all(re.fullmatch(r"[A-Z]{5}", name) for name in names) and re.fullmatch(r"\d{5}", value)
    assert [source for _, _, source in statements[1:]] == names[:-1]  # each assigns the previous variable
    assert len(lines) == n + 5 and lines.count(NOISE) == n
    assert all(index < max(n, 5) for index, _, _ in statements)
    assert value in sample.question and "5 variables" in sample.answer_prefix


def test_vt_with_fewer_lines_than_statements_opens_with_the_whole_chain():
    lines = vt(SEED, 2).context.split("\n")
    assert [i for i, _, _ in _assignments(vt(SEED, 2).context)] == [0, 1, 2, 3, 4] and lines[5:] == [NOISE, NOISE]


@pytest.mark.parametrize("n, uncommon", [(1, 5), (12, 12), (99, 40)])
def test_cwe_lists_ten_words_eight_times_and_max_5_n_uncommon_words_once(n, uncommon):
    sample = cwe(SEED, n)
    entries = re.findall(r"(\d+)\. (\S+)", sample.context)
    assert [int(number) for number, _ in entries] == list(range(1, len(entries) + 1))
    counts = Counter(word for _, word in entries)
    assert len(sample.references) == 10 and all(counts[word] == 8 for word in sample.references)
    rare = [word for word in counts if word not in sample.references]
    assert all(counts[word] == 1 for word in rare) and len(rare) == uncommon
    assert sorted(int(word.split("_")[1]) for word in rare) == list(range(uncommon))  # the first max(5, n)
    assert all(word.split("_")[0] in WORD_BANK for word in rare)


def test_zipf_counts_by_hand():
    # Z = sum of 1/k² for k = 1..33 = 1.61508...; 100/Z = 61.9, 25/Z = 15.5, 11.1/Z = 6.9, 6.25/Z = 3.9
    assert zipf_counts(100, 33)[:4] == [61, 15, 6, 3]
    assert zipf_counts(1, 33) == [1] * 33


def test_fwe_word_of_each_rank_occurs_as_zipf_says_and_ranks_1_to_3_are_the_answer():
    sample = fwe(SEED, 100)
    counts = Counter(sample.context.split(" "))
    first, second, third = sample.references
    assert (counts["..."], counts[first], counts[second], counts[third]) == (61, 15, 6, 3)
    coded = [word for word in counts if word != "..."]
    assert len(coded) == 32 and all(re.fullmatch(r"[a-z]{6}", word) for word in coded)
    assert sum(counts.values()) == sum(zipf_counts(100, 33))


# The budget

def test_the_fitter_finds_the_largest_n_within_the_budget():
    asked = []

    def cost(n):
        asked.append(n)
        return 100 + 10 * n

    assert fit_units(cost, 300) == 20 and asked[:2] == [1, 300]  # doubling starts at max(8, budget)
    assert fit_units(cost, 1000) == 90
    assert fit_units(lambda n: n, 4) == 4  # starts from 8 when the budget is smaller
    assert fit_units(lambda n: n, 5000) == 5000  # found by doubling, then bisection


def test_the_fitter_falls_back_to_one_when_nothing_fits():
    assert fit_units(lambda n: 500 + n, 128) == 1


def test_the_fitter_stops_where_a_larger_n_adds_nothing():
    assert fit_units(lambda n: 100 + min(n, 40), 10_000, most=40) == 40
    assert fit_units(lambda n: 100 + 10 * min(n, 40), 250, most=40) == 15


def test_the_budget_is_capped_by_the_window():
    assert (effective_budget(128, 128), effective_budget(1024, 128), effective_budget(64, 128)) == (128, 128, 64)


@pytest.mark.parametrize("name", TASKS)
def test_at_128_bytes_every_prompt_alone_exceeds_the_budget(name):
    """D18, as the paper's smoke tests met it: n falls back to 1 and still does not fit."""
    task = TASKS[name]
    n = fit_units(lambda n: token_count(task.build(SEED, n).prompt) + task.max_new, 128, task.most_units)
    assert n == 1 and token_count(task.build(SEED, n).prompt) > 128


# Tokens and scoring

def test_tokens_are_utf8_bytes_after_bos_and_decoding_keeps_bytes_only():
    assert encode("hé") == [BOS_ID, 104, 195, 169] and token_count("hé") == 4
    assert decode([72, PAD_ID, 105, EOS_ID, 300]) == "Hi"
    assert decode(list(b"\n a\tb\x07c \n")) == "a b c"  # non-printable -> space, stripped


def test_string_match_all_by_hand():
    references = [["1234567"], ["alpha", "beta"], ["x", "y", "z"]]
    assert string_match_all(["It is 1234567.", "ALPHA only", "nothing"], references) == 50.0  # (1 + 1/2 + 0) / 3
    assert string_match_all(["", "", "x"], references) == 11.11  # (0 + 0 + 1/3) / 3, rounded
    with pytest.raises(ValueError, match="2 predictions for 3 reference lists"):
        string_match_all(["a", "b"], references)


def test_substring_scoring_is_fooled_by_an_uncommon_word_holding_a_common_one():
    """D18: `word_3` is not `word`, yet scores as if it were."""
    assert string_match_all(["word_3"], [["word"]]) == 100.0


def test_empty_predictions_are_counted():
    assert empty_predictions(["", "a", "", " x"]) == 2


# Generation

class ScriptedModel(torch.nn.Module):
    """Emits script[k] at the k-th call, and records every context it is given."""

    def __init__(self, script):
        super().__init__()
        self.script, self.contexts = list(script), []

    def forward(self, idx):
        self.contexts.append(idx[0].tolist())
        logits = torch.zeros(1, idx.size(1), VOCAB_SIZE)
        logits[0, -1, self.script[len(self.contexts) - 1]] = 1.0
        return logits


@pytest.mark.parametrize("stop", [EOS_ID, BOS_ID, PAD_ID])
def test_generation_stops_at_a_special_id(stop):
    model = ScriptedModel([65, 66, stop, 67])
    assert greedy(model, [BOS_ID, 1, 2], max_new=10, window=8, device=torch.device("cpu")) == [65, 66]
    assert len(model.contexts) == 3


def test_generation_stops_after_max_new_tokens():
    assert greedy(ScriptedModel([65] * 10), [BOS_ID], max_new=3, window=8, device=torch.device("cpu")) == [65, 65, 65]


def test_each_step_reads_only_the_last_window_tokens():
    model = ScriptedModel([65, 66, 67])
    greedy(model, list(range(10)), max_new=3, window=4, device=torch.device("cpu"))
    assert model.contexts == [[6, 7, 8, 9], [7, 8, 9, 65], [8, 9, 65, 66]]


def test_a_model_that_stops_at_once_scores_zero_with_every_prediction_empty():
    result = run_task(ScriptedModel([EOS_ID] * 3), TASKS["vt"], samples=3, seed=17, budget=128, window=128,
                      device=torch.device("cpu"))
    assert (result["score"], result["empty_predictions"], result["units"]) == (0.0, 3, [1, 1, 1])
    assert (result["prompts_over_budget"], result["prompts_over_window"]) == (3, 3) and result["predictions"] == ["", "", ""]
    assert result["references"][0] == list(vt(17000, 1).references)


def test_a_prompt_that_overflows_the_budget_but_not_the_window_is_counted_as_such():
    """vt at n = 1 is 505 tokens: with its 24-token answer over a 512 budget, within a 1024 window."""
    result = run_task(ScriptedModel([EOS_ID]), TASKS["vt"], samples=1, seed=17, budget=512, window=1024, device=torch.device("cpu"))
    assert result["prompt_tokens"] == [token_count(vt(17000, 1).prompt)] == [505] and result["units"] == [1]
    assert (result["prompts_over_budget"], result["prompts_over_window"]) == (1, 0)


# The command, the table, the report's table

def test_a_run_name_is_parsed_and_a_bad_one_refused():
    assert parse_run("lm/transformer/faithful/seed7").seed == 7
    with pytest.raises(Exception, match="expected experiment/variant/mode/seedN"):
        parse_run("lm/transformer/seed7")


def _result(variant, mode, seed, score, over, experiment="lm", budget=128, empty=1, over_window=None):
    """A run's repro.ruler.run result with two tasks of two samples each, `over` of each task's over the
    budget and `over_window` (default: as many) over the window."""
    return {"experiment": experiment, "variant": variant, "mode": mode, "seed": seed, "requested_budget": budget,
            "budget": budget, "window": 128 if experiment == "lm" else 1024, "samples": 2, "ruler_seed": 17,
            "tasks": {task: {"score": score, "empty_predictions": empty, "units": [1, 1], "prompt_tokens": [500, 520],
                             "prompts_over_budget": over, "prompts_over_window": over if over_window is None else over_window}
                      for task in ("vt", "niah_single_1")}}


def _frame(*results) -> pd.DataFrame:
    return pd.DataFrame([row for result in results for row in aggregate.rows(result)])


def _spec(*blocks, labels=None) -> dict:
    return {"caption": "RULER-core, from the config.", "label": "tab:ruler", "labels": labels or {},
            "blocks": [{"experiment": experiment, "budget": budget} for experiment, budget in blocks]}


def test_the_table_averages_seeds_and_says_when_every_prompt_overran():
    frame = _frame(_result("transformer", "faithful", 7, 0.0, 2), _result("transformer", "faithful", 8, 50.0, 2))
    assert len(frame) == 4 and set(frame["units_max"]) == {1} and set(frame["prompt_tokens_min"]) == {500}
    context = ruler_table.table_context(frame, _spec(("lm", 128), labels={"transformer": "Transformer"}))
    (block,) = context["blocks"]
    (row,) = block["rows"]
    assert context["tasks"] == ["niah_single_1", "vt"] and context["caption"] == "RULER-core, from the config."
    assert row["cells"] == [{"score": "25.00", "empty": 2}, {"score": "25.00", "empty": 2}]  # per task: mean score, empties of both seeds
    assert (row["label"], row["prompts"], row["over_budget"], row["over_window"], row["largest_n"], row["seeds"]) == (
        "Transformer", 8, 8, 8, 1, 2)
    assert block["title"] == ("\\texttt{lm}, budget 128 (window 128), 2 samples per task: every prompt overflows the window, "
                              "so the scores are degenerate (D18)")


def test_a_model_with_faithful_runs_only_beside_two_mode_models_stands_for_both():
    frame = _frame(_result("transformer", "faithful", 7, 0.0, 2), _result("unimatrix_core", "faithful", 7, 0.0, 2),
                   _result("unimatrix_core", "corrected", 7, 10.0, 2))
    (block,) = ruler_table.table_context(frame, _spec(("lm", 128)))["blocks"]
    assert [(row["label"], row["mode"]) for row in block["rows"]] == [
        ("transformer", "both"), ("unimatrix_core", "faithful"), ("unimatrix_core", "corrected")]


def test_one_block_per_experiment_and_budget_in_the_specs_order_each_with_its_own_counts():
    frame = _frame(_result("transformer", "faithful", 7, 0.0, 2, empty=2),
                   _result("transformer", "faithful", 7, 12.5, 0, experiment="lm_1024", budget=1024, empty=0),
                   _result("transformer", "faithful", 7, 37.5, 2, experiment="lm_1024", budget=512, empty=1, over_window=0),
                   _result("transformer", "faithful", 7, 50.0, 1, experiment="lm_1024", budget=256, empty=0))
    context = ruler_table.table_context(frame, _spec(("lm", 128), ("lm_1024", 512), ("lm_1024", 1024), ("lm_1024", 256)))
    titles = [block["title"] for block in context["blocks"]]
    assert [title.split(":")[0] for title in titles] == [
        "\\texttt{lm}, budget 128 (window 128), 2 samples per task",
        "\\texttt{lm\\_1024}, budget 512 (window 1024), 2 samples per task",
        "\\texttt{lm\\_1024}, budget 1024 (window 1024), 2 samples per task",
        "\\texttt{lm\\_1024}, budget 256 (window 1024), 2 samples per task"]
    assert titles[1].endswith("every prompt fits the window; 4 of 4 overflow the budget")
    assert titles[2].endswith("every prompt fits the budget")
    assert titles[3].endswith("2 of 4 prompts overflow the window (D18)")
    assert [block["rows"][0]["cells"][0] for block in context["blocks"]] == [
        {"score": "0.00", "empty": 2}, {"score": "37.50", "empty": 1}, {"score": "12.50", "empty": 0}, {"score": "50.00", "empty": 0}]


def test_a_block_without_results_or_with_other_tasks_is_refused():
    frame = _frame(_result("transformer", "faithful", 7, 0.0, 1))
    with pytest.raises(ValueError, match="no RULER-core results of lm at budget 1024"):
        ruler_table.table_context(frame, _spec(("lm", 1024)))
    with pytest.raises(ValueError, match="no RULER-core results of lm_1024 at budget 128"):
        ruler_table.table_context(frame, _spec(("lm", 128), ("lm_1024", 128)))
    fewer = frame[(frame["task"] == "vt")].assign(experiment="lm_1024")
    with pytest.raises(ValueError, match=r"lm_1024 at budget 128 hold the tasks \['vt'\], the first block's \['niah_single_1', 'vt'\]"):
        ruler_table.table_context(pd.concat([frame, fewer]), _spec(("lm", 128), ("lm_1024", 128)))


def test_the_table_renders_every_block_under_the_configs_caption(tmp_path):
    ruler = tmp_path / "ruler.csv"
    _frame(_result("unimatrix_core", "corrected", 7, 0.0, 2),
           _result("unimatrix_core", "corrected", 7, 50.0, 0, experiment="lm_1024", budget=1024)).to_csv(ruler, index=False)
    out = tmp_path / "ruler.tex"
    ruler_table.main(["--ruler", str(ruler), "--spec", json.dumps(_spec(("lm", 128), ("lm_1024", 1024), labels={"unimatrix_core": "UniMatrix-Core"})),
                      "--template", str(REPO / "paper" / "templates" / "ruler_table.tex.j2"), "--out", str(out)])
    tex = out.read_text()
    assert "\\caption{RULER-core, from the config.}" in tex and "\\label{tab:ruler}" in tex
    assert tex.count("\\multicolumn{8}{@{}l}") == 2 and tex.index("budget 128") < tex.index("budget 1024")
    assert "UniMatrix-Core & corrected & 0.00 (1) & 0.00 (1) & 1 & 4/4 & 4/4 & 1 \\\\" in tex
    assert "UniMatrix-Core & corrected & 50.00 (1) & 50.00 (1) & 1 & 0/4 & 0/4 & 1 \\\\" in tex
