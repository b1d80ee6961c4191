"""Prompt stops, records of why, and a run beside another live run.

Bounds come from the code's own timeouts (``runner``), plus a margin for a loaded machine."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import OWN_PIDS, shm_entries
from test_faults import _alive, _children

from zswap_conc.runner import DEAD_STOP_S, INJECT_ENV, JOIN_TIMEOUT_S, POLL_S, WATCHDOG_S

CLI = [sys.executable, "-m", "zswap_conc.cli"]
MARGIN_S = 1.0  # scheduling delay a loaded 2-core machine may add to a bound


def _start(args, env=None, settle=1.5):
    before = shm_entries()
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.Popen(CLI + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not (shm_entries() - before) or len(_children(p.pid)) < 2):
        time.sleep(0.02)
    time.sleep(settle)  # past the barrier and the warm-up
    return p


def test_a_worker_dead_with_locks_held_stops_the_run_at_once(tmp_path, no_shm_leak):
    # cpu 1 holds every lock (injected) and cpu 0 spins on one forever: only a kill ends cpu 0
    out = tmp_path / "run.json"
    p = _start(["run", "--cpus", "2", "--duration", "60", "--out", str(out)], env={INJECT_ENV: "hold@cpu=1"})
    try:
        workers = _children(p.pid)
        assert len(workers) == 2
        t_kill = time.time()
        os.kill(workers[1], signal.SIGKILL)
        _, err = p.communicate(timeout=60)
        elapsed = time.time() - t_kill
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 1 and "worker for cpu 1 killed by signal 9 (SIGKILL)" in err and "Traceback" not in err
    stop = json.loads(out.read_text())["meta"]["stop"]
    # noticed within a poll, and the spinning survivor killed and reaped within DEAD_STOP_S
    assert stop["survivors_killed_at_once"] and stop["killed"] == [0]
    assert stop["noticed_at"] - t_kill <= POLL_S + MARGIN_S
    assert stop["stop_s"] <= DEAD_STOP_S
    assert elapsed < JOIN_TIMEOUT_S  # the whole command: it never waited for the join timeout


def test_sigkill_of_the_parent_is_recorded_in_the_file_the_workers_leave(tmp_path, no_shm_leak):
    out = tmp_path / "run.json"
    p = _start(["run", "--cpus", "2", "--duration", "60", "--out", str(out)])
    workers = _children(p.pid)
    mine = shm_entries()
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=30)
    deadline = time.monotonic() + WATCHDOG_S + 5 + MARGIN_S
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)
    rec = json.loads(out.read_text())
    assert rec["complete"] is False and "SIGKILL" in rec["stopped_by"] and str(p.pid) in rec["stopped_by"]
    r = subprocess.run(CLI + ["clean", "--yes"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not (mine & shm_entries())


def test_the_suite_passes_beside_another_live_run(tmp_path, no_shm_leak):
    """Another zswap-conc run, not of this test's process tree (started through a shell that exits),
    is live throughout: a run here, its leak check and 'clean' leave it alone."""
    log = tmp_path / "other.log"
    sh = subprocess.run(["sh", "-c", f'{" ".join(CLI)} run --cpus 1 --duration 60 --out {tmp_path / "other.json"} '
                                      f'>{log} 2>&1 & echo $!'], capture_output=True, text=True, timeout=30)
    other = int(sh.stdout.split()[0])
    assert other not in OWN_PIDS
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(n.split("_")[2] == str(other) for n in shm_entries(own=False)):
            time.sleep(0.05)
        theirs = {n for n in shm_entries(own=False) if n.split("_")[2] == str(other)}
        assert theirs and not (theirs & shm_entries()), "the other run's segment counted as this test's"
        r = subprocess.run(CLI + ["run", "--cpus", "1", "--duration", "0.3", "--json"], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["integrity"]["mismatches"] == 0
        r = subprocess.run(CLI + ["clean", "--yes"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and theirs <= shm_entries(own=False) and _alive(other)
    finally:
        os.kill(other, signal.SIGTERM)  # a shell's background job ignores SIGINT
        deadline = time.monotonic() + JOIN_TIMEOUT_S + MARGIN_S + 10
        while time.monotonic() < deadline and _alive(other):
            time.sleep(0.05)
    assert not _alive(other)
    assert json.loads((tmp_path / "other.json").read_text())["stopped_by"] == "interrupted by SIGTERM"
