"""Tasks. Each module offers VOCAB_SIZE, PAD_ID, MODEL_KWARGS (extra keywords for models.build_model),
curriculum(model, settings, data, device) (how a run trains: repro/curriculum.py) and
evaluate(model, settings, data, device) -> (metrics, data description)."""
from repro.tasks import lm, recall, signal_noise, triple

TASKS = {"lm": lm, "recall": recall, "signal_noise": signal_noise, "triple": triple}
