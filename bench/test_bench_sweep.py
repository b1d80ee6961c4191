"""Comparison suite: fixed work per CPU, timed, for strategy x CPUs x workload.

Each benchmark times how long every CPU takes to perform the same number of operations, so
``--benchmark-compare-fail`` flags a revision that made a point slower.  Only the work window is
timed: from the start barrier's release until the last CPU finishes its operations, as the runner
measures it (``record["seconds"]``).  The harness around it -- making the shared segment, forking,
the calibration, the final verification -- is not: it was 30-37% of a whole ``run()`` and would
turn a harness change into a "regression".  ``WorkClock`` is the timer pytest-benchmark reads: it
advances by each run's work window and by nothing else.  ``extra_info`` carries the whole call's
time too (``harness_s``), with throughput, lock wait share and contentions per acquisition;
``group`` is the workload, so ``--benchmark-group-by=group`` prints one table per workload.

    python -m pytest bench/test_bench_sweep.py --benchmark-only --benchmark-autosave
    # change something, then
    python -m pytest bench/test_bench_sweep.py --benchmark-only \
        --benchmark-compare --benchmark-compare-fail=median:50%

50%: the same revision measured in three sessions on the shared 2-core machine moved its medians by
up to 41% (README.md, "Comparing revisions with pytest-benchmark"); the threshold sits above that.
"""

import os
import time

import pytest

from zswap_conc.config import Config, validate
from zswap_conc.results.run import integrity_ok
from zswap_conc.runner import run, warm_up
from zswap_conc.strategies import STRATEGIES
from zswap_conc.workload import PRESETS

OPS_PER_CPU = int(os.environ.get("ZSWAP_BENCH_OPS", "30000"))
CPUS = sorted({1, min(2, len(os.sched_getaffinity(0)))})
WORKLOADS = ("thrash", "swapout-storm")


class WorkClock:
    """A clock that only runs during work windows: pytest-benchmark reads it before and after each
    call, and each ``run()`` advances it by the seconds its workers spent on their fixed work."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("cpus", CPUS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sweep_point(benchmark, strategy, cpus, workload):
    warm_up()
    # think_ns=0: with the default (auto) think time, 30 us of spinning between operations made 77% of the
    # window on this machine, so a 10% slower zswap path showed as about 2%; and auto is re-measured each
    # run, which adds its own noise.  Back to back, the window is the zswap path and its locks.
    cfg = validate(Config(strategy=strategy, cpus=cpus, mix=PRESETS[workload], ops_per_cpu=OPS_PER_CPU, think_ns=0))
    benchmark.group = f"workload={workload}"
    assert hasattr(benchmark, "_timer"), "pytest-benchmark changed: the work-window clock cannot be installed"
    clock = WorkClock()
    benchmark._timer = clock  # time the work window only (see the module docstring)
    records, whole = [], []

    def one():
        t = time.perf_counter()
        rec = run(cfg)
        whole.append(time.perf_counter() - t)
        clock.now += rec["seconds"]
        records.append(rec)

    benchmark.pedantic(one, rounds=3, iterations=1)
    assert all(integrity_ok(r) for r in records)
    assert all(r["seconds"] < w for r, w in zip(records, whole, strict=True))  # the window is inside the call
    mid = sorted(records, key=lambda r: r["throughput"]["ops_s"])[len(records) // 2]
    benchmark.extra_info.update(
        ops_s=mid["throughput"]["ops_s"],
        work_s=[r["seconds"] for r in records],
        harness_s=[round(w - r["seconds"], 4) for r, w in zip(records, whole, strict=True)],
        wait_share=mid["contention"]["wait_share"],
        contentions_per_acquisition=mid["contention"]["contentions_per_acquisition"],
        oversubscribed=mid["meta"]["oversubscribed"],
        disturbed=any(r["disturbance"]["disturbed"] for r in records),
    )
