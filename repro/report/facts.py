"""The config's facts that the report's prose states, as LaTeX macro name -> text.

The Snakefile computes them (so a config change reruns the report's variables) and
repro.report.variables writes them, with the facts measured from results, as \\newcommand lines;
the templates use the macros, never a number typed by hand. Read without pandas or torch: the
Snakefile imports this."""
from repro.config import eval_pairs, slot_ladder, task_experiments

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def number(value) -> str:
    """A number as the prose writes it: 0.1, 0 (not 0.0), 8192."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def word(count: int, capital: bool = False) -> str:
    """A small count in words (the prose's "three recipes"); larger counts as digits."""
    text = NUMBER_WORDS[count] if 0 <= count < len(NUMBER_WORDS) else str(count)
    return text.capitalize() if capital else text


def series(values, last: str = "and") -> str:
    """4, 6 and 8 (or: 4, 6 or 8)."""
    texts = [number(value) for value in values]
    return texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} {last} {texts[-1]}"


def _recipe(config: dict, experiment: str) -> dict:
    return config["recipes"][config["experiments"][experiment]["recipe"]]


def _one(values: set, key: str):
    """The one value that every recipe behind a sentence shares."""
    if len(values) != 1:
        raise ValueError(f"{key}: the report states one value, but the config gives {sorted(values)}")
    return values.pop()


def ablation_facts(config: dict, reported_numbers: dict) -> dict:
    """Table 5's section: the paper's configurations, the slot counts we add, the pair counts."""
    figure = config["report"]["figures"]["sp_capacity"]
    experiment, paper_experiment = figure["experiment"], figure["paper_experiment"]
    reported_models = {key.split("/")[1] for key in reported_numbers if key.startswith(f"{paper_experiment}/")}
    in_paper = [v for v in config["experiments"][experiment]["variants"] if config["variants"][v]["paper_name"] in reported_models]
    ladder = slot_ladder(config, experiment)
    paper_slots = sorted(spec["slots"] for variant, spec in ladder.items() if variant in in_paper)
    extra_slots = sorted(spec["slots"] for variant, spec in ladder.items() if variant not in in_paper)
    if not extra_slots:
        raise ValueError(f"experiment {experiment!r}: the report describes slot counts beyond the paper's, but every "
                         f"slot count of its ladder ({paper_slots}) is in {paper_experiment}")
    return {
        "AblationPaperConfigurations": word(len(in_paper), capital=True),
        "AblationTrainPairs": number(_recipe(config, experiment)["pairs"]),
        "AblationEvalPairs": series(eval_pairs(config, experiment)),
        "AblationEvalPairsOr": series(eval_pairs(config, experiment), "or"),
        "AblationExtraSlotCounts": word(len(extra_slots)),
        "AblationExtraSlotsFrom": number(max(s for s in paper_slots if s < extra_slots[0])),
        "AblationExtraSlotsTo": number(min(s for s in paper_slots if s > extra_slots[-1])),
        "SimulatedSequences": f"{config['report']['slot_capacity']['sequences']:,}",
    }


def recipe_facts(config: dict) -> dict:
    """Recipe settings the sections name: dropouts, the triple curriculum, the Sec. 5.6 recipes."""
    triple = _recipe(config, "triple")
    rffn_experiments = [g["experiment"] for g in config["report"]["tables"]["table_s56_recurrent_ffn"]["groups"]]
    memory_experiments = [name for g in config["report"]["tables"]["table_s56_memory_pilot"]["groups"]
                          for name in [g["experiment"], *g.get("metric_experiments", {}).values()]]
    return {
        "RecallDropout": number(_recipe(config, "recall")["dropout"]),
        "NoDropoutPilotDropout": number(_recipe(config, "retrieval")["dropout"]),
        "TripleStages": ", ".join(triple["stages"]),
        "TripleStageSteps": number(triple["steps"]),
        "TripleSeqLen": number(triple["seq_len"]),
        "RffnRecipes": word(len({config["experiments"][e]["recipe"] for e in rffn_experiments})),
        "RffnCompareBatches": number(_one({_recipe(config, e)["eval"]["compare_batches"] for e in rffn_experiments},
                                          "report.tables.table_s56_recurrent_ffn: eval.compare_batches")),
        "MemoryPilotSeqLen": number(_one({_recipe(config, e)["seq_len"] for e in memory_experiments},
                                         "report.tables.table_s56_memory_pilot: seq_len")),
        "MemoryPilotSequences": number(_one({_recipe(config, e)["eval"]["batches"] * _recipe(config, e)["eval"]["batch_size"]
                                             for e in memory_experiments},
                                            "report.tables.table_s56_memory_pilot: eval.batches × eval.batch_size")),
        "LMCompareBatches": number(_recipe(config, "lm")["eval"]["compare_batches"]),
        "RecallPairs": number(_recipe(config, "recall")["pairs"]),
        "RecallDistanceTokensPerPair": number(_one({_recipe(config, e)["tokens_per_pair"] for e in task_experiments(config, "recall_distance")},
                                                   "the recall_distance experiments: tokens_per_pair")),
        "RecallDistanceLengths": series(sorted(_recipe(config, e)["seq_len"] for e in task_experiments(config, "recall_distance"))),
        "DepthDiagnosticsWindows": number(config["depth_diagnostics"]["windows"]),
    }


def throughput_facts(config: dict) -> dict:
    """The timing protocol of Figure 3 (spec §5.5)."""
    spec = config["benchmark"]
    return {
        "ThroughputBatch": number(spec["batch"]),
        "ThroughputWarmup": number(spec["warmup"]),
        "ThroughputRepeats": number(spec["repeats"]),
        "ThroughputPaperMaxLength": number(max(spec["paper_lengths"])),
        "ThroughputMaxLength": number(max(spec["paper_lengths"] + spec["extended_lengths"])),
    }


def ruler_facts(config: dict) -> dict:
    """What RULER-core asks of the checkpoints of each experiment it scores (spec §5.4)."""
    return {"RulerRuns": series([f"{experiment} at {series(spec['budgets'])} bytes with {number(spec['samples'])} samples per task"
                                 for experiment, spec in config["ruler"]["experiments"].items()])}


def related_facts(config: dict) -> dict:
    """The settings of the paper's neighbours (experiment related_systems) that the prose names."""
    ut, act, mesh = (config["variants"][name] for name in ("universal_transformer", "universal_transformer_act",
                                                            "universal_transformer_mesh"))
    return {"UTDepth": number(ut["depth"]), "ACTMaxDepth": number(act["depth"]),
            "ACTThreshold": number(1 - act["act_epsilon"]), "ACTPonderCost": number(act["ponder_cost"]),
            "MeshSlots": number(mesh["mesh_slots"])}


def config_facts(config: dict, reported_numbers: dict) -> dict:
    """Every fact of the config that the report's prose states: {macro name: text}."""
    return {**ablation_facts(config, reported_numbers), **recipe_facts(config), **throughput_facts(config),
            **ruler_facts(config), **related_facts(config)}
