"""Greedy generation with a byte LM (spec §5.4): at most max_new tokens, each the argmax of the
model's next-token logits over the last `window` tokens (the length it was trained on), stopping at
a special id, which ends the text."""
import torch

from repro.data.wikitext import BOS_ID, EOS_ID, PAD_ID
from repro.device import transfer

STOP_IDS = frozenset({BOS_ID, EOS_ID, PAD_ID})


@torch.no_grad()
def greedy(model: torch.nn.Module, prompt_ids: list[int], max_new: int, window: int, device: torch.device) -> list[int]:
    """The generated ids, the stop id left out."""
    ids, generated = list(prompt_ids), []
    for _ in range(max_new):
        context = transfer(torch.tensor([ids[-window:]]), device)
        next_id = int(model(context)[0, -1].argmax())
        if next_id in STOP_IDS:
            break
        generated.append(next_id)
        ids.append(next_id)
    return generated
