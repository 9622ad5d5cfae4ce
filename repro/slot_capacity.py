"""How many recall bindings the SparsePointer write rule can keep (spec §4.7, mechanism notes).

The write rule alone, with random token embeddings as keys and every strength above the floor, run
over recall sequences: in what fraction of them is the queried key's binding still in a slot when
the lookup at the queried key needs it? This is the capacity ceiling behind Table 5's jump between
16 and 32 slots; a trained model can only do worse than it (or guess).

    python -m repro.slot_capacity --pairs 4 6 8 --slots 4 32 --merge-threshold 0.85 --strength-floor 0.05 \\
        --sequences 2000 --seed 0 --out results/audit/slot_capacity.csv
"""
import argparse
from dataclasses import dataclass

import pandas as pd
import torch
import torch.nn.functional as F

from models.side_memory import slot_writes
from repro.artifacts import write_csv_atomically
from repro.tasks.recall import VOCAB_SIZE, recall_example

EMBEDDING_DIM = 64
SEQ_LEN = 128
COLUMNS = ["pairs", "slots", "sequences", "binding_kept_pct", "no_eviction"]


@dataclass(frozen=True)
class Survival:
    stored: float        # fraction of sequences whose queried binding is in a slot at the lookup
    no_eviction: bool    # no sequence lost any write before the lookup


def recall_inputs(pairs: int, sequences: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.tensor([recall_example(pairs, SEQ_LEN, generator)[:-1] for _ in range(sequences)])


def binding_survival(slots: int, inputs: torch.Tensor, merge_threshold: float, strength_floor: float,
                     seed: int = 1) -> Survival:
    """inputs (n, T): recall inputs (answer removed), whose position T − 2 holds the queried key."""
    table = torch.randn(VOCAB_SIZE, EMBEDDING_DIM, generator=torch.Generator().manual_seed(seed))
    keys = table[F.pad(inputs[:, :-1], (1, 0))]  # position t writes the key e_{t−1}
    lookup = inputs.size(1) - 2
    key_position = (inputs[:, :lookup] == inputs[:, lookup, None]).int().argmax(1)
    written_ids = torch.tensor([len(set(row[:lookup - 1].tolist())) for row in inputs])
    writer, filled = slot_writes(keys, torch.ones(inputs.shape), slots, merge_threshold, strength_floor)
    # the binding key → value is the write at the position after the key, whose previous token is the key
    stored = ((writer[:, lookup] == key_position[:, None] + 1) & filled[:, lookup]).any(1)
    no_eviction = filled[:, lookup].sum(1) == written_ids
    return Survival(stored.double().mean().item(), bool(no_eviction.all()))


def capacity(pairs: list[int], slot_counts: range, merge_threshold: float, strength_floor: float,
             sequences: int, seed: int) -> pd.DataFrame:
    """One row per (pair count, slot count): the percentage of sequences whose binding the rule keeps."""
    rows = []
    for n in pairs:
        inputs = recall_inputs(n, sequences, seed)
        for slots in slot_counts:
            survival = binding_survival(slots, inputs, merge_threshold, strength_floor)
            rows.append((n, slots, sequences, 100 * survival.stored, survival.no_eviction))
    return pd.DataFrame(rows, columns=COLUMNS)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", required=True, type=int, nargs="+", help="the recall pair counts")
    parser.add_argument("--slots", required=True, type=int, nargs=2, metavar=("FEWEST", "MOST"),
                        help="simulate every slot count from FEWEST to MOST")
    parser.add_argument("--merge-threshold", required=True, type=float, help="the write rule's θ")
    parser.add_argument("--strength-floor", required=True, type=float, help="the write rule's φ")
    parser.add_argument("--sequences", required=True, type=int, help="recall sequences per pair count")
    parser.add_argument("--seed", required=True, type=int, help="seed of the recall generator")
    parser.add_argument("--out", required=True, help=f"CSV with columns {','.join(COLUMNS)}")
    args = parser.parse_args(argv)
    fewest, most = args.slots
    if not 1 <= fewest <= most:
        parser.error(f"--slots {fewest} {most}: must be 1 <= FEWEST <= MOST")
    frame = capacity(args.pairs, range(fewest, most + 1), args.merge_threshold, args.strength_floor,
                     args.sequences, args.seed)
    write_csv_atomically(frame, args.out)
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
