"""A stand-in step for tests/test_gpu_pool.py: records the GPUs its process may see and when it ran,
then fails where asked, as a training step would on CUDA."""
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
