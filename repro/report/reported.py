"""The paper's own numbers (paper/reported.csv, spec §7.1), looked up by experiment, model and metric."""
from pathlib import Path

import pandas as pd

KEY_SEPARATOR = "/"


class Reported:
    def __init__(self, path: Path):
        frame = pd.read_csv(path)
        self._values = {(row.experiment, row.model, row.metric): float(row.value) for row in frame.itertuples()}

    def get(self, experiment: str, model: str, metric: str) -> float | None:
        """The paper's value, or None where the paper prints none."""
        return self._values.get((experiment, model, metric))

    def at(self, key: str) -> float:
        """The value behind a key written `experiment/model/metric`; a key the paper lacks is an error."""
        parts = key.split(KEY_SEPARATOR)
        if len(parts) != 3:
            raise ValueError(f"reported key {key!r}: expected experiment{KEY_SEPARATOR}model{KEY_SEPARATOR}metric")
        value = self.get(*parts)
        if value is None:
            raise KeyError(f"reported key {key!r} is not in the paper's numbers")
        return value
