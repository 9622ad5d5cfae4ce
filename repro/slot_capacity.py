"""How many recall bindings the SparsePointer write rule can keep (spec §4.7, mechanism notes).

The write rule alone, with random token embeddings as keys and every strength above the floor, run
over recall sequences: in what fraction of them is the queried key's binding still in a slot when
the lookup at the queried key needs it? This is the capacity ceiling behind Table 5's jump between
16 and 32 slots; a trained model can only do worse than it (or guess)."""
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from models.side_memory import slot_writes
from repro.tasks.recall import VOCAB_SIZE, recall_example

EMBEDDING_DIM = 64
SEQ_LEN = 128


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
