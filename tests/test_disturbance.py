"""Disturbance detection and the statistics compare states: what marks a run as disturbed, and the
rank test's p-values against values worked out by hand."""

import os

import pytest

from zswap_conc import disturbance as D
from zswap_conc.config import Config, validate
from zswap_conc.runner import run
from zswap_conc.stats import rank_test


def _worker(cpu=0, **kw):
    w = {"cpu": cpu, "pid": 1, "pinned_to": cpu, "cores_seen": [cpu], "cpu_share": 1.0, "run_delay_share": 0.0,
         "involuntary_switches": 0, "voluntary_switches": 0, "migrations": 0, "affinity": [cpu], "policy": "other"}
    w.update(kw)
    return w


def _fig(workers=None, **others):
    o = {"cores_start": 0.0, "cores_end": 0.0, "cores_window": 0.0, "steal_share": 0.0}
    o.update(others)
    return {"seconds": 2.0, "workers": workers or [_worker(0), _worker(1)], "others": o}


def test_a_quiet_run_is_not_disturbed():
    v = D.verdict(_fig(), [], pin_requested=True)
    assert v["disturbed"] is False and v["reasons"] == [] and v["thresholds"]["others_cores"] == D.OTHERS_MAX_CORES


@pytest.mark.parametrize("fig, cause, words", [
    (_fig([_worker(0), _worker(1, affinity=[0, 1])]), "pinning", "could run on [0, 1]"),
    (_fig([_worker(0), _worker(1, cores_seen=[0, 1])]), "pinning", "migrated"),
    (_fig([_worker(0, run_delay_share=0.2), _worker(1)]), "preempted", "waited runnable"),
    (_fig([_worker(0, involuntary_switches=1000), _worker(1)]), "switched", "switched out 500 times/s"),
    (_fig(cores_start=1.5), "others", "at the start"),
    (_fig(cores_end=0.9), "others", "at the end"),
    (_fig(steal_share=0.1), "steal", "stole 10.0%"),
])
def test_each_signal_over_its_threshold_is_a_reason(fig, cause, words):
    v = D.verdict(fig, [], pin_requested=True)
    assert v["disturbed"] and v["causes"] == [cause] and words in v["reasons"][0]
    line = D.warning_line(v)
    assert "\n" not in line and line.startswith("warning: this run was disturbed") and "--rt" in line
    assert "--rt" not in D.warning_line(v, rt_granted=True)  # it ran with --rt already


def test_preempted_holds_are_those_far_above_the_median_hold():
    # class 0: typical holds of 200 ns; cpu 1's longest hold 5 ms is a preempted holder, cpu 0's 10 us is not
    holds = D.preempted_holds([[10_000.0, 5_000_000.0], [0.0, 0.0]], [[200.0, 210.0], [None, None]],
                              ("tree_lock", "pool_lock"))
    assert holds == [{"class": "tree_lock", "cpu": 1, "hold_max_ns": 5_000_000.0, "threshold_ns": 250_000.0,
                      "median_mean_hold_ns": 205.0}]
    v = D.verdict(_fig(), holds, pin_requested=True)
    assert v["disturbed"] and v["causes"] == ["holds"] and "tree_lock held 5.00 ms on cpu 1" in v["reasons"][0]
    # long holds by design (a 1 ms mean) raise the threshold with them: 50 ms is not preempted
    assert D.preempted_holds([[50e6]], [[1e6]], ("tree_lock",)) == []


def test_a_real_run_records_what_the_machine_did(no_shm_leak):
    rec = run(validate(Config(cpus=2, duration=1.2, warmup=0.1, pool_size=32 << 20, think_ns=0)))
    d = rec["disturbance"]
    assert isinstance(d["disturbed"], bool) and len(d["reasons"]) == len(d["causes"])
    assert d["disturbed"] == bool(d["reasons"])
    assert len(d["workers"]) == 2 and d["seconds"] > 1.0
    for w in d["workers"]:
        assert w["pid"] > 0 and w["cores_seen"] and w["affinity"]
        assert w["involuntary_switches"] >= 0 and 0 <= w["cpu_share"] <= 1.5
    pin = rec["meta"]["pin_requested"]
    if pin:  # pinning asked for and granted: each worker had its one core
        assert rec["meta"]["pinned"] == all(w["affinity"] == [w["pinned_to"]] for w in d["workers"])
    for key in ("cores_start", "cores_end", "cores_window", "steal_share"):
        assert key in d["others"]
    assert rec["meta"]["rt"] == {"requested": False, "granted": False, "priority": None, "why_not": None}


def test_rt_is_granted_or_refused_with_its_reason(no_shm_leak):
    rec = run(validate(Config(cpus=1, duration=0.3, warmup=0.05, pool_size=32 << 20, think_ns=0, rt=True)))
    rt = rec["meta"]["rt"]
    assert rt["requested"] is True
    if rt["granted"]:
        assert rt["priority"] and all(w["policy"] == "fifo" for w in rec["disturbance"]["workers"])
    else:
        assert rt["why_not"] and all(w["policy"] == "other" for w in rec["disturbance"]["workers"])
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the parent stepped back down


@pytest.mark.parametrize("a, b, p, min_p", [
    ([1, 2, 3, 4], [5, 6, 7, 8], 2 / 70, 2 / 70),  # complete separation, 4 a side: 2 of C(8,4) = 70 splits
    ([1, 2, 3], [4, 5, 6], 0.1, 0.1),  # 3 a side can never show p < 0.1
    ([1, 2], [3, 4], 1 / 3, 1 / 3),
    ([1, 3, 5, 7], [2, 4, 6, 8], 0.686, 2 / 70),
    ([5, 5, 5], [5, 5, 5], 1.0, 1.0),  # all tied: no evidence either way
])
def test_rank_test_p_values_by_hand(a, b, p, min_p):
    t = rank_test(a, b)
    assert t["p"] == pytest.approx(p, abs=1e-3) and t["min_p"] == pytest.approx(min_p, abs=1e-3)
    assert t["exact"] and t["n"] == [len(a), len(b)] and "Mann-Whitney" in t["test"]
    assert rank_test(b, a)["p"] == pytest.approx(t["p"])  # two-sided: the order of the sides does not matter


def test_rank_test_normal_approximation_for_many_runs():
    a, b = list(range(30)), [x + 12 for x in range(30)]
    t = rank_test(a, b)
    assert not t["exact"] and 0.0 < t["p"] < 0.01
