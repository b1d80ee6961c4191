"""The search itself: the mutation suite (hunt --variant none finds each hand-made bug, and nothing
in the correct protocol), the reduced search (same end states as plain DFS, fewer schedules), PCT's
measured k, and parallel and distributed hunts that find what one job finds."""

import random

import pytest

from zswap_conc.check import mutants
from zswap_conc.check.execution import Violation, World, execute
from zswap_conc.check.hunt import hunt
from zswap_conc.check.pct import K_FIRST, PctScheduler
from zswap_conc.check.programs import Program, program_draw, settings_normal
from zswap_conc.check.scheduler import scheduler_make
from zswap_conc.check.variants import VARIANTS, WRITEBACK_RACE

MUTANT_BUDGET_S = 60  # the bound, on 2 cores; each is found in a few seconds


@pytest.mark.parametrize("name", mutants.MUTANT_NAMES)
def test_mutant_found_by_hunt_variant_none(name):
    """``hunt --variant none``, told nothing about the mutant, finds it in the programs and
    configurations it draws; the minimal program and schedule replay to the same violation."""
    with mutants.activate(name):
        r = hunt("none", "pct", budget_seconds=MUTANT_BUDGET_S, seed=0)
        assert r.found, f"mutant {name} not found in {r.executions} schedules, {r.trials} programs"
        from zswap_conc.check.encoding import decode
        from zswap_conc.check.hunt import replay

        program, schedule = decode(r.schedule_string)
        w = World(program)
        try:
            v, _ = replay(w, schedule)
        finally:
            w.close()
        assert v is not None and v.invariant == r.invariant
    # the same program and schedule without the mutant: no violation
    w = World(program)
    try:
        v, _ = replay(w, schedule)
    finally:
        w.close()
    assert v is None, f"{v.invariant}: {v.detail}"


@pytest.mark.parametrize("scheduler", ["random", "pct"])
def test_no_false_positive_over_many_seeds(scheduler):
    for seed in range(10, 16):
        r = hunt("none", scheduler, budget_executions=250, seed=seed)
        assert not r.found, f"seed {seed}: {r.invariant}: {r.detail}\n{r.schedule_string}"


def _explore(world, name, bound):
    s = scheduler_make(name, preemptions=bound)
    n = 0
    while s.new_execution():
        n += 1
        ex = execute(world, s)
        ex.failed = False
        s.execution_done(ex)
    return n, s


def test_reduction_keeps_every_end_state_with_fewer_schedules():
    """At preemption bound 1, the reduced search (visited states) reaches the same distinct end
    states as plain DFS, on the default programs and on drawn ones, in fewer schedules."""
    drawn = (program_draw(random.Random(f"dpor:{i}")) for i in range(200))
    small = [p for p in drawn if p.ncpus == 2 and sum(len(ops) for ops in p.ops) <= 3][:3]
    race_66 = Program(settings_normal({"kernel": "6.6", "writeback": "direct"}), WRITEBACK_RACE)
    programs = [VARIANTS["none"].program, race_66] + small
    ratios = []
    for program in programs:
        w = World(program)
        try:
            n_dfs, dfs = _explore(w, "dfs", 1)
            n_dpor, dpor = _explore(w, "dpor", 1)
        except Violation as v:  # pragma: no cover - the correct protocol
            pytest.fail(f"{v.invariant}: {v.detail}")
        finally:
            w.close()
        assert dpor.end_states == dfs.end_states, program
        assert n_dpor <= n_dfs and dpor.states > 0
        ratios.append(n_dfs / n_dpor)
    assert ratios[0] > 1.4 and ratios[1] > 4, ratios  # measured: 566 -> 319 and 2822 -> 369


def test_reduced_search_finds_the_known_races():
    for variant in ("no-recheck-2023", "writeback-swapoff-2024", "no-refcount-2013"):
        r = hunt(variant, "dpor", budget_executions=5000, preemptions=1)
        assert r.found, variant
    r = hunt("none", "dpor", budget_executions=100_000, preemptions=1, fixed=True)
    assert not r.found and r.exhausted and r.states > 0


def test_pct_k_is_measured():
    w = World(VARIANTS["none"].program)
    try:
        s = PctScheduler(seed=1)
        assert s.k == K_FIRST
        lengths = []
        for _ in range(5):
            s.new_execution()
            ex = execute(w, s)
            s.execution_done(ex)
            lengths.append(len(ex.schedule))
        assert s.k == max(lengths) and s.k != K_FIRST
        # every change point falls inside a measured execution
        s.new_execution()
        assert all(p < max(lengths) for p in s.changes)
    finally:
        w.close()
    assert PctScheduler(seed=1, max_steps=80).k == 80  # given explicitly, it stays


@pytest.mark.slow
def test_jobs_find_what_one_job_finds():
    """Trial i's work depends on (seed, i) only: two jobs find the same failing trial and program
    as one, and a found bug stops both."""
    with mutants.activate("recheck-removed"):
        one = hunt("none", "pct", budget_seconds=60, seed=0, jobs=1)
        two = hunt("none", "pct", budget_seconds=60, seed=0, jobs=2)
    assert one.found and two.found
    assert (two.trial, two.invariant, two.program) == (one.trial, one.invariant, one.program)
    assert two.jobs == 2 and two.seconds < 60


@pytest.mark.slow
def test_jobs_split_a_tree_search():
    one = hunt("none", "dfs", budget_executions=100_000, preemptions=1, fixed=True, jobs=1)
    two = hunt("none", "dfs", budget_executions=100_000, preemptions=1, fixed=True, jobs=2)
    assert one.exhausted and two.exhausted and not two.found
    # every path is run to its end by exactly one job (the others stop it once it is theirs)
    assert two.executions - two.pruned == one.executions


@pytest.mark.slow
def test_cluster_on_a_local_dask_cluster():
    pytest.importorskip("distributed")
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        r = hunt("no-recheck-2023", "pct", budget_executions=600, seed=1, jobs=2, cluster=cluster.scheduler_address)
    assert r.found and r.invariant == "oracle" and r.jobs == 2
