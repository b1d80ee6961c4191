"""Comparison suite: fixed work per CPU, timed, for strategy x CPUs x workload.

Each benchmark times how long every CPU takes to perform the same number of operations, so
``--benchmark-compare-fail=median:10%`` flags a revision that made a point slower.  ``extra_info``
carries throughput, lock wait share and contentions per acquisition; ``group`` is the workload, so
``--benchmark-group-by=group`` prints one table per workload.

    python -m pytest bench/test_bench_sweep.py --benchmark-only --benchmark-autosave
    # change something, then
    python -m pytest bench/test_bench_sweep.py --benchmark-only \
        --benchmark-compare --benchmark-compare-fail=median:10%
"""

import os

import pytest

from zswap_conc.config import Config, validate
from zswap_conc.results.run import integrity_ok
from zswap_conc.runner import run, warm_up
from zswap_conc.strategies import STRATEGIES
from zswap_conc.workload import PRESETS

OPS_PER_CPU = int(os.environ.get("ZSWAP_BENCH_OPS", "30000"))
CPUS = sorted({1, min(2, len(os.sched_getaffinity(0)))})
WORKLOADS = ("thrash", "swapout-storm")


@pytest.mark.parametrize("workload", WORKLOADS)
@pytest.mark.parametrize("cpus", CPUS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sweep_point(benchmark, strategy, cpus, workload):
    warm_up()
    cfg = validate(Config(strategy=strategy, cpus=cpus, mix=PRESETS[workload], ops_per_cpu=OPS_PER_CPU))
    benchmark.group = f"workload={workload}"
    records = []

    def one():
        records.append(run(cfg))

    benchmark.pedantic(one, rounds=3, iterations=1)
    assert all(integrity_ok(r) for r in records)
    mid = sorted(records, key=lambda r: r["throughput"]["ops_s"])[len(records) // 2]
    benchmark.extra_info.update(
        ops_s=mid["throughput"]["ops_s"],
        wait_share=mid["contention"]["wait_share"],
        contentions_per_acquisition=mid["contention"]["contentions_per_acquisition"],
        oversubscribed=mid["meta"]["oversubscribed"],
    )
