"""What each figure of the report, and the slot-capacity measurement behind one, takes from the
config (report.figures, report.slot_capacity): command-line arguments for report.smk, so that no
figure script names a variant, a label or a colour. Read without pandas or torch: the Snakefile imports this."""
import json

from repro.config import ConfigError, eval_pairs, slot_ladder, task_experiments, task_result_sets, variant_names

RECALL_DISTANCE = "recall_distance"  # the task whose experiments the recall-over-distance figure draws


def figure2_arguments(config: dict) -> list:
    spec = config["report"]["figures"]["fig2_lm_bpb"]
    # unsorted keys: the variants' order is the figure's
    return ["--names", json.dumps(variant_names(config, config["experiments"][spec["experiment"]]["variants"])),
            "--colours", json.dumps(spec["colours"]), "--paper-experiment", spec["paper_experiment"],
            "--metric", spec["metric"]]


def capacity_ladder(config: dict) -> dict:
    return slot_ladder(config, config["report"]["figures"]["sp_capacity"]["experiment"])


def slot_capacity_arguments(config: dict) -> list:
    """The write rule alone at every slot count of the capacity figure's ladder, for each evaluation pair count."""
    experiment = config["report"]["figures"]["sp_capacity"]["experiment"]
    ladder = capacity_ladder(config)
    rules = {(spec["merge_threshold"], spec["strength_floor"]) for spec in ladder.values()}
    if len(rules) != 1:
        raise ConfigError(f"report.figures.sp_capacity: the slot ladder of experiment {experiment!r} mixes write rules "
                          f"(merge_threshold, strength_floor) {sorted(rules)}; the simulation runs one")
    (merge_threshold, strength_floor), = rules
    slots = [spec["slots"] for spec in ladder.values()]
    simulation = config["report"]["slot_capacity"]
    return ["--pairs", *eval_pairs(config, experiment), "--slots", min(slots), max(slots),
            "--merge-threshold", merge_threshold, "--strength-floor", strength_floor,
            "--sequences", simulation["sequences"], "--seed", simulation["seed"]]


def capacity_figure_arguments(config: dict) -> list:
    spec = config["report"]["figures"]["sp_capacity"]
    experiment = config["experiments"][spec["experiment"]]
    return ["--ladder", json.dumps(capacity_ladder(config), sort_keys=True),
            "--train-pairs", config["recipes"][experiment["recipe"]]["pairs"],
            "--pairs", *eval_pairs(config, spec["experiment"]), "--colours", json.dumps(spec["colours"]),
            "--paper-experiment", spec["paper_experiment"]]


def recall_distance_arguments(config: dict, result_set: str) -> list:
    """One result set's points ({experiment: T}) and the models of the config's recall_distance experiments."""
    lengths = task_result_sets(config, RECALL_DISTANCE)[result_set]["lengths"]
    experiments = task_experiments(config, RECALL_DISTANCE)
    variants = list(dict.fromkeys(v for name in experiments for v in config["experiments"][name]["variants"]))
    # unsorted keys: the variants' order sets the lines' colours
    return ["--lengths", json.dumps(lengths), "--names", json.dumps(variant_names(config, variants))]


def depth_diagnostics_arguments(config: dict, runs: list) -> list:
    """The measured variants' names, in the order they first appear among `runs`."""
    return ["--names", json.dumps(variant_names(config, list(dict.fromkeys(run.variant for run in runs))))]
