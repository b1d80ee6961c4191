"""``zswap-conc lockbench``: a brief run at 1 and 2 CPUs through the runner, and what its figures
must say; the guarded word that proves mutual exclusion; bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import njit

from zswap_conc.arena import CTL_GO
from zswap_conc.lockbench import LK_GUARDED, LockbenchArena, LockbenchConfig, lockbench_cpu_run, time_draw
from zswap_conc.results.document import load
from zswap_conc.results.sweep import doc_points

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "zswap_conc.cli"]
CORES = len(os.sched_getaffinity(0))


def _cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.skipif(CORES < 2, reason="needs 2 cores")
def test_lockbench_at_1_and_2_cpus(tmp_path, no_shm_leak):
    out = tmp_path / "lb.json"
    r = _cli("lockbench", "--hold-ns", "300", "--outside-ns", "300", "--cpus", "1,2", "--repeats", "1",
             "--duration", "0.3", "--warmup", "0.1", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    assert "hand-off" in r.stdout and "linear" in r.stdout
    doc = load(out)
    assert doc["kind"] == "lockbench" and doc["complete"]
    one, two = doc["points"]
    assert (one["cpus"], two["cpus"]) == (1, 2) and one["integrity_ok"] and two["integrity_ok"]
    assert one["contentions_per_acquisition"] == 0 and one["wait_share"] == 0 and one["handoff_ns"] is None
    assert 0 < two["contentions_per_acquisition"] < 1 and two["handoff_ns"] > 0 and two["wait_share"] > 0
    assert two["linear"] == pytest.approx(2 * one["ops_s"]["median"], rel=1e-3)
    for run in doc["runs"]:
        row = run["lock_stat"][0]
        assert run["contention"]["acquisitions_per_op"] == pytest.approx(1.0, abs=1e-3)
        assert row["holdtime-avg"] >= 300 * 0.9  # the mean hold asked for, plus lock_stat's floor
        assert run["integrity"]["lost_updates"] == 0 and run["integrity"]["guarded"] > 1000
        if run["cpus"] == 2:
            assert row["handoff-avg"] == run["handoff"]["avg_ns"] and row["contentions"] == run["handoff"]["samples"]
    assert doc_points(doc, str(out)) == doc["points"]  # plot and compare read it like a sweep


def test_the_guarded_word_counts_only_under_mutual_exclusion():
    """One CPU in compiled code: every acquisition adds exactly one to its lock's guarded word (so a
    shortfall in a real run can only be a lost update)."""
    from zswap_conc.sync import LS_ACQUISITIONS

    cfg = LockbenchConfig(cpus=1, locks=8, hold_ns=0, outside_ns=0, lock="ttas")
    with LockbenchArena(cfg, shared=False) as ar:
        ar.v.ctl[0, CTL_GO] = 1
        assert lockbench_cpu_run(ar.v, 0, 5000) == 5000
        guarded = ar.v.locks[:, LK_GUARDED]
        assert int(guarded.sum()) == int(ar.v.lstat[:, 0, :, LS_ACQUISITIONS].sum()) == 5000
        assert np.count_nonzero(guarded) == 8  # the random choice reaches every lock


@njit(_nrt=False)
def _draws(b, mean, out):
    for i in range(out.shape[0]):
        out[i] = time_draw(b, 0, mean)


def test_exponential_times_have_the_mean_asked_for():
    cfg = LockbenchConfig(cpus=1)
    with LockbenchArena(cfg, shared=False) as ar:
        out = np.zeros(200_000, np.int64)
        _draws(ar.v, 1000, out)
    assert out.mean() == pytest.approx(1000, rel=0.02)
    assert np.median(out) == pytest.approx(1000 * np.log(2), rel=0.03)  # exponential, not just any mean
    assert out.min() >= 0


def test_holds_are_fixed_or_spread_as_asked():
    from zswap_conc.sync import LS_HOLD_MAX, LS_HOLD_MIN, cycles_per_ns

    rate = cycles_per_ns()
    shortest = {}
    for dist in ("exponential", "fixed"):
        cfg = LockbenchConfig(cpus=1, hold_ns=2000, outside_ns=0, dist=dist)
        with LockbenchArena(cfg, shared=False, cycles_per_ns=rate) as ar:
            ar.v.ctl[0, CTL_GO] = 1
            lockbench_cpu_run(ar.v, 0, 2000)
            shortest[dist] = ar.v.lstat[0, 0, 0, LS_HOLD_MIN] / rate
            assert ar.v.lstat[0, 0, 0, LS_HOLD_MAX] / rate > 2000
    assert shortest["fixed"] > 1800 and shortest["exponential"] < 400


@pytest.mark.parametrize("args, flag", [
    (["--locks", "0"], "--locks"),
    (["--hold-ns", "-5"], "--hold-ns"),
    (["--outside-ns", "2s"], "--outside-ns"),
    (["--lock", "mcs"], "--lock"),
    (["--dist", "normal"], "--dist"),
    (["--cpus", str(CORES + 1)], "--oversubscribe"),
    (["--cpus", "0"], "--cpus"),
    (["--repeats", "0"], "--repeats"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, flag, no_shm_leak):
    r = _cli("lockbench", *args, "--duration", "0.1", "--out", tmp_path / "lb.json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zswap-conc: error: ") and flag in lines[0], lines
    assert not (tmp_path / "lb.json").exists()


def test_oversubscribed_points_are_marked(tmp_path, no_shm_leak):
    out = tmp_path / "lb.json"
    r = _cli("lockbench", "--cpus", str(CORES + 1), "--oversubscribe", "--repeats", "1", "--duration", "0.2",
             "--warmup", "0", "--out", out, "--quiet", "--json")
    assert r.returncode == 0, r.stderr
    assert "oversubscribed" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["points"][0]["oversubscribed"] and doc["runs"][0]["oversubscribed"]
    assert doc["config"]["oversubscribe"] is True
