"""Tasks. Each module offers VOCAB_SIZE, PAD_ID, MODEL_KWARGS (extra keywords for models.build_model),
training_batches(settings, data) (the run's batches, in order), loss(logits, targets) and
evaluate(model, settings, data, device) -> (metrics, data description). The triple benchmark trains
with its own staged curriculum (repro/train_staged.py) and offers stage_batches(...) instead of training_batches."""
from repro.tasks import lm, recall, signal_noise, triple

TASKS = {"lm": lm, "recall": recall, "signal_noise": signal_noise, "triple": triple}
