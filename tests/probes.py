"""The causality probe shared by the model tests."""
import torch


def logit_changes(model, vocab_size: int, length: int, positions, seed: int = 1) -> list:
    """[(t, max |Δ logits| at each position (T,))] for each t in `positions`, when token t alone of one
    random sequence changes (eval mode, no gradients)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab_size, (1, length), generator=g).repeat(len(positions) + 1, 1)
    for row, t in enumerate(positions, start=1):
        x[row, t] = (x[row, t] + torch.randint(1, vocab_size, (), generator=g)) % vocab_size
    with torch.no_grad():
        logits = model.eval()(x)
    return [(t, (logits[row] - logits[0]).abs().amax(-1)) for row, t in enumerate(positions, start=1)]
