"""Tasks. Each module offers VOCAB_SIZE, PAD_ID, sample_batch(settings, data, generator),
loss(logits, targets) and evaluate(model, settings, data, device) -> (metrics, data description)."""
from repro.tasks import lm, recall

TASKS = {"lm": lm, "recall": recall}
