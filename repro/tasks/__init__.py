"""Tasks. Each module offers VOCAB_SIZE, PAD_ID, MODEL_KWARGS (extra keywords for models.build_model),
DEFECTS (the defects of spec §8 that `mode` switches in the task),
curriculum(model, settings, data, device, acceleration) (how a run trains: repro/curriculum.py),
evaluate(model, settings, data, device, acceleration) -> (metrics, data description) and
recipe_problems(recipe, data) (what the task cannot generate, checked when the config is loaded), and,
where a guess has one accuracy, CHANCE_PCT (the level at which paper/claims.yaml's extension orderings are untested).
`acceleration` is the job's record (repro/acceleration.py): the tasks read whether to replay CUDA graphs."""
from repro.tasks import lm, recall, recall_distance, signal_noise, triple

TASKS = {"lm": lm, "recall": recall, "recall_distance": recall_distance, "signal_noise": signal_noise, "triple": triple}
