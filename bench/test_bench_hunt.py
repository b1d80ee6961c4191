"""Race-hunter figures: schedules and steps explored per second, and schedules needed to find each
known-buggy variant per scheduler (median over seeds; PCT against random is measured, not asserted).
bench/hunt_figures.py writes the same figures, with --jobs 2 and dfs against dpor, as one results file.

    python -m pytest bench/test_bench_hunt.py --benchmark-only
"""

import statistics

import pytest

from zswap_conc.check.hunt import hunt

SEEDS = range(7)
BUGGY = ("no-refcount-2013", "no-recheck-2023", "writeback-swapoff-2024", "recursive-writeback-2012",
         "lock-order-inversion")


@pytest.mark.parametrize("scheduler", ["random", "pct", "dfs", "dpor"])
def test_exploration_rate(benchmark, scheduler):
    results = []

    def explore():
        results.append(hunt("none", scheduler, budget_executions=300, seed=len(results)))

    benchmark.group = "hunt: exploration rate (variant none, 300 schedules)"
    benchmark.pedantic(explore, rounds=3, iterations=1)
    r = results[len(results) // 2]
    benchmark.extra_info.update(schedules_s=round(r.executions / r.seconds, 1), steps_s=round(r.steps / r.seconds),
                                steps_per_schedule=round(r.steps / r.executions, 1))


@pytest.mark.parametrize("scheduler", ["random", "pct", "dfs", "dpor"])
@pytest.mark.parametrize("variant", BUGGY)
def test_schedules_to_find(benchmark, variant, scheduler):
    needed = []

    def find_all():
        needed.clear()
        for seed in SEEDS if scheduler not in ("dfs", "dpor") else [0]:
            r = hunt(variant, scheduler, budget_executions=5000, seed=seed,
                     preemptions=2 if variant == "no-refcount-2013" else 1)
            needed.append(r.executions if r.found else None)

    benchmark.group = f"hunt: schedules to find {variant}"
    benchmark.pedantic(find_all, rounds=1, iterations=1)
    found = [n for n in needed if n is not None]
    benchmark.extra_info.update(found=f"{len(found)}/{len(needed)}",
                                median_schedules=statistics.median(found) if found else None,
                                max_schedules=max(found) if found else None)
