import copy

import pytest

from repro import config as config_module
from repro.config import (MEASURED_DIR, ConfigError, Run, benchmark_jobs, benchmark_settings, benchmark_variant_settings, load,
                          ruler_jobs, ruler_table_spec, ruler_window, runs, train_settings, trained_by, validate)

from conftest import REPO


def broken(config, edit):
    config = copy.deepcopy(config)
    edit(config)
    return config


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["experiments"]["lm"]["variants"].append("unimatrix_cor"),
     "experiments.lm.variants.4': 'unimatrix_cor' is not a known variant; valid: mamba2, "),
    (lambda c: c["report"]["tables"]["table1_lm"]["groups"][0].update(experiment="lm_pilot"),
     "report.tables.table1_lm.groups.0.experiment': 'lm_pilot' is not a known experiment; valid: generic_latent, "),
    (lambda c: c["report"]["tables"]["table2_generic_latent"]["groups"][0]["metric_experiments"].update(accuracy_pct="recal"),
     "report.tables.table2_generic_latent.groups.0.metric_experiments.accuracy_pct': 'recal' is not a known experiment"),
    (lambda c: c["report"]["tables"]["table4_retrieval"]["groups"][0]["variants"].append("unimatrix_assoc"),
     "report.tables.table4_retrieval.groups.0.variants.2': 'unimatrix_assoc' is not a known variant of this experiment"),
    (lambda c: c["experiments"]["lm"].update(recipe="R-XX"),
     "experiments.lm.recipe': 'R-XX' is not a known recipe; valid: R-ABL, R-AR, R-AR0, R-ARD, R-ARD-256, R-LM, R-LM-64, R-LM-T120, R-LM-T200, R-MEM-AR, R-MEM-SN, R-TRI"),
    (lambda c: c["experiments"]["lm"]["overrides"].update(sparse_pointer={"lr": 1e-3}),
     "experiments.lm.overrides.sparse_pointer'"),
    (lambda c: c["recipes"]["R-LM"].update(steps=0), "recipes.R-LM.steps': 0 is less than the minimum of 1"),
    (lambda c: c["recipes"]["R-LM"].update(task="lm2"), "recipes.R-LM.task': 'lm2' is not one of ['lm', 'recall', 'recall_distance', 'signal_noise', 'triple']"),
    (lambda c: c["recipes"]["R-AR"].update(steps=-5), "recipes.R-AR.steps': -5 is less than the minimum of 1"),
    (lambda c: c["recipes"]["R-LM"].update(seeds=[]), "recipes.R-LM.seeds': [] should be non-empty"),
    (lambda c: c["recipes"]["R-LM"].update(lr="3e-4"), "recipes.R-LM.lr': '3e-4' is not of type 'number'"),
    (lambda c: c["recipes"]["R-AR"].update(batch_size=3.5), "recipes.R-AR.batch_size': 3.5 is not of type 'integer'"),
    (lambda c: c.update(device="tpu"), "device': 'tpu' is not one of ['auto', 'cpu', 'cuda', 'mps']"),
    (lambda c: c.update(wikitext_require_official="maybe"), "wikitext_require_official': 'maybe' is not of type 'boolean'"),
    (lambda c: c["variants"]["sparse_pointer"].update(slotz=16),
     "variants.sparse_pointer': 'slotz' is not one of ['label', 'paper_name', 'family', 'd_model', 'depth'"),
    (lambda c: c["variants"]["transformer"].update(slots=16),
     "variants.transformer': 'slots' is not one of ['label', 'paper_name', 'family', 'd_model', 'n_layers', 'n_heads']"),
    (lambda c: c["variants"]["mamba2"].pop("d_state"), "variants.mamba2': 'd_state' is a required property"),
    (lambda c: c.update(wikitext_dir="/no/such/dir"),
     "wikitext_dir': '/no/such/dir' (/no/such/dir) has no wiki.valid.raw or wiki.train.raw; valid: a directory holding"),
    (lambda c: c["recipes"]["R-LM"]["eval"].update(compare_batches=100), "recipes.R-LM.eval.compare_batches': 100"),
    (lambda c: c["recipes"]["R-AR"].update(seq_len=12), "recipes.R-AR.seq_len': 12 cannot hold 4 pairs; valid: at least 16"),
    (lambda c: c["recipes"]["R-ABL"]["eval"]["sets"][2].update(pairs=7) or c["recipes"]["R-ABL"].update(seq_len=22),
     "recipes.R-ABL.seq_len': 22 cannot hold 7 pairs; valid: at least 25"),
    (lambda c: c["experiments"]["recall"]["overrides"].update(transformer={"seq_len": 15}),
     "experiments.recall.overrides.transformer.seq_len': 15 cannot hold 4 pairs; valid: at least 16"),
    (lambda c: c["recipes"]["R-MEM-SN"].update(seq_len=65), "recipes.R-MEM-SN.seq_len': 65; valid: seq_len = 4 + 3W with W ≥ 5 writes"),
    (lambda c: c["recipes"]["R-TRI"].update(seq_len=30), "recipes.R-TRI.seq_len': 30 is too short for the copy stage; valid: at least 31"),
    (lambda c: c["recipes"]["R-ABL"].update(seeds=[19, 26]),
     "recipes.R-ABL.seeds': [26] seed both training streams and evaluation sets; valid: training seeds not in [24, 26, 28]"),
    (lambda c: c["recipes"]["R-MEM-SN"].update(seeds=[20]), "recipes.R-MEM-SN.seeds': [20] seed both training streams"),
    (lambda c: c["recipes"]["R-TRI"].update(seeds=[23, 19023]),  # its stage-1 data is seed 23's evaluation (23 + 20000)
     "recipes.R-TRI.seeds': [20023] seed both training streams and evaluation sets"),
    (lambda c: c["experiments"]["recall"].update(modes=["causal"]), "experiments.recall.modes.0': 'causal' is not one of ['faithful', 'corrected']"),
    (lambda c: c["benchmark"]["variants"].append("unimatrix_cor"),
     "benchmark.variants.20': 'unimatrix_cor' is not a known variant; valid: mamba2, "),
    (lambda c: c["benchmark"]["variants"].append("typed_latent"),
     "benchmark.variants.20': 'typed_latent' has no sequence-length axis; valid: mamba2, "),
    (lambda c: c["benchmark"].update(baseline="softmax_attention_2l"),
     "benchmark.baseline': 'softmax_attention_2l' is not a known benchmark variant; valid: mamba2, "),
    (lambda c: c["benchmark"].update(baseline="unimatrix_core", forms=["reference"]),
     "benchmark.baseline': the ratios are to the fast form of 'unimatrix_core', which benchmark.forms ['reference'] leaves out"),
    (lambda c: c["benchmark"]["paper_lengths"].__setitem__(1, 0), "benchmark.paper_lengths.1': 0 is less than the minimum of 1"),
    (lambda c: c["benchmark"]["paper_lengths"].append(64.5), "benchmark.paper_lengths.4': 64.5 is not of type 'integer'"),
    (lambda c: c["benchmark"].update(extended_lengths=[256, 1024]),
     "benchmark.extended_lengths.0': 256 is not longer than the longest paper length 512"),
    (lambda c: c["benchmark"]["extended_variants"].append("unimatrix_discovery_x"),
     "benchmark.extended_variants.9': 'unimatrix_discovery_x' is not a known benchmark variant; valid: "),
    (lambda c: c["benchmark"].update(forms=["loop"]), "benchmark.forms.0': 'loop' is not one of ['reference', 'fast']"),
    (lambda c: c["benchmark"]["train_step"].update(repeats=0), "benchmark.train_step.repeats': 0 is less than the minimum of 1"),
    (lambda c: c["benchmark"].update(result_sets=["no-such-device"]),
     "benchmark.result_sets.0': 'no-such-device' has no benchmarks/measured/no-such-device/throughput.csv and train_step.csv"),
    (lambda c: c["ruler"]["experiments"].update(recall={"budgets": [128], "samples": 8}),
     "ruler.experiments.recall': 'recall' is not an experiment whose task is lm; valid: generic_latent, lm, related_systems, rffn_pilot80, "),
    (lambda c: c["ruler"]["experiments"].update(lm_1024={"budgets": [1024], "samples": 32}),
     "ruler.experiments.lm_1024': 'lm_1024' is not an experiment whose task is lm; valid: generic_latent, lm, "),
    (lambda c: c["ruler"]["experiments"]["lm"].update(budgets=[128, 0]), "ruler.experiments.lm.budgets.1': 0 is less than the minimum of 1"),
    (lambda c: c["ruler"]["experiments"]["lm"].update(samples=0), "ruler.experiments.lm.samples': 0 is less than the minimum of 1"),
    (lambda c: c["ruler"]["experiments"]["lm"].pop("samples"), "ruler.experiments.lm': 'samples' is a required property"),
    (lambda c: c["ruler"]["experiments"].clear(), "ruler.experiments': {} should be non-empty"),
    (lambda c: c["ruler"].update(experiment="lm"), "ruler': Additional properties are not allowed ('experiment' was unexpected)"),
    (lambda c: c["ruler"]["experiments"]["lm"].update(budgets=[128, 1024]),
     "ruler.experiments.lm.budgets.1': 1024 exceeds the 128-token window that the models of lm are trained on (seq_len); "
     "valid: budgets of at most 128"),
    (lambda c: c["experiments"]["lm"]["overrides"].update(transformer={"seq_len": 96}),  # one variant's shorter window bounds all
     "ruler.experiments.lm.budgets.0': 128 exceeds the 96-token window that the models of lm are trained on"),
    (lambda c: c["ruler"].update(result_sets=["h100"]), "ruler.result_sets.0': 'h100' has no benchmarks/measured/h100/ruler.csv; "
     "valid: ruler_h200"),
    (lambda c: c["ruler"].update(result_sets=["ruler_h200", "ruler_h200"]), "ruler.result_sets': ['ruler_h200', 'ruler_h200'] has non-unique elements"),
    (lambda c: c["report"].pop("ruler"), "report': 'ruler' is a required property"),
    (lambda c: c["depth_diagnostics"]["experiments"].append("recall"),
     "depth_diagnostics.experiments.2': 'recall' is not an experiment whose task is lm; valid: generic_latent, lm, "),
    (lambda c: c["depth_diagnostics"].update(windows=0), "depth_diagnostics.windows': 0 is less than the minimum of 1"),
])
def test_bad_config_names_the_key_and_the_valid_values(paper_config, edit, message):
    with pytest.raises(ConfigError) as error:
        validate(broken(paper_config, edit))
    assert message in str(error.value)
    if ", " in message.partition("valid: ")[2]:  # the whole list of valid values is named
        listed = str(error.value).split("valid: ")[1].split(", ")
        assert len(listed) > 1 and all(name.strip() for name in listed)


@pytest.mark.parametrize("typed, read", [("false", False), ("False", False), ("no", False), ("off", False),
                                         ("true", True), ("TRUE", True), ("yes", True), ("on", True)])
def test_a_boolean_setting_typed_as_a_word_is_that_boolean(paper_config, typed, read):
    """What `snakemake --config wikitext_require_official=false` passes (the string "false")."""
    config = broken(paper_config, lambda c: c.update(wikitext_require_official=typed, flush_denormals=typed))
    validate(config)
    assert config["wikitext_require_official"] is read and config["flush_denormals"] is read


def test_runs_that_train_the_same_are_trained_once(paper_config):
    table = trained_by(paper_config)
    shared = {run: by for run, by in table.items() if by != run}
    # rffn_pilot80 trains lm's Transformer (same recipe but for the evaluation); Table 5's 32 slots with
    # pointer logits and write gate is Table 4's no-dropout SparsePointer under another name;
    assert shared == {
        **{Run("rffn_pilot80", "transformer", "faithful", seed): Run("lm", "transformer", "faithful", seed)
           for seed in paper_config["recipes"]["R-LM-64"]["seeds"]},
        **{Run("sparse_pointer_ablation", "sparse_pointer_slots32", "faithful", seed): Run("retrieval", "sparse_pointer", "faithful", seed)
           for seed in paper_config["recipes"]["R-ABL"]["seeds"]},
        # the related systems' Transformer and UniMatrix-Core are Tables 1 and 3's
        **{Run(related, variant, mode, seed): Run(paper, variant, mode, seed)
           for related, paper, recipe in [("related_systems", "lm", "R-LM"), ("related_systems_recall", "recall", "R-AR")]
           for variant, modes in [("transformer", ["faithful"]), ("unimatrix_core", ["faithful", "corrected"])]
           for mode in modes for seed in paper_config["recipes"][recipe]["seeds"]},
    }
    for run, by in shared.items():
        differing = {k for k, v in train_settings(paper_config, run).as_dict().items() if train_settings(paper_config, by).as_dict()[k] != v}
        assert differing == {"run", "experiment"} | ({"variant"} if run.variant != by.variant else set())


def test_a_setting_of_one_experiment_parts_its_run_from_the_other(paper_config):
    config = broken(paper_config, lambda c: c["experiments"]["rffn_pilot80"]["overrides"].update(transformer={"lr": 1e-3}))
    validate(config)
    assert all(by == run for run, by in trained_by(config).items() if run.experiment == "rffn_pilot80")


def test_a_directory_without_the_training_split_names_the_test_split_option(paper_config, real_wikitext_dir, tmp_path):
    (tmp_path / "wiki.valid.raw").symlink_to(real_wikitext_dir / "wiki.valid.raw")
    with pytest.raises(ConfigError, match="has no wiki.train.raw; .* --config wikitext_train_split=test"):
        validate(broken(paper_config, lambda c: c.update(wikitext_dir=str(tmp_path))))
    (tmp_path / "wiki.test.raw").symlink_to(real_wikitext_dir / "wiki.test.raw")
    validate(broken(paper_config, lambda c: c.update(wikitext_dir=str(tmp_path), wikitext_train_split="test")))


def test_a_file_other_than_the_official_is_refused_unless_allowed(paper_config, real_wikitext_dir, tmp_path):
    (tmp_path / "wiki.valid.raw").symlink_to(real_wikitext_dir / "wiki.valid.raw")
    (tmp_path / "wiki.test.raw").write_bytes((real_wikitext_dir / "wiki.test.raw").read_bytes() + b" one more line\n")
    local = {"wikitext_dir": str(tmp_path), "wikitext_train_split": "test"}
    with pytest.raises(ConfigError, match=f"{tmp_path / 'wiki.test.raw'} has git blob [0-9a-f]{{40}}, not the official "
                                          "d9d791581935032220e10e28a04cfbd6460b72f5; valid: .*wikitext_require_official=false"):
        validate(broken(paper_config, lambda c: c.update(local)))
    validate(broken(paper_config, lambda c: c.update(local, wikitext_require_official=False)))


def test_an_lm_evaluation_larger_than_the_validation_data_is_refused(paper_config, real_wikitext_dir):
    local = {"wikitext_dir": str(real_wikitext_dir), "wikitext_train_split": "test"}
    validate(broken(paper_config, lambda c: c.update(local)))
    with pytest.raises(ConfigError, match=r"recipes.R-LM.eval.batches': 128 batches of 16 need 2048 chunks of 4096 tokens; "
                                          r"the validation stream has \d+ ; valid: at most \d+ batches".replace(" ;", ";")):
        validate(broken(paper_config, lambda c: c.update(local) or c["recipes"]["R-LM"].update(seq_len=4096)))


def test_defaults_are_filled():
    config = load(REPO / "config" / "config.yaml")
    del config["device"], config["recipes"]["R-LM"]["clip_norm"]
    validate(config)
    assert config["device"] == "auto" and config["recipes"]["R-LM"]["clip_norm"] == 1.0


def test_run_table_of_the_paper(paper_config):
    table = runs(paper_config)
    count = {name: sum(run.experiment == name for run in table) for name in paper_config["experiments"]}
    n = {recipe: len(spec["seeds"]) for recipe, spec in paper_config["recipes"].items()}
    # seeds x (Transformer once + each other variant in each mode of the experiment)
    assert count == {"lm": n["R-LM"] * (1 + 3 * 2), "recall": n["R-AR"] * (1 + 4 * 2), "retrieval": n["R-AR0"] * (1 + 2 * 2),
                     "sparse_pointer_ablation": n["R-ABL"] * 9, "triple": n["R-TRI"] * 3 * 2,
                     "generic_latent": n["R-LM"] * (4 * 1 + 2 * 2), "generic_latent_recall": n["R-AR"] * (2 * 1 + 1 * 2),
                     "rffn_pilot80": n["R-LM-64"] * 2, "rffn_tuned120": n["R-LM-T120"] * 5, "rffn_tuned200": n["R-LM-T200"] * 2,
                     "memory_pilot_recall": n["R-MEM-AR"] * 3, "memory_pilot_signal_noise": n["R-MEM-SN"] * 3,
                     "recall_distance_128": n["R-ARD"] * (2 * 1 + 4 * 2), "recall_distance_256": n["R-ARD-256"] * (2 * 1 + 4 * 2),
                     "related_systems": n["R-LM"] * (7 * 1 + 2 * 2), "related_systems_recall": n["R-AR"] * (7 * 1 + 2 * 2)}
    assert {run.mode for run in table if run.variant == "transformer"} == {"faithful"}
    assert {run.mode for run in table if run.experiment == "sparse_pointer_ablation"} == {"faithful"}


def test_override_changes_only_that_variants_settings(paper_config):
    edited = broken(paper_config, lambda c: c["experiments"]["lm"]["overrides"].update(unimatrix_core={"lr": 1e-3}))
    changed = {run.name for run in runs(paper_config) if train_settings(paper_config, run) != train_settings(edited, run)}
    assert changed == {run.name for run in runs(paper_config) if run.experiment == "lm" and run.variant == "unimatrix_core"}


def test_benchmark_times_each_recurrence_form_and_a_model_without_one_once(paper_config):
    jobs = benchmark_jobs(paper_config)
    assert jobs[:3] == [("transformer", "fast"), ("unimatrix_core", "reference"), ("unimatrix_core", "fast")]
    # twelve recurrent models in both forms; the three Transformers and the five Universal Transformers once
    assert len(jobs) == 2 * 12 + 3 + 5
    assert ("transformer_triple", "fast") in jobs and ("transformer_triple", "reference") not in jobs
    with pytest.raises(ValueError, match="no benchmark job transformer/reference; valid: transformer/fast, "):
        benchmark_settings(paper_config, "throughput", "transformer", "reference")


def test_a_timing_job_holds_every_measurement_of_one_variant(paper_config):
    settings = benchmark_variant_settings(paper_config, "unimatrix_core")
    assert [(s["form"], s["measurement"]) for s in settings] == [
        ("reference", "throughput"), ("reference", "train_step"), ("fast", "throughput"), ("fast", "train_step")]
    assert settings[2] == benchmark_settings(paper_config, "throughput", "unimatrix_core", "fast")
    assert [s["form"] for s in benchmark_variant_settings(paper_config, "transformer")] == ["fast", "fast"]
    with pytest.raises(ValueError, match="'typed_latent' is not timed; valid: transformer, unimatrix_core, "):
        benchmark_variant_settings(paper_config, "typed_latent")


def test_benchmark_sweeps_follow_the_paper_and_extend_only_the_fast_forms(paper_config):
    reference = benchmark_settings(paper_config, "throughput", "unimatrix_core", "reference")
    fast = benchmark_settings(paper_config, "throughput", "unimatrix_core", "fast")
    paper = {"sweep": "paper", "lengths": [64, 128, 256, 512], "warmup": 5, "repeats": 20}
    assert reference["sweeps"] == [paper] and reference["batch"] == 8 and reference["seed"] == 11
    assert fast["sweeps"] == [paper, {"sweep": "extended", "lengths": [1024, 2048, 4096, 8192], "warmup": 5, "repeats": 5}]
    step = benchmark_settings(paper_config, "train_step", "unimatrix_core", "fast")
    assert (step["batch"], step["seq_len"]) == (16, 128) and "sweeps" not in step


def test_a_benchmark_setting_changes_no_training_settings(paper_config):
    edited = broken(paper_config, lambda c: c["benchmark"].update(repeats=3, variants=["transformer"], baseline="transformer"))
    assert all(train_settings(paper_config, run) == train_settings(edited, run) for run in runs(paper_config))


def test_the_cpu_overlay_caps_recipes_to_a_prefix_of_their_planned_seeds(paper_config):
    cpu = load(REPO / "config" / "config.yaml", REPO / "config" / "cpu.yaml")
    capped = {name for name in paper_config["recipes"] if cpu["recipes"][name]["seeds"] != paper_config["recipes"][name]["seeds"]}
    assert capped == {"R-LM", "R-LM-64", "R-LM-T120", "R-AR", "R-AR0", "R-ABL", "R-ARD", "R-ARD-256"}
    for name in capped:
        planned, kept = paper_config["recipes"][name]["seeds"], cpu["recipes"][name]["seeds"]
        assert 1 <= len(kept) < len(planned) and kept == planned[:len(kept)]
    assert len(runs(cpu)) < len(runs(paper_config))


def test_ruler_scores_every_run_of_its_experiments_at_each_of_their_budgets(paper_config):
    jobs = ruler_jobs(paper_config)
    assert jobs == [(run, 128) for run in runs(paper_config, "lm")]
    assert ruler_table_spec(paper_config)["blocks"] == [{"experiment": "lm", "budget": 128}]


def test_a_committed_ruler_set_shows_the_blocks_of_its_csv_in_their_order(paper_config, tmp_path, monkeypatch):
    folder = tmp_path / MEASURED_DIR / "ruler_elsewhere"
    folder.mkdir(parents=True)
    rows = [("lm_1024", "transformer", 1024), ("lm", "unimatrix_core", 128), ("lm_1024", "unimatrix_core", 1024),
            ("lm_1024", "transformer", 512), ("lm_1024", "not_described", 512)]
    (folder / "ruler.csv").write_text("experiment,variant,requested_budget\n" + "".join(f"{e},{v},{b}\n" for e, v, b in rows))
    monkeypatch.setattr(config_module, "REPO", tmp_path)
    spec = ruler_table_spec(paper_config, "ruler_elsewhere")
    assert spec["blocks"] == [{"experiment": "lm_1024", "budget": 1024}, {"experiment": "lm", "budget": 128},
                              {"experiment": "lm_1024", "budget": 512}]
    assert spec["labels"] == {variant: paper_config["variants"][variant]["label"] for variant in ("transformer", "unimatrix_core")}
    assert spec["label"] == "tab:ruler_ruler_elsewhere"
    assert spec["caption"] == (f"{paper_config['report']['ruler']['caption']} Result set \\texttt{{ruler\\_elsewhere}}, "
                               "committed under \\script{benchmarks/measured}.")


def test_the_committed_h200_ruler_set_holds_both_overlays_blocks(paper_config):
    assert paper_config["ruler"]["result_sets"] == ["ruler_h200"]
    assert [(block["experiment"], block["budget"]) for block in ruler_table_spec(paper_config, "ruler_h200")["blocks"]] == [
        ("lm", 128), ("lm_1024", 512), ("lm_1024", 1024)]


def test_the_long_overlay_scores_table_1s_models_trained_on_1024_byte_windows_beside_the_128_byte_smoke_test(paper_config):
    long = load(REPO / "config" / "config.yaml", REPO / "config" / "long.yaml")
    assert long["experiments"]["lm_1024"]["variants"] == paper_config["experiments"]["lm"]["variants"]
    assert ruler_window(long, "lm_1024") == 1024 and ruler_window(long, "lm") == 128
    assert long["ruler"]["experiments"] == {"lm": {"budgets": [128], "samples": 8}, "lm_1024": {"budgets": [512, 1024], "samples": 32}}
    jobs = ruler_jobs(long)
    assert [job for job in jobs if job[0].experiment == "lm"] == ruler_jobs(paper_config)
    assert [job for job in jobs if job[0].experiment == "lm_1024"] == [(run, budget) for run in runs(long, "lm_1024")
                                                                       for budget in (512, 1024)]
    assert {run.mode for run, _ in jobs if run.experiment == "lm_1024" and run.variant == "unimatrix_core"} == {"faithful", "corrected"}
    assert all(by == run for run, by in trained_by(long).items() if run.experiment == "lm_1024")  # its own checkpoints
    assert [(block["experiment"], block["budget"]) for block in ruler_table_spec(long)["blocks"]] == [
        ("lm", 128), ("lm_1024", 512), ("lm_1024", 1024)]
