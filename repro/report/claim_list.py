"""paper/claims.yaml expanded into the full claim list. A section of the file names the report table
(config `report: tables:`) beside which the paper makes its claims, and that table gives what a person
would otherwise copy: a claim's `paper` key (the table's paper experiment, the variant's paper name,
the metric) and one parameter-count claim per row whose count the paper prints. A claim of our
extension is written once and becomes one claim per result set and experiment of its task, marked
`source: extension`; a claim of a cited work (`cited`) has no paper key and is marked `source: cited`;
the paper's claims carry no source and are evaluated on this run. Free of pandas: the Snakefile expands
and checks the list before any job."""
from collections.abc import Iterator, Mapping

PARAMS = "params"
EXTENSION = "extension"  # the `source` of a claim of ours
CITED = "cited"  # the `source` of a claim of a cited work (the related systems)
# Kinds that compare against the paper's value of each model in `than`, so each needs a paper key.
ORDERING_KINDS = ("less_than", "greater_than")
# Parameter-count claims are named after the variant as the paper's tables name the model, without
# the family name that every UniMatrix variant key starts with.
FAMILY_PREFIX = "unimatrix_"


class ClaimError(ValueError):
    """A claims.yaml mistake found while expanding; the message names the key."""


def paper_key(experiment: str, model: str, metric: str) -> str:
    return f"{experiment}/{model}/{metric}"


def table_cells(spec: dict, experiment: str, variant: str, metric: str) -> set[str]:
    """The paper keys beside `metric` of `variant`'s runs in `experiment` in a resolved table spec
    (repro.config.table_spec): one, or none where no row of the table shows that variant's runs."""
    paper_metric = next((c.get("paper_metric", metric) for c in spec["columns"] if c["metric"] == metric), metric)
    return {paper_key(group["paper_experiment"], row["paper_name"], paper_metric)
            for group in spec["groups"] if group["metric_experiments"].get(metric, group["experiment"]) == experiment
            for row in group["rows"] if row["variant"] == variant}


def _paper(where: str, named: str | None, cells: set[str], reported: Mapping, table: str, shown: str) -> str:
    """The claim's paper key: the one it names, else the table's cell. A named key that the table
    gives anyway is refused, so that claims.yaml holds only what cannot be derived. `shown`: what the
    table's row would show, in words."""
    if named is not None:
        if cells == {named}:
            raise ClaimError(f"claims.yaml key '{where}': {named!r} is the paper key report table {table} gives; drop it")
        return named
    if len(cells) != 1:
        found = f"rows beside several paper numbers ({', '.join(sorted(cells))})" if cells else "no row"
        raise ClaimError(f"claims.yaml key '{where}': report table {table} has {found} showing {shown}; "
                         f"name its paper/reported.csv key (experiment/model/metric)")
    cell = next(iter(cells))
    if cell not in reported:
        raise ClaimError(f"claims.yaml key '{where}': the key report table {table} gives, {cell!r}, is not a key of "
                         f"paper/reported.csv; name the paper's number as its paper/reported.csv key")
    return cell


def _named_claim(section: dict, spec: dict, claim: dict, where: str, reported: Mapping) -> dict:
    def paper(key: str, named: str | None, variant: str) -> str | None:
        if "cited" in claim:  # a cited work's claim: the paper prints nothing to compare
            if named is not None:
                raise ClaimError(f"claims.yaml key '{where}.{key}': a claim of {claim['cited']} has no paper number; drop it")
            return None
        shown = f"{claim['metric']} of {variant} in experiment {claim['experiment']}"
        cells = table_cells(spec, claim["experiment"], variant, claim["metric"])
        return _paper(f"{where}.{key}", named, cells, reported, section["report_table"], shown)

    full = {"table": section["name"], **claim, "paper": paper("paper", claim.get("paper"), claim["variant"]),
            **({"source": CITED} if "cited" in claim else {})}
    if claim["kind"] in ORDERING_KINDS:
        full["than"] = [{**other, "paper": paper(f"than.{j}.paper", other.get("paper"), other["variant"])}
                        for j, other in enumerate(claim["than"])]
    return full


def _parameter_claims(section: dict, spec: dict, reported: Mapping, checked: set) -> Iterator[dict]:
    """One `exact` claim per variant of the table whose parameter count the paper prints. A count the
    paper prints again for the same variant (in another table or group) is checked once, where it
    first appears: `checked` holds the (variant, count) pairs claimed so far."""
    for group in spec["groups"]:
        experiment = group["metric_experiments"].get(PARAMS, group["experiment"])
        for row in group["rows"]:
            key = paper_key(group["paper_experiment"], row["paper_name"], PARAMS)
            if key not in reported or (row["variant"], reported[key]) in checked:
                continue
            checked.add((row["variant"], reported[key]))
            yield {"id": f"{section['id_prefix']}_params_{row['variant'].removeprefix(FAMILY_PREFIX)}",
                   "table": section["name"], "text": f"{row['label']}: its parameter count in experiment {experiment} "
                   "equals the paper's.", "experiment": experiment, "kind": "exact", "metric": PARAMS,
                   "variant": row["variant"], "paper": key}


def located_claims(document: dict, tables: Mapping[str, dict], reported: Mapping) -> list[tuple[str, dict]]:
    """Every claim, in the file's order (a section's parameter-count claims first), with the
    claims.yaml key it comes from. `tables`: report table name -> its resolved spec; `reported`: the
    paper's numbers by key (repro.config.reported_numbers)."""
    located, checked = [], set()
    for i, section in enumerate(document["tables"]):
        spec = tables[section["report_table"]]
        located += [(f"tables.{i}.report_table", claim) for claim in _parameter_claims(section, spec, reported, checked)]
        located += [(f"tables.{i}.claims.{j}", _named_claim(section, spec, claim, f"tables.{i}.claims.{j}", reported))
                    for j, claim in enumerate(section["claims"])]
    return located


def extension_claims(section: dict, where: str, result_sets: Mapping[str, Mapping[str, int]],
                     chance: float | None) -> list[tuple[str, dict]]:
    """Each claim of an `extension` section at every experiment of its task, in each result set (by set, then
    claim, then T), with the claims.yaml key it comes from. `where`: the section's key; `result_sets`:
    {result set: {experiment: its sequence length}}; `chance`: the accuracy of a guess at the task (%), or None."""
    located = []
    for result_set, lengths in result_sets.items():
        for j, claim in enumerate(section["claims"]):
            for experiment, length in sorted(lengths.items(), key=lambda item: item[1]):
                if length > claim.get("max_seq_len", length):
                    continue
                stated = {key: value for key, value in claim.items() if key != "max_seq_len"}
                located.append((f"{where}.claims.{j}", {
                    **stated, "id": f"{claim['id']}_t{length}_{result_set}", "template": claim["id"],
                    "table": f"{section['name']} (our extension), result set {result_set}",
                    "text": f"At T = {length}: {claim['text']}", "experiment": experiment, "paper": None,
                    "source": EXTENSION, "result_set": result_set, "seq_len": length, "chance": chance}))
    return located


def expand(document: dict, tables: Mapping[str, dict], reported: Mapping) -> list[dict]:
    """The paper's claims, as repro.report.claims evaluates them (repro.config.validate_claims adds the extension's)."""
    return [claim for _, claim in located_claims(document, tables, reported)]
