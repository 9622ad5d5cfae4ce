"""GPUs for jobs side by side on one machine (repro/gpu_pool.py, repro/steps.py), without a GPU:
each running job holds GPUs no other running job holds, a failed job gives its GPUs back, and a
forked step's process sees only its own."""
import itertools
import json
import threading
import time

import pytest

from repro.gpu_pool import GpuPool, PoolExhausted, gpus_present
from repro.steps import StepFailed, run_step


def test_jobs_side_by_side_hold_different_gpus():
    pool = GpuPool(2, ["0", "1"])
    with pool.claim(1) as first, pool.claim(1) as second:
        assert first + second == ["0", "1"]
        with pytest.raises(PoolExhausted):
            with pool.claim(1):
                pass
    with pool.claim(2) as both:
        assert both == ["0", "1"]


def test_a_failed_job_gives_its_gpus_back():
    pool = GpuPool(2, ["0", "1"])
    with pytest.raises(RuntimeError, match="the job failed"):
        with pool.claim(2):
            raise RuntimeError("the job failed")
    with pool.claim(2) as ids:
        assert ids == ["0", "1"]


def test_more_slots_than_gpus_put_each_job_on_the_least_held():
    pool = GpuPool(4, ["0", "1"])  # profiles/gpu: two small jobs per card
    with pool.claim(1) as a, pool.claim(1) as b, pool.claim(1) as c:
        assert [a, b, c] == [["0"], ["1"], ["0"]]
    with pytest.raises(PoolExhausted):  # one job cannot hold a card twice
        with pool.claim(3):
            pass


def test_the_pool_draws_on_the_gpus_this_process_may_see(tmp_path, monkeypatch):
    assert gpus_present({"CUDA_VISIBLE_DEVICES": "2,3"}) == ["2", "3"]
    assert gpus_present({"CUDA_VISIBLE_DEVICES": ""}) == []
    driver = tmp_path / "gpus"
    for address in ("0000:17:00.0", "0000:65:00.0"):
        (driver / address).mkdir(parents=True)
    monkeypatch.setattr("repro.gpu_pool.NVIDIA_GPUS", str(driver))
    assert gpus_present({}) == ["0", "1"]
    monkeypatch.setattr("repro.gpu_pool.NVIDIA_GPUS", str(tmp_path / "none"))
    assert gpus_present({}) == []


def test_no_gpu_is_held_twice_under_concurrent_claims():
    pool, held, clashes = GpuPool(3, ["0", "1", "2"]), set(), []
    lock = threading.Lock()

    def job():
        for _ in range(50):
            try:
                with pool.claim(1) as (gpu,):
                    with lock:
                        clashes.append(gpu in held)
                        held.add(gpu)
                    time.sleep(0.001)
                    with lock:
                        held.discard(gpu)
            except PoolExhausted:  # Snakemake would not have started this job
                pass

    threads = [threading.Thread(target=job) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert clashes and not any(clashes)


@pytest.mark.slow  # starts the fork server, which imports torch
def test_forked_steps_side_by_side_each_see_only_their_gpu(tmp_path):
    """Four jobs, two at a time as Snakemake runs them with --resources gpu=2, one of them failing."""
    pool, running, failures = GpuPool(2, ["0", "1"]), threading.Semaphore(2), []

    def job(index):
        with running:
            try:
                run_step("probe_step", [str(tmp_path / f"{index}.json"), "1", "fail" if index == 1 else "ok"],
                         str(tmp_path / f"{index}.log"), alone=False, gpus=1, pool=pool)
            except StepFailed as error:
                failures.append((index, str(error)))

    threads = [threading.Thread(target=job, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = [json.loads((tmp_path / f"{index}.json").read_text()) for index in range(4)]
    assert [index for index, _ in failures] == [1], failures
    assert all(record["gpus"] in ("0", "1") for record in records)
    for a, b in itertools.combinations(records, 2):
        if a["start"] < b["end"] and b["start"] < a["end"]:
            assert a["gpus"] != b["gpus"]
