"""Tasks. Each module offers VOCAB_SIZE, PAD_ID, MODEL_KWARGS (extra keywords for models.build_model),
sample_batch(settings, data, generator), loss(logits, targets) and
evaluate(model, settings, data, device) -> (metrics, data description). The triple benchmark trains
with its own staged curriculum (repro/train_staged.py) and offers sample(...) instead of sample_batch."""
from repro.tasks import lm, recall, signal_noise, triple

TASKS = {"lm": lm, "recall": recall, "signal_noise": signal_noise, "triple": triple}
