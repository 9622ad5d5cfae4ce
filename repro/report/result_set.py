"""Read a result set: a folder holding the pipeline's `metrics.csv` and, where the claims were
evaluated, `claims.csv` (a run's `results/`, or a set copied from another machine)."""
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from repro.aggregate import COLUMNS as METRICS_COLUMNS

METRICS_FILE, CLAIMS_FILE = "metrics.csv", "claims.csv"
# What a comparison reads of claims.csv; the file may hold more columns than these.
CLAIMS_COLUMNS = ["experiment", "claim", "mode", "quantity", "ours", "ci95", "n", "verdict"]


class ResultSetError(ValueError):
    pass


@dataclass(frozen=True)
class ResultSet:
    folder: Path
    metrics: pd.DataFrame
    claims: pd.DataFrame | None  # None where the folder holds no claims.csv


def _read(path: Path, columns: list[str], numeric: list[str], unique: list[str]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise ResultSetError(f"{path}: empty file; expected the columns {', '.join(columns)}") from None
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ResultSetError(f"{path}: missing column(s) {', '.join(missing)}; expected at least {', '.join(columns)}")
    for column in numeric:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = frame[column][values.isna() & frame[column].notna()]
        if not bad.empty:
            raise ResultSetError(f"{path}: column {column} holds a value that is not a number: {bad.iloc[0]!r}")
        frame[column] = values
    repeated = frame[frame.duplicated(unique, keep=False)]
    if not repeated.empty:
        row = repeated.iloc[0]
        raise ResultSetError(f"{path}: more than one row for {', '.join(f'{key}={row[key]}' for key in unique)}; "
                             f"expected one row per {', '.join(unique)}")
    return frame


def load(folder) -> ResultSet:
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultSetError(f"{folder}: not a folder; expected a result set folder holding {METRICS_FILE} "
                             f"(and {CLAIMS_FILE}), e.g. results/")
    if not (folder / METRICS_FILE).is_file():
        raise ResultSetError(f"{folder}: no {METRICS_FILE}; a result set folder holds {METRICS_FILE} "
                             f"(and {CLAIMS_FILE}), as results/ does after a run")
    metrics = _read(folder / METRICS_FILE, METRICS_COLUMNS, numeric=["value"], unique=METRICS_COLUMNS[:5])
    claims_path = folder / CLAIMS_FILE
    if not claims_path.is_file():
        return ResultSet(folder, metrics, claims=None)
    return ResultSet(folder, metrics, _read(claims_path, CLAIMS_COLUMNS, numeric=["ours", "ci95", "n"], unique=CLAIMS_COLUMNS[:3]))
