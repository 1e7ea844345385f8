"""The worker pool: a task that crashes, hangs or raises costs only that task; the run goes on."""

from __future__ import annotations

import os
import signal
import time

import pytest

from f2a_studio.detect.pool import Outcome, PoolError, Task, WorkerPool


def work(payload: object) -> object:
    """Runs in the worker processes (pickled by reference: must stay module-level)."""
    if payload == "crash":
        os.kill(os.getpid(), signal.SIGKILL)  # what the OOM killer does; no core dump to wait for
    if payload == "hang":
        time.sleep(600)
    if payload == "raise":
        raise ValueError("bad input")
    if payload == "pid":
        return os.getpid()
    return payload * 2  # type: ignore[operator]


def broken_init() -> None:
    raise RuntimeError("cannot load the model")


def run_all(pool: WorkerPool, payloads: list[object], timeout_s: float = 30.0) -> dict[int, object]:
    results = {}
    for r in pool.run([Task(i, p, timeout_s) for i, p in enumerate(payloads)]):
        assert r.key not in results, "every task reports exactly once"
        results[r.key] = r
    assert sorted(results) == list(range(len(payloads)))
    return results


def test_crashed_worker_costs_only_its_task() -> None:
    with WorkerPool(work, 2) as pool:
        results = run_all(pool, [1, "crash", 3, 4, "crash", 6])
        assert results[1].outcome is Outcome.CRASH and "SIGKILL" in (results[1].error or "")
        assert results[4].outcome is Outcome.CRASH
        assert [results[i].value for i in (0, 2, 3, 5)] == [2, 6, 8, 12]
        assert pool.replaced == 2


def test_hung_worker_is_killed_and_replaced() -> None:
    with WorkerPool(work, 2) as pool:
        # no clock here: a pool that waited for the 600 s sleep would run into pytest's 300 s timeout, and
        # its results would be values, not TIMEOUT
        results = run_all(pool, ["hang", 1, 2, "hang", 3], timeout_s=1.5)
        assert results[0].outcome is Outcome.TIMEOUT and "timed out after 1.5 s" in (results[0].error or "")
        assert results[3].outcome is Outcome.TIMEOUT
        assert [results[i].value for i in (1, 2, 4)] == [2, 4, 6]
        # the replacements really are new processes and they work
        after = run_all(pool, ["pid", "pid"])
        assert all(r.ok for r in after.values())


def test_exception_is_reported_and_the_worker_lives_on() -> None:
    with WorkerPool(work, 1) as pool:
        results = run_all(pool, ["pid", "raise", "pid"])
        assert results[1].outcome is Outcome.ERROR and results[1].error == "ValueError: bad input"
        assert results[0].value == results[2].value  # same process before and after
        assert pool.replaced == 0


def test_stop_abandons_running_tasks() -> None:
    with WorkerPool(work, 1) as pool:
        calls = {"n": 0}

        def should_stop() -> bool:
            calls["n"] += 1
            return calls["n"] > 10  # a couple of seconds into the hang

        # the hang is 600 s and pytest's timeout 300 s: returning at all shows the run was abandoned
        results = list(pool.run([Task(0, "hang", 600.0), Task(1, 5, 600.0)], should_stop))
        assert results == [] and calls["n"] == 11  # stopped at the first "yes", not polled on


def test_workers_that_cannot_start_fail_the_run_clearly() -> None:
    with pytest.raises(PoolError, match="cannot load the model"), WorkerPool(work, 1, init=broken_init) as pool:
        list(pool.run([Task(0, 1, 10.0)]))


def test_spawn_start_method_works_too() -> None:
    with WorkerPool(work, 1, start_method="spawn") as pool:
        assert run_all(pool, [21])[0].value == 42


def test_bad_worker_count() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        WorkerPool(work, 0)
