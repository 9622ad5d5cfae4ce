"""Pick the runs behind a number from the tidy metrics frame (experiment, variant, mode, seed, metric, value).

A variant without runs in a mode has no defect to correct (the Transformer): its faithful runs are
the baseline in every mode."""
import pandas as pd

BASELINE_MODE = "faithful"


def has_runs(metrics: pd.DataFrame, variant: str, mode: str) -> bool:
    return bool(((metrics["variant"] == variant) & (metrics["mode"] == mode)).any())


def values(metrics: pd.DataFrame, variant: str, mode: str, metric: str) -> pd.Series:
    """The metric's value per seed (index: seed, sorted) of the runs that stand for `variant` in `mode`."""
    run_mode = mode if has_runs(metrics, variant, mode) else BASELINE_MODE
    rows = metrics[(metrics["variant"] == variant) & (metrics["mode"] == run_mode) & (metrics["metric"] == metric)]
    if rows["seed"].duplicated().any():
        raise ValueError(f"{variant}/{mode}/{metric}: more than one value per seed; select one experiment first")
    return rows.set_index("seed")["value"].astype(float).sort_index()
