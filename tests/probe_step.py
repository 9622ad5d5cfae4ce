"""A stand-in step for the tests of repro/steps.py: sleeps, records the GPUs its process may see and
when it ran, then fails where asked."""
import json
import os
import sys
import time


def main(argv) -> None:
    out, seconds, outcome = argv
    start = time.time()
    time.sleep(float(seconds))
    with open(out, "w") as record:
        json.dump({"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time()}, record)
    if outcome == "fail":
        sys.exit("error: the step failed")
