"""Read the config once: validate it, fill defaults, expand the run table, and resolve the
settings of every node. Imported by the Snakefile and the report's scripts, so importing it does not
import torch; validate() does, for the checks whose rules the tasks and the data own."""
import argparse
import csv
import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path

import jsonschema
import yaml

from repro.report import claim_list, latex
from repro.settings import EvalSettings, TrainSettings

REPO = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO / "workflow" / "schemas" / "config.schema.yaml"
CLAIMS_SCHEMA_PATH = REPO / "workflow" / "schemas" / "claims.schema.yaml"
# Keys of a variant that describe it for people, not the model: changing them retrains nothing.
VARIANT_DESCRIPTION_KEYS = ("label", "paper_name")
# JSON Schema types of the settings' annotations (models/registry.py: a family's keys and their types).
JSON_TYPES = {"int": "integer", "bool": "boolean", "float": "number", "str": "string"}
MEASUREMENTS = ("throughput", "train_step")
LOCAL_RESULT_SET = "local"  # this run's results; other sets are committed
MEASURED_DIR = "benchmarks/measured"
# A committed result set of a task's runs: their tidy metrics, and each experiment's sequence length
# (the set may hold experiments that the active config does not run).
SET_METRICS, SET_LENGTHS = "metrics.csv", "experiments.csv"
# A committed RULER-core result set: the scores of that machine's results/ruler.csv.
SET_RULER = "ruler.csv"


class ConfigError(ValueError):
    """A configuration mistake, reported before any job starts."""


@dataclass(frozen=True)
class Run:
    experiment: str
    variant: str
    mode: str
    seed: int

    @property
    def name(self) -> str:
        return f"{self.experiment}/{self.variant}/{self.mode}/seed{self.seed}"

    @property
    def directory(self) -> str:
        return f"results/runs/{self.name}"


def parse_run(name: str) -> Run:
    """A run name, experiment/variant/mode/seedN, as Run."""
    parts = name.split("/")
    if len(parts) != 4 or not parts[3].startswith("seed") or not parts[3][4:].isdigit():
        raise argparse.ArgumentTypeError(f"{name!r}: expected experiment/variant/mode/seedN")
    return Run(parts[0], parts[1], parts[2], int(parts[3][4:]))


# `snakemake --config key=false` passes the string "false" (Snakemake reads only True and False as
# booleans); a boolean setting accepts the spellings YAML 1.1 gives a boolean, in any case.
BOOLEAN_SPELLINGS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


def _validator_filling_defaults():
    """A Draft 7 validator that also writes each schema default into the instance and reads a
    boolean setting given as a word (BOOLEAN_SPELLINGS) as that boolean."""
    base = jsonschema.Draft7Validator

    def fill_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for key, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(key, json.loads(json.dumps(subschema["default"])))
                value = instance.get(key)
                if subschema.get("type") == "boolean" and isinstance(value, str) and value.lower() in BOOLEAN_SPELLINGS:
                    instance[key] = BOOLEAN_SPELLINGS[value.lower()]
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": fill_defaults})


def _key_path(error) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "<top level>"


def _registry():
    import models.registry  # torch: the families own their settings

    return models.registry


def _config_schema() -> dict:
    """The config schema, completed from the registries: the task list (repro/tasks), the family list,
    and per family the keys its settings take, typed, required where the settings have no default."""
    from repro.tasks import TASKS

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    schema["definitions"]["recipe"]["properties"]["task"]["enum"] = list(TASKS)
    variant = schema["definitions"]["variant"]
    variant["properties"]["family"] = {"type": "string", "enum": list(_registry().FAMILIES)}
    variant["allOf"] = []
    for name, family in _registry().FAMILIES.items():
        variant["allOf"].append({"if": {"properties": {"family": {"const": name}}}, "then": {
            "required": family.required_keys(),
            "propertyNames": {"enum": [*VARIANT_DESCRIPTION_KEYS, "family", *family.keys()]},
            "properties": {f.name: {"type": JSON_TYPES[getattr(f.type, "__name__", f.type)]}
                           for f in fields(family.settings) if f.name in family.keys()}}})
    return schema


def _check_schema(schema: dict, instance: dict, what: str) -> None:
    """Fill the schema's defaults into `instance`; raise ConfigError naming the first bad key."""
    errors = sorted(_validator_filling_defaults()(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if errors:
        # The deepest error is the precise one; if/then wrappers only repeat it.
        error = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(f"{what} key '{_key_path(error)}': {error.message}")


def validate(config: dict) -> dict:
    """Check the config against the schema and its cross-references; fill defaults in place.
    Raises ConfigError naming the bad key and what would be valid."""
    _check_schema(_config_schema(), config, "config")
    _check_references(config)
    _check_variants(config)
    _check_fix_effects(config)
    _check_benchmark(config)
    _check_result_sets(config)
    _check_ruler(config)
    _check_depth_diagnostics(config)
    _check_recipes(config, _check_data(config))
    return config


def validate_answer(document: dict, claims: list) -> dict:
    """The first page's sections of paper/claims.yaml (already checked against its schema by
    validate_claims) against the expanded claim list: every id they name is a claim's, and a claim has
    at most one explanation per mode. Returns {"headline": [...], "explanations": [one per claim and mode],
    "extension": [per extension section, its name and per claim its text and expanded rows (id, T, result set)]}."""
    ids = {claim["id"] for claim in claims}
    named = [(f"headline.{i}.claims.{j}", claim_id) for i, entry in enumerate(document.get("headline", []))
             for j, claim_id in enumerate(entry["claims"])]
    named += [(f"explanations.{i}.claims.{j}", claim_id) for i, entry in enumerate(document.get("explanations", []))
              for j, claim_id in enumerate(entry["claims"])]
    for where, claim_id in named:
        if claim_id not in ids:
            raise ConfigError(f"claims.yaml key '{where}': {_one_of('claim id', claim_id, sorted(ids))}")
    explanations, explained = [], {}
    for i, entry in enumerate(document.get("explanations", [])):
        for claim_id in entry["claims"]:
            for mode in entry["modes"]:
                if (claim_id, mode) in explained:
                    raise ConfigError(f"claims.yaml key 'explanations.{i}': {claim_id} in {mode} mode is already "
                                      f"explained by 'explanations.{explained[claim_id, mode]}'; one explanation each")
                explained[claim_id, mode] = i
                explanations.append({"claim": claim_id, "mode": mode, "defect": entry.get("defect"), "why": entry["why"]})
    extension = [{"name": section["name"], "claims": [
        {"text": stated["text"], "rows": [{"id": claim["id"], "seq_len": claim["seq_len"], "result_set": claim["result_set"]}
                                          for claim in claims if claim.get("template") == stated["id"]]}
        for stated in section["claims"]]} for section in document.get(claim_list.EXTENSION, [])]
    return {"headline": document.get("headline", []), "explanations": explanations, "extension": extension}


def validate_claims(claims: dict, config: dict, reported: dict) -> list:
    """paper/claims.yaml against its schema, the config's report tables, experiments and variants, and
    the paper's numbers (`reported`, from reported_numbers); returns the full claim list, parameter-count
    claims and paper keys derived from the report tables (repro.report.claim_list). Raises ConfigError
    naming the claim's key."""
    _check_schema(yaml.safe_load(CLAIMS_SCHEMA_PATH.read_text()), claims, "claims.yaml")
    experiments, tables = config["experiments"], config["report"]["tables"]
    for i, section in enumerate(claims["tables"]):
        if section["report_table"] not in tables:
            raise ConfigError(f"claims.yaml key 'tables.{i}.report_table': {_one_of('report table', section['report_table'], tables)}")
        for j, claim in enumerate(section["claims"]):
            where = f"claims.yaml key 'tables.{i}.claims.{j}"
            if claim["experiment"] not in experiments:
                raise ConfigError(f"{where}.experiment': {_one_of('experiment', claim['experiment'], experiments)}")
            experiment = claim["experiment"]
            own = experiments[experiment]["variants"]
            for key, variant in _named_variants(claim):
                if variant not in own:
                    raise ConfigError(f"{where}.{key}': {_one_of(f'variant of experiment {experiment}', variant, own)}")
            keys = [*([("paper", claim["paper"])] if "paper" in claim else []),
                    *[(f"than.{k}.paper", other["paper"]) for k, other in enumerate(claim.get("than", [])) if "paper" in other],
                    *[(f"paper_seeds.{k}.{side}", pair[side]) for k, pair in enumerate(claim.get("paper_seeds", [])) for side in ("variant", "than")]]
            for key, value in keys:
                if value not in reported:
                    raise ConfigError(f"{where}.{key}': {value!r} is not a key of paper/reported.csv (experiment/model/metric)")
    try:
        located = claim_list.located_claims(claims, {name: table_spec(config, name) for name in tables}, reported)
    except claim_list.ClaimError as error:
        raise ConfigError(str(error)) from None
    located += _extension_claims(claims, config)
    seen = {}
    for where, claim in located:
        if claim["id"] in seen:
            raise ConfigError(f"claims.yaml key '{where}': the id {claim['id']!r} is also that of the claim from "
                              f"'{seen[claim['id']]}'; ids are unique")
        seen[claim["id"]] = where
    return [claim for _, claim in located]


def _extension_claims(claims: dict, config: dict) -> list:
    """The extension's claims of paper/claims.yaml, each at every experiment of its task in each result set
    (repro.report.claim_list), after checking that the task is known and that each experiment ran the claim's models."""
    from repro.tasks import TASKS

    located = []
    for i, section in enumerate(claims.get(claim_list.EXTENSION, [])):
        task = section["task"]
        if task not in TASKS:
            raise ConfigError(f"claims.yaml key 'extension.{i}.task': {_one_of('task', task, TASKS)}")
        sets = task_result_sets(config, task)
        ran = {name: {experiment: set(config["experiments"][experiment]["variants"]) for experiment in measured["lengths"]}
               if name == LOCAL_RESULT_SET else committed_variants(name) for name, measured in sets.items()}
        for where, claim in claim_list.extension_claims(section, f"extension.{i}", {name: sets[name]["lengths"] for name in sets},
                                                         getattr(TASKS[task], "CHANCE_PCT", None)):
            present = ran[claim["result_set"]].get(claim["experiment"], set())
            for key, variant in _named_variants(claim):
                if variant not in present:
                    raise ConfigError(f"claims.yaml key '{where}.{key}': {variant!r} has no runs in experiment {claim['experiment']} "
                                      f"of result set {claim['result_set']}; valid: {', '.join(sorted(present)) or 'none'}")
            located.append((where, claim))
    return located


def _named_variants(claim: dict) -> list:
    """(key, variant) of every model a claim names."""
    named = [("variant", claim["variant"]), *[(f"than.{k}.variant", other["variant"]) for k, other in enumerate(claim.get("than", []))]]
    return named + ([("reference", claim["reference"])] if "reference" in claim else [])


def reported_numbers(path) -> dict:
    """The paper's numbers (paper/reported.csv) by their `experiment/model/metric` key (read without
    pandas: the Snakefile imports this)."""
    with open(path, newline="") as stream:
        return {f"{row['experiment']}/{row['model']}/{row['metric']}": float(row["value"]) for row in csv.DictReader(stream)}


def _one_of(kind: str, value, valid) -> str:
    return f"{value!r} is not a known {kind}; valid: {', '.join(sorted(valid))}"


def _check_references(config: dict) -> None:
    variants, recipes, experiments = config["variants"], config["recipes"], config["experiments"]
    for name, experiment in experiments.items():
        if experiment["recipe"] not in recipes:
            raise ConfigError(f"config key 'experiments.{name}.recipe': {_one_of('recipe', experiment['recipe'], recipes)}")
        for i, variant in enumerate(experiment["variants"]):
            if variant not in variants:
                raise ConfigError(f"config key 'experiments.{name}.variants.{i}': {_one_of('variant', variant, variants)}")
        for variant in experiment["overrides"]:
            if variant not in experiment["variants"]:
                raise ConfigError(
                    f"config key 'experiments.{name}.overrides.{variant}': "
                    f"{_one_of('variant of this experiment', variant, experiment['variants'])}")
    for name, table in config["report"]["tables"].items():
        for i, group in enumerate(table["groups"]):
            key = f"report.tables.{name}.groups.{i}"
            if group["experiment"] not in experiments:
                raise ConfigError(f"config key '{key}.experiment': {_one_of('experiment', group['experiment'], experiments)}")
            for metric, other in group["metric_experiments"].items():
                if other not in experiments:
                    raise ConfigError(f"config key '{key}.metric_experiments.{metric}': {_one_of('experiment', other, experiments)}")
            ran = experiments[group["experiment"]]["variants"]
            for j, variant in enumerate(group.get("variants", [])):
                if variant not in ran:
                    raise ConfigError(f"config key '{key}.variants.{j}': {_one_of('variant of this experiment', variant, ran)}")


def _check_variants(config: dict) -> None:
    """Each variant's settings as its family's model would get them, in every experiment that runs it
    (a value a constructor would refuse, e.g. n_heads not dividing d_model)."""
    from models.setting_error import SettingError

    for experiment, spec in config["experiments"].items():
        for variant in spec["variants"]:
            try:
                run_settings(config, experiment, variant)
            except SettingError as error:
                raise ConfigError(f"config key 'variants.{variant}.{error.key}': {error.value!r}; valid: {error.valid}") from None


def _check_fix_effects(config: dict) -> None:
    experiments = config["experiments"]
    for name, effect in config["report"]["fix_effects"].items():
        for role in ("model", "reference"):
            experiment, variant = effect[role].split("/")
            key = f"config key 'report.fix_effects.{name}.{role}'"
            if experiment not in experiments:
                raise ConfigError(f"{key}: {_one_of('experiment', experiment, experiments)}")
            if variant not in experiments[experiment]["variants"]:
                raise ConfigError(f"{key}: {_one_of('variant of this experiment', variant, experiments[experiment]['variants'])}")


def _check_data(config: dict) -> dict:
    """A local WikiText-2 directory holds the splits the LM runs read, readable, with the official
    git blob ids unless wikitext_require_official is off. Returns the token count of each stream
    a run reads ({"train", "valid"}), or {} where the data comes from the hub (known only then)."""
    directory = config["wikitext_dir"]
    if directory is None:
        return {}
    roles = {"valid": "valid", "train": config["wikitext_train_split"]}
    needed = [f"wiki.{split}.raw" for split in roles.values()]
    missing = [name for name in needed if not (Path(directory) / name).is_file()]
    key = f"config key 'wikitext_dir': {directory!r}"
    if missing:
        hint = ("; with wiki.test.raw alone, --config wikitext_train_split=test trains on the test split "
                "(the report then says so)") if missing == ["wiki.train.raw"] else ""
        raise ConfigError(
            f"{key} ({Path(directory).resolve()}) has no {' or '.join(missing)}; "
            f"valid: a directory holding {' and '.join(needed)} (wikitext_train_split={config['wikitext_train_split']!r} "
            f"trains on the second), or no wikitext_dir to read the Hugging Face hub{hint}")
    from repro.data.wikitext import OFFICIAL_GIT_BLOB, byte_stream, git_blob_id  # torch: only where there is data

    lengths = {}
    for role, split in roles.items():
        path = (Path(directory) / f"wiki.{split}.raw").resolve()
        try:
            raw = path.read_bytes()
        except OSError as error:
            raise ConfigError(f"{key}: {path} cannot be read ({error.strerror}); valid: a readable file") from error
        if config["wikitext_require_official"] and git_blob_id(raw) != OFFICIAL_GIT_BLOB[split]:
            raise ConfigError(
                f"{key}: {path} has git blob {git_blob_id(raw)}, not the official {OFFICIAL_GIT_BLOB[split]}; "
                "valid: the official file, or --config wikitext_require_official=false to use this one")
        lengths[role] = int(byte_stream(raw).numel())
    return lengths


def _check_recipes(config: dict, data: dict) -> None:
    """Each experiment's resolved recipe (overrides included) against what its task can generate
    and the data present (repro/tasks: recipe_problems). The key named is where the value is set."""
    from repro.tasks import TASKS  # torch: the tasks own their rules

    for experiment, spec in config["experiments"].items():
        for variant in spec["variants"]:
            recipe = recipe_for(config, experiment, variant)
            for key, problem in TASKS[recipe["task"]].recipe_problems(recipe, data):
                top = key.split(".")[0]
                where = (f"experiments.{experiment}.overrides.{variant}" if top in spec["overrides"].get(variant, {})
                         else f"recipes.{spec['recipe']}")
                raise ConfigError(f"config key '{where}.{key}': {problem}")


def _check_benchmark(config: dict) -> None:
    spec = config["benchmark"]
    timeable = [name for name, variant in config["variants"].items() if _registry().FAMILIES[variant["family"]].has_length_axis]
    for i, variant in enumerate(spec["variants"]):
        if variant not in timeable:
            reason = "has no sequence-length axis" if variant in config["variants"] else "is not a known variant"
            raise ConfigError(f"config key 'benchmark.variants.{i}': {variant!r} {reason}; valid: {', '.join(sorted(timeable))}")
    if spec["baseline"] not in spec["variants"]:
        raise ConfigError(f"config key 'benchmark.baseline': {_one_of('benchmark variant', spec['baseline'], spec['variants'])}")
    if (spec["baseline"], "fast") not in benchmark_jobs(config):
        raise ConfigError(f"config key 'benchmark.baseline': the ratios are to the fast form of {spec['baseline']!r}, "
                          f"which benchmark.forms {spec['forms']} leaves out")
    for i, variant in enumerate(spec["extended_variants"]):
        if variant not in spec["variants"]:
            raise ConfigError(f"config key 'benchmark.extended_variants.{i}': "
                              f"{_one_of('benchmark variant', variant, spec['variants'])}")
    longest = max(spec["paper_lengths"])
    for i, length in enumerate(spec["extended_lengths"]):
        if length <= longest:
            raise ConfigError(f"config key 'benchmark.extended_lengths.{i}': {length} is not longer than the longest "
                              f"paper length {longest}")
    committed = committed_sets("throughput.csv", "train_step.csv")
    for i, name in enumerate(spec["result_sets"]):
        if name not in committed:
            raise ConfigError(f"config key 'benchmark.result_sets.{i}': {name!r} has no {MEASURED_DIR}/{name}/throughput.csv "
                              f"and train_step.csv; valid: {', '.join(committed) or 'none committed yet'}")


def committed_sets(*files: str) -> list:
    """The names of the committed result sets holding every one of `files`: folders of MEASURED_DIR."""
    return sorted(path.name for path in (REPO / MEASURED_DIR).iterdir()
                  if path.is_dir() and all((path / file).is_file() for file in files))


def _read_rows(name: str, file: str) -> list:
    with open(REPO / MEASURED_DIR / name / file, newline="") as stream:
        return list(csv.DictReader(stream))


def committed_lengths(name: str) -> dict:
    """{experiment: sequence length} of a committed result set, in the file's order."""
    return {row["experiment"]: int(row["seq_len"]) for row in _read_rows(name, SET_LENGTHS)}


def committed_variants(name: str) -> dict:
    """{experiment: the variants with runs in it} of a committed result set."""
    found = {}
    for row in _read_rows(name, SET_METRICS):
        found.setdefault(row["experiment"], set()).add(row["variant"])
    return found


def task_lengths(config: dict, task: str) -> dict:
    """{experiment: its sequence length} of every experiment whose task is `task`, in the config's order."""
    return {name: config["recipes"][config["experiments"][name]["recipe"]]["seq_len"] for name in task_experiments(config, task)}


def task_result_sets(config: dict, task: str) -> dict:
    """{result set: {"metrics": the tidy metrics CSVs it reads, "lengths": {experiment: T}}} of a task: this
    run's (`local`), then each committed set that report.result_sets names for the task."""
    local = task_lengths(config, task)
    sets = {LOCAL_RESULT_SET: {"metrics": [f"results/metrics/{name}.csv" for name in local], "lengths": local}}
    for name in config["report"]["result_sets"].get(task, []):
        sets[name] = {"metrics": [f"{MEASURED_DIR}/{name}/{SET_METRICS}"], "lengths": committed_lengths(name)}
    return sets


def claim_result_sets(claims: list) -> dict:
    """{committed result set: its metrics CSV} of every set that some claim (of our extension) is evaluated on."""
    names = dict.fromkeys(claim["result_set"] for claim in claims if claim.get("result_set", LOCAL_RESULT_SET) != LOCAL_RESULT_SET)
    return {name: f"{MEASURED_DIR}/{name}/{SET_METRICS}" for name in names}


def _check_result_sets(config: dict) -> None:
    """Each committed set named exists and says the length of every experiment it holds runs of."""
    from repro.tasks import TASKS

    committed = committed_sets(SET_LENGTHS, SET_METRICS)
    for task, names in config["report"]["result_sets"].items():
        key = f"config key 'report.result_sets.{task}"
        if task not in TASKS:
            raise ConfigError(f"{key}': {_one_of('task', task, TASKS)}")
        for i, name in enumerate(names):
            if name not in committed:
                raise ConfigError(f"{key}.{i}': {name!r} has no {MEASURED_DIR}/{name}/{SET_METRICS} and {SET_LENGTHS}; "
                                  f"valid: {', '.join(committed) or 'none committed yet'}")
            try:
                lengths = committed_lengths(name)
            except (KeyError, ValueError) as error:
                raise ConfigError(f"{key}.{i}': {MEASURED_DIR}/{name}/{SET_LENGTHS} cannot be read ({error!r}); "
                                  "valid: columns experiment and seq_len, a whole number") from None
            unlisted = sorted(set(committed_variants(name)) - set(lengths))
            if unlisted:
                raise ConfigError(f"{key}.{i}': {MEASURED_DIR}/{name}/{SET_LENGTHS} gives no seq_len for the "
                                  f"experiment(s) {', '.join(unlisted)} of its {SET_METRICS}")


def _check_ruler(config: dict) -> None:
    """RULER-core prompts are text, so only a byte LM's checkpoints can answer them; a budget beyond the
    window its models were trained on would be cut to that window, so it is refused rather than relabelled.
    Each committed set named holds a readable ruler.csv."""
    language_models = task_experiments(config, "lm")
    for experiment, spec in config["ruler"]["experiments"].items():
        where = f"ruler.experiments.{experiment}"
        if experiment not in language_models:
            raise ConfigError(f"config key '{where}': {experiment!r} is not an experiment whose task is lm; "
                              f"valid: {', '.join(sorted(language_models))}")
        window = ruler_window(config, experiment)
        for i, budget in enumerate(spec["budgets"]):
            if budget > window:
                raise ConfigError(f"config key '{where}.budgets.{i}': {budget} exceeds the {window}-token window that the "
                                  f"models of {experiment} are trained on (seq_len); valid: budgets of at most {window}")
    committed = committed_sets(SET_RULER)
    for i, name in enumerate(config["ruler"]["result_sets"]):
        key = f"config key 'ruler.result_sets.{i}'"
        if name not in committed:
            raise ConfigError(f"{key}: {name!r} has no {MEASURED_DIR}/{name}/{SET_RULER}; "
                              f"valid: {', '.join(committed) or 'none committed yet'}")
        try:
            ruler_table_spec(config, name)
        except (KeyError, ValueError) as error:
            raise ConfigError(f"{key}: {MEASURED_DIR}/{name}/{SET_RULER} cannot be read ({error!r}); "
                              "valid: repro.ruler.aggregate's columns, experiment and requested_budget among them") from None


def _check_depth_diagnostics(config: dict) -> None:
    """The diagnostics read validation windows of WikiText-2, so they measure byte LMs only."""
    language_models = task_experiments(config, "lm")
    for i, experiment in enumerate(config["depth_diagnostics"]["experiments"]):
        if experiment not in language_models:
            raise ConfigError(f"config key 'depth_diagnostics.experiments.{i}': {experiment!r} is not an experiment "
                              f"whose task is lm; valid: {', '.join(sorted(language_models))}")


def depth_diagnostic_runs(config: dict) -> list:
    """The runs the depth diagnostics measure: those of a shared-depth family in their experiments, one
    per checkpoint (the first named where two experiments share a training, as related_systems shares
    lm's), so that no model's seeds count twice."""
    from models.registry import family_of  # torch: the family records own the trait
    trainers = trained_by(config)
    measured = {}
    for experiment in config["depth_diagnostics"]["experiments"]:
        for run in runs(config, experiment):
            if family_of(config["variants"][run.variant]).shared_depth:
                measured.setdefault(trainers[run], run)
    return list(measured.values())


def load(*paths) -> dict:
    """Load a config and its overlays (later files update earlier ones, nested), then validate.
    The Snakefile gets the same merge from Snakemake's --configfile."""
    config: dict = {}
    for path in paths:
        _deep_update(config, yaml.safe_load(Path(path).read_text()) or {})
    return validate(config)


def _deep_update(base: dict, overlay: dict) -> None:
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


def run_settings(config: dict, experiment: str, variant: str):
    """The variant's settings as its family's model gets them in this experiment (models/registry.py),
    in faithful mode. Raises SettingError for a value the family refuses."""
    from repro.tasks import TASKS

    recipe = recipe_for(config, experiment, variant)
    task = TASKS[recipe["task"]]
    return _registry().FAMILIES[config["variants"][variant]["family"]].configure(
        config["variants"][variant], _registry().MODES[0], vocab_size=task.VOCAB_SIZE, max_seq_len=recipe["seq_len"],
        pad_id=task.PAD_ID, dropout=recipe["dropout"], **task.MODEL_KWARGS)


def switched_defects(config: dict, experiment: str, variant: str) -> list:
    """The defects of spec §8 that `mode` switches for this variant in this experiment: its family's
    for its settings, and its task's."""
    from repro.tasks import TASKS

    family = _registry().FAMILIES[config["variants"][variant]["family"]]
    task = TASKS[recipe_for(config, experiment, variant)["task"]]
    return [*family.defects(run_settings(config, experiment, variant)), *task.DEFECTS]


def run_modes(config: dict, experiment: str, variant: str) -> list:
    """The modes a variant runs in: the experiment's where mode switches a defect of it, else one
    (faithful), which serves both."""
    if not switched_defects(config, experiment, variant):
        return [_registry().MODES[0]]
    return list(config["experiments"][experiment]["modes"])


def recipe_for(config: dict, experiment: str, variant: str) -> dict:
    spec = config["experiments"][experiment]
    return {**config["recipes"][spec["recipe"]], **spec["overrides"].get(variant, {})}


def runs(config: dict, experiment: str | None = None) -> list:
    """The run table: experiment x variant x mode x seed."""
    table = []
    for name, spec in config["experiments"].items():
        if experiment not in (None, name):
            continue
        for variant in spec["variants"]:
            for mode in run_modes(config, name, variant):
                for seed in recipe_for(config, name, variant)["seeds"]:
                    table.append(Run(name, variant, mode, seed))
    return table


def train_settings(config: dict, run: Run) -> TrainSettings:
    """Everything that determines a trained checkpoint, and nothing else."""
    recipe = recipe_for(config, run.experiment, run.variant)
    architecture = {k: v for k, v in config["variants"][run.variant].items() if k not in VARIANT_DESCRIPTION_KEYS}
    settings = {
        "run": run.name,
        "experiment": run.experiment,
        "task": recipe["task"],
        "variant": run.variant,
        "architecture": architecture,
        "mode": run.mode,
        "seed": run.seed,
        **{key: recipe[key] for key in ("steps", "batch_size", "seq_len", "lr", "weight_decay", "dropout", "clip_norm")},
        "device": config["device"],
        "recurrence": config["recurrence"],
        "torch_threads": config["torch_threads"],
        "flush_denormals": config["flush_denormals"],
        "cuda_graphs": config["cuda_graphs"],
    }
    if recipe["task"] == "lm":
        settings["data"] = {"train_split": config["wikitext_train_split"]}
    elif recipe["task"] == "recall":
        settings["pairs"] = recipe["pairs"]
    elif recipe["task"] == "recall_distance":
        from repro.tasks.recall_distance import pairs_at  # torch: the task owns the rule

        settings["pairs"] = pairs_at(recipe["seq_len"], recipe["tokens_per_pair"])
    elif recipe["task"] == "triple":
        # the curriculum evaluates every task after every stage, so its evaluation is part of training
        settings.update({key: recipe[key] for key in ("stages", "aux_weight", "seed_offsets", "eval")})
    return TrainSettings(**settings)


# Keys of a run's training settings that name it rather than decide what it computes.
RUN_NAME_KEYS = ("run", "experiment", "variant")


def trained_by(config: dict) -> dict:
    """Run -> the run whose checkpoint it is evaluated from: of the runs whose training settings are
    the same but for names (RUN_NAME_KEYS), the one whose name sorts first (so that the order of the
    config's keys, which overlays may change, changes nothing). Two experiments that ask for the same
    training (rffn_pilot80's Transformer is lm's, Table 5's 32-slot SparsePointer is Table 4's) then
    train it once."""
    groups = {}
    for run in runs(config):
        settings = train_settings(config, run).as_dict()
        groups.setdefault(settings_hash({k: v for k, v in settings.items() if k not in RUN_NAME_KEYS}), []).append(run)
    return {run: min(group, key=lambda r: r.name) for group in groups.values() for run in group}


def eval_settings(config: dict, run: Run) -> EvalSettings:
    """Everything that determines a run's evaluation given its checkpoint, and the run it is."""
    recipe = recipe_for(config, run.experiment, run.variant)
    return EvalSettings(run=run.name, experiment=run.experiment, variant=run.variant, mode=run.mode, seed=run.seed,
                        task=recipe["task"], eval=recipe["eval"], device=config["device"], recurrence=config["recurrence"],
                        torch_threads=config["torch_threads"], flush_denormals=config["flush_denormals"])


def settings_hash(*settings) -> str:
    """A short hash of settings records (repro/settings.py) or of plain dicts, by their JSON."""
    plain = [record.as_dict() if hasattr(record, "as_dict") else record for record in settings]
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]


def table_spec(config: dict, table: str) -> dict:
    """The resolved spec of a report table: per group, a row for each of its variants in each mode it
    ran in; a variant with a single mode (no defect) stands for both."""
    spec = config["report"]["tables"][table]
    groups = []
    for group in spec["groups"]:
        rows = []
        for variant in group.get("variants", config["experiments"][group["experiment"]]["variants"]):
            described = config["variants"][variant]
            modes = run_modes(config, group["experiment"], variant) if switched_defects(config, group["experiment"], variant) else ["both"]
            rows += [{"variant": variant, "mode": mode, "label": described["label"], "paper_name": described["paper_name"]}
                     for mode in modes]
        groups.append({"title": group.get("title"), "experiment": group["experiment"],
                       "metric_experiments": group["metric_experiments"],
                       "paper_experiment": group["paper_experiment"], "rows": rows})
    return {"caption": spec["caption"], "columns": spec["columns"], "label": f"tab:{table}", "groups": groups}


def table_experiments(config: dict, table: str) -> list:
    """The experiments whose runs a table shows, in order of first appearance."""
    groups = config["report"]["tables"][table]["groups"]
    return list(dict.fromkeys(name for group in groups for name in [group["experiment"], *group["metric_experiments"].values()]))


def report_tables(config: dict) -> dict:
    """{table: {"spec": its resolved spec, "metrics": the tidy metrics CSVs it reads}}: each table of
    report.tables from this run, then each of those showing one task's experiments alone again from each
    committed result set of that task (report.result_sets), as <table>_<set>."""
    tables = {name: {"spec": table_spec(config, name),
                     "metrics": [f"results/metrics/{experiment}.csv" for experiment in table_experiments(config, name)]}
              for name in config["report"]["tables"]}
    for task, names in config["report"]["result_sets"].items():
        shown = [name for name in config["report"]["tables"]
                 if set(table_experiments(config, name)) <= set(task_experiments(config, task))]
        measured = task_result_sets(config, task)
        for result_set in names:
            for name in shown:
                tables[f"{name}_{result_set}"] = {"spec": _result_set_table(tables[name]["spec"], result_set,
                                                                            measured[result_set]["lengths"]),
                                                  "metrics": measured[result_set]["metrics"]}
    return tables


def _result_set_table(spec: dict, result_set: str, lengths: dict) -> dict:
    """A table's resolved spec for a committed result set: one group per experiment of the set, by length,
    each with the rows of the table's first group (the set ran the config's models); the caption names the set."""
    first = spec["groups"][0]
    groups = [{**first, "title": f"$T = {length}$", "experiment": experiment, "metric_experiments": {}}
              for experiment, length in sorted(lengths.items(), key=lambda item: item[1])]
    return {**spec, "caption": _committed_caption(spec["caption"], result_set), "label": f"{spec['label']}_{result_set}",
            "groups": groups}


def _committed_caption(caption: str, result_set: str) -> str:
    """A table's caption for a committed result set: the config's, then a sentence naming the set."""
    return (f"{caption} Result set \\texttt{{{latex.escape(result_set)}}}, "
            f"committed under \\script{{{latex.escape(MEASURED_DIR)}}}.")


def slot_ladder(config: dict, experiment: str) -> dict:
    """The SparsePointer variants of an experiment that differ only in slot count (pointer logits and
    write gate on): {variant: {"slots", "paper_name", "merge_threshold", "strength_floor"}}."""
    ladder = {}
    for variant in config["experiments"][experiment]["variants"]:
        spec = config["variants"][variant]
        if spec.get("side_memory") == "sparse_pointer" and spec["pointer_logits"] and spec["write_gate"]:
            ladder[variant] = {key: spec[key] for key in ("slots", "paper_name", "merge_threshold", "strength_floor")}
    return ladder


def task_experiments(config: dict, task: str) -> list:
    """The experiments whose recipe's task is `task`, in the config's order."""
    return [name for name, spec in config["experiments"].items() if config["recipes"][spec["recipe"]]["task"] == task]


def ruler_window(config: dict, experiment: str) -> int:
    """The longest RULER-core budget an experiment's checkpoints can read: the shortest window its
    variants are trained on (an override may change one variant's seq_len)."""
    return min(recipe_for(config, experiment, variant)["seq_len"] for variant in config["experiments"][experiment]["variants"])


def ruler_jobs(config: dict) -> list:
    """(run, budget) of every RULER-core job: each run of each experiment of `ruler` at each of its budgets."""
    return [(run, budget) for experiment, spec in config["ruler"]["experiments"].items()
            for run in runs(config, experiment) for budget in spec["budgets"]]


def ruler_result_sets(config: dict) -> dict:
    """{name: its RULER-core scores CSV}: this run's, then each committed set of ruler.result_sets."""
    return {LOCAL_RESULT_SET: "results/ruler.csv",
            **{name: f"{MEASURED_DIR}/{name}/{SET_RULER}" for name in config["ruler"]["result_sets"]}}


def ruler_table_spec(config: dict, result_set: str = LOCAL_RESULT_SET) -> dict:
    """The RULER-core table of a result set: its caption, its blocks (this run's: per experiment and budget
    in the config's order; a committed set's: the (experiment, requested budget) pairs of its CSV, in order)
    and the labels of the variants it shows."""
    if result_set == LOCAL_RESULT_SET:
        experiments = config["ruler"]["experiments"]
        pairs = [(experiment, budget) for experiment, spec in experiments.items() for budget in spec["budgets"]]
        variants = [variant for experiment in experiments for variant in config["experiments"][experiment]["variants"]]
        caption, label = config["report"]["ruler"]["caption"], "tab:ruler"
    else:
        rows = _read_rows(result_set, SET_RULER)
        pairs = list(dict.fromkeys((row["experiment"], int(row["requested_budget"])) for row in rows))
        # a committed set may hold experiments this config does not run, so its variants come from its rows
        variants = [row["variant"] for row in rows if row["variant"] in config["variants"]]
        caption, label = _committed_caption(config["report"]["ruler"]["caption"], result_set), f"tab:ruler_{result_set}"
    return {"caption": caption, "label": label,
            "blocks": [{"experiment": experiment, "budget": budget} for experiment, budget in pairs],
            "labels": {variant: config["variants"][variant]["label"] for variant in variants}}


def eval_pairs(config: dict, experiment: str) -> list:
    """The pair counts a recall experiment is evaluated on."""
    return [s["pairs"] for s in config["recipes"][config["experiments"][experiment]["recipe"]]["eval"]["sets"]]


def benchmark_jobs(config: dict) -> list:
    """(variant, form) of every timing job: each variant in each configured form, or once, as
    `fast`, when it has no recurrence."""
    spec = config["benchmark"]
    return [(variant, form) for variant in spec["variants"]
            for form in (spec["forms"] if _registry().FAMILIES[config["variants"][variant]["family"]].has_recurrence else ["fast"])]


def benchmark_settings(config: dict, measurement: str, variant: str, form: str) -> dict:
    """Everything that determines one timing job's measurement (spec §5.5), and nothing else."""
    if measurement not in MEASUREMENTS:
        raise ValueError(f"unknown measurement {measurement!r}; valid: {', '.join(MEASUREMENTS)}")
    jobs = benchmark_jobs(config)
    if (variant, form) not in jobs:
        raise ValueError(f"no benchmark job {variant}/{form}; valid: {', '.join(f'{v}/{f}' for v, f in jobs)}")
    spec = config["benchmark"]
    settings = {
        "measurement": measurement,
        "variant": variant,
        "architecture": {k: v for k, v in config["variants"][variant].items() if k not in VARIANT_DESCRIPTION_KEYS},
        "form": form,
        "mode": spec["mode"],
        "seed": spec["seed"],
        "device": config["device"],
        "torch_threads": config["torch_threads"],
        "flush_denormals": config["flush_denormals"],
    }
    if measurement == "train_step":
        return {**settings, **spec["train_step"]}
    sweeps = [{"sweep": "paper", "lengths": spec["paper_lengths"], "warmup": spec["warmup"], "repeats": spec["repeats"]}]
    if form == "fast" and variant in spec["extended_variants"] and spec["extended_lengths"]:
        sweeps.append({"sweep": "extended", "lengths": spec["extended_lengths"], "warmup": spec["warmup"],
                       "repeats": spec["extended_repeats"]})
    return {**settings, "batch": spec["batch"], "sweeps": sweeps}


def benchmark_variant_settings(config: dict, variant: str) -> list:
    """The settings of every measurement of one variant, in each of its forms: one timing job."""
    forms = [form for timed, form in benchmark_jobs(config) if timed == variant]
    if not forms:
        raise ValueError(f"{variant!r} is not timed; valid: {', '.join(config['benchmark']['variants'])}")
    return [benchmark_settings(config, measurement, variant, form) for form in forms for measurement in MEASUREMENTS]


def benchmark_result_sets(config: dict) -> dict:
    """{name: folder holding its throughput.csv and train_step.csv}: this run's, then the committed ones."""
    return {LOCAL_RESULT_SET: "results/benchmarks",
            **{name: f"{MEASURED_DIR}/{name}" for name in config["benchmark"]["result_sets"]}}


def variant_names(config: dict, variants: list) -> dict:
    """{variant: {"label", "paper_name"}}, in the given order (a figure's order sets its colours)."""
    return {variant: {key: config["variants"][variant][key] for key in VARIANT_DESCRIPTION_KEYS} for variant in variants}


def benchmark_names(config: dict) -> dict:
    """The timed variants' names, in the config's order."""
    return variant_names(config, config["benchmark"]["variants"])
