import json
import subprocess
import sys

from conftest import REPO


def test_train_time_benchmark_prints_seconds_and_ratios():
    result = subprocess.run([sys.executable, "-m", "repro.benchmarks.train_time", "--config", "config/config.yaml", "config/smoke.yaml",
                             "--variants", "transformer", "sparse_pointer", "--steps", "2", "--device", "cpu"],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["variant"] for row in rows] == ["transformer", "sparse_pointer"]
    assert rows[0]["ratio_to_transformer"] == 1.0 and rows[1]["seconds"] > 0 and rows[1]["steps"] == 2
    assert rows[1]["ratio_to_transformer"] == rows[1]["seconds"] / rows[0]["seconds"]
