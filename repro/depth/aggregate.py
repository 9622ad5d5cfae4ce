"""Collect the depth diagnostics of every run into one tidy table (results/depth_diagnostics.csv): a
row per experiment, variant, mode, seed, depth step and measure (halted_pct for ACT models only).

    python -m repro.depth.aggregate --out results/depth_diagnostics.csv results/runs/*/*/*/*/depth.json
"""
from repro.artifacts import collect_json
from repro.depth.measure import HALTING, METRICS

RUN_KEYS = ("experiment", "variant", "mode", "seed")


def rows(result: dict) -> list[dict]:
    return [{**{key: result[key] for key in RUN_KEYS}, "step": step["step"], "metric": metric, "value": step[metric]}
            for step in result["steps"] for metric in (*METRICS, HALTING) if metric in step]


def main(argv=None) -> None:
    collect_json(argv, __doc__, "repro.depth.measure", rows)


if __name__ == "__main__":
    main()
