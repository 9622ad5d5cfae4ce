"""Audit of the triple-interaction benchmark (spec §5.2.5, D4), measured on the generator itself.

The uncorrected benchmark has no task token and one body format for all four rules, so one input
can carry up to four labels: how often it does, and the best accuracy any model can reach on it.
The corrected benchmark still leaks the task through sequence length (faithful lengths, D4) and
through its body format (chunk for lookup, record for the others): how well those alone identify it.

    python -m repro.triple_audit --seed 23 --table-seed 124 --seq-len 49 --examples 20000 --out results/audit/triple_audit.csv
"""
import argparse
from collections import Counter

import pandas as pd
import torch
import torch.nn.functional as F

from repro.artifacts import write_csv_atomically
from repro.tasks.triple_data import N_CLASSES, N_TAGS, N_VALUES, TAG_BASE, TASKS, lookup_table, rule_labels, triple_batch



def all_rule_labels(aux: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """(N, 4) labels of the four rules for queried-tag values aux (N, 3)."""
    return rule_labels(aux[:, 0], aux[:, 1], aux[:, 2], table)


def is_ambiguous(labels: torch.Tensor) -> torch.Tensor:
    """(N,) True where the rules' labels (N, R) are not all equal."""
    return (labels != labels[:, :1]).any(1)


def distinct_label_count(labels: torch.Tensor) -> torch.Tensor:
    return F.one_hot(labels, N_CLASSES).amax(1).sum(1)


def bayes_accuracy(labels: torch.Tensor, task_posterior: torch.Tensor = None) -> float:
    """Best achievable accuracy (%) when the input fixes the rules' labels (N, R) but not which rule
    applies: per input, predict the label of largest posterior mass Σ_rule P(rule | input).
    task_posterior (N, R) defaults to uniform."""
    if task_posterior is None:
        task_posterior = torch.full(labels.shape, 1.0 / labels.size(1), dtype=torch.float64)
    label_mass = (F.one_hot(labels, N_CLASSES) * task_posterior[..., None]).sum(1)
    return 100.0 * label_mass.amax(1).mean().item()


def every_value_tuple() -> torch.Tensor:
    """All 8³ (a, b, c), each equally likely for the queried tag."""
    values = torch.arange(N_VALUES)
    return torch.cartesian_prod(values, values, values)


def best_map_accuracy(keys: list, targets: list) -> float:
    """Accuracy (%) of the best guess of the target from the key alone: Σ_key (top count) / N."""
    top_counts = Counter()
    for (key, target), count in Counter(zip(keys, targets)).items():
        top_counts[key] = max(top_counts[key], count)
    return 100.0 * sum(top_counts.values()) / len(targets)


def body_tag_count(inputs: torch.Tensor) -> torch.Tensor:
    """(B,) tag tokens before the query: 9 in the chunk format, 3 in the record format."""
    body = inputs[:, :-1]
    return ((body >= TAG_BASE) & (body < TAG_BASE + N_TAGS)).sum(1)


def uncorrected_sample(examples: int, seed: int, seq_len: int, table: torch.Tensor,
                       body_format: str = "record") -> torch.Tensor:
    """(N, 4) rule labels of uncorrected inputs: no task token, one body format. The input does not
    depend on the task, so one draw serves all four rules."""
    generator = torch.Generator().manual_seed(seed)
    _, _, aux = triple_batch("copy", examples, seq_len, generator, table, equal_lengths=False,
                             task_token=False, body_format=body_format)
    return all_rule_labels(aux, table)


def mixed_task_sample(examples: int, seed: int, seq_len: int, table: torch.Tensor, equal_lengths: bool,
                      task_token: bool):
    """examples // 4 sequences of each task (task uniform), from one generator seeded `seed`.
    Returns per sequence: task index, length, body tag count, and the four rule labels (N, 4)."""
    generator = torch.Generator().manual_seed(seed)
    tasks, lengths, tag_counts, labels = [], [], [], []
    for task_id, task in enumerate(TASKS):
        inputs, _, aux = triple_batch(task, examples // len(TASKS), seq_len, generator, table,
                                      equal_lengths=equal_lengths, task_token=task_token)
        tasks += [task_id] * len(inputs)
        lengths += [inputs.size(1)] * len(inputs)
        tag_counts += body_tag_count(inputs).tolist()
        labels.append(all_rule_labels(aux, table))
    return tasks, lengths, tag_counts, torch.cat(labels)


def task_posterior_from(keys: list, tasks: list) -> torch.Tensor:
    """(N, 4) empirical P(task | key) of every sequence's key."""
    counts = Counter(zip(keys, tasks))
    totals = Counter(keys)
    return torch.tensor([[counts[key, task] / totals[key] for task in range(len(TASKS))] for key in keys],
                        dtype=torch.float64)


def audit(seed: int, examples: int, seq_len: int, table_seed: int) -> pd.DataFrame:
    table = lookup_table(table_seed)
    uncorrected = uncorrected_sample(examples, seed, seq_len, table)
    exact = all_rule_labels(every_value_tuple(), table)
    no_token = mixed_task_sample(examples, seed, seq_len, table, equal_lengths=False, task_token=False)
    faithful = mixed_task_sample(examples, seed, seq_len, table, equal_lengths=False, task_token=True)
    equal = mixed_task_sample(examples, seed, seq_len, table, equal_lengths=True, task_token=True)
    no_token_tasks, no_token_lengths, no_token_tags, no_token_labels = no_token
    no_token_keys = list(zip(no_token_lengths, no_token_tags))
    source = f"seed {seed}, lookup table seed {table_seed}, seq_len {seq_len}"
    rows = [
        ("ambiguous_input_pct", 100.0 * is_ambiguous(uncorrected).double().mean().item(),
         f"% of {len(uncorrected)} uncorrected inputs (no task token, record body for all) whose four rule labels are not all equal"),
        ("ambiguous_input_exact_pct", 100.0 * is_ambiguous(exact).double().mean().item(),
         "the same over all 512 (a, b, c) of the queried tag, each equally likely"),
        ("mean_distinct_labels", distinct_label_count(uncorrected).double().mean().item(),
         "mean number of different labels the four rules give one uncorrected input (1 to 4)"),
        ("bayes_accuracy_uncorrected_pct", bayes_accuracy(uncorrected),
         "best achievable accuracy (%) on the uncorrected mixed-task benchmark, task uniform: mean of (most common label count)/4"),
        ("bayes_accuracy_uncorrected_exact_pct", bayes_accuracy(exact),
         "the same over all 512 (a, b, c)"),
        ("bayes_accuracy_no_task_token_task_formats_pct",
         bayes_accuracy(no_token_labels, task_posterior_from(no_token_keys, no_token_tasks)),
         "best achievable accuracy (%) on the corrected generator with only the task token removed (each task its own body format, faithful lengths): the task posterior given length and body format"),
        ("task_from_length_faithful_pct", best_map_accuracy(faithful[1], faithful[0]),
         "best accuracy (%) of naming the task from sequence length alone, faithful lengths (lookup 49, others 43), task uniform"),
        ("task_from_length_equal_lengths_pct", best_map_accuracy(equal[1], equal[0]),
         "the same with equal lengths (every task seq_len tokens)"),
        ("task_from_body_format_equal_lengths_pct", best_map_accuracy(equal[2], equal[0]),
         "best accuracy (%) of naming the task from the body format alone (tag tokens in the body: 9 chunk, 3 record), equal lengths"),
    ]
    return pd.DataFrame([(name, value, f"{text} ({source})") for name, value, text in rows],
                        columns=["quantity", "value", "description"])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, required=True, help="seed of the data generators")
    parser.add_argument("--table-seed", type=int, required=True, help="seed of the lookup table (a run's seed + 101)")
    parser.add_argument("--seq-len", type=int, required=True, help="the benchmark's sequence length (49)")
    parser.add_argument("--examples", type=int, required=True, help="sequences per sample (a multiple of 4)")
    parser.add_argument("--out", required=True, help="CSV with columns quantity,value,description")
    args = parser.parse_args(argv)
    if args.examples < len(TASKS):
        parser.error(f"--examples {args.examples}: must be at least {len(TASKS)}")
    frame = audit(args.seed, args.examples, args.seq_len, args.table_seed)
    write_csv_atomically(frame, args.out)
    print(frame[["quantity", "value"]].to_string(index=False))


if __name__ == "__main__":
    main()
