"""Faults a real machine inflicts: a killed worker, a killed parent, stale segments, no room."""

import json
import os
import signal
import subprocess
import sys
import time

from conftest import shm_entries

from zswap_conc.runner import JOIN_TIMEOUT_S

CLI = [sys.executable, "-m", "zswap_conc.cli"]


def _children(pid: int) -> list[int]:
    """Forked workers: children whose command line is the parent's (the resource tracker differs)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            parent_cmd = fh.read()
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            kids = [int(x) for x in fh.read().split()]
    except OSError:
        return []
    out = []
    for k in kids:
        try:
            with open(f"/proc/{k}/cmdline", "rb") as fh:
                if fh.read() == parent_cmd:
                    out.append(k)
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie counts as gone
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def _start_run(*extra):
    before = shm_entries()
    p = subprocess.Popen(CLI + ["run", "--cpus", "2", "--duration", "60", *extra], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and (not (shm_entries() - before) or len(_children(p.pid)) < 2):
        time.sleep(0.05)
    time.sleep(2.5)  # warm-up (0.5 s), then at least one per-second sample
    return p, before


def test_killed_worker_stops_the_run_keeps_samples_and_leaks_nothing(tmp_path, no_shm_leak):
    out = tmp_path / "run.json"
    p, before = _start_run("--out", str(out))
    try:
        workers = _children(p.pid)
        assert len(workers) == 2
        t0 = time.monotonic()
        os.kill(workers[1], signal.SIGKILL)
        _, err = p.communicate(timeout=30)
        elapsed = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
    # the survivor is killed at once, not waited for: the join timeout bounds the whole command
    assert p.returncode == 1 and elapsed < JOIN_TIMEOUT_S
    assert "worker for cpu 1 killed by signal 9 (SIGKILL)" in err and "Traceback" not in err
    rec = json.loads(out.read_text())
    assert rec["complete"] is False and "SIGKILL" in rec["stopped_by"] and len(rec["samples"]) >= 1
    assert shm_entries() - before == set()


def test_killed_parent_orphans_exit_and_clean_removes_the_segment(no_shm_leak):
    p, before = _start_run()
    workers = _children(p.pid)
    assert len(workers) == 2
    mine = shm_entries() - before
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "workers outlived their parent"
    r = subprocess.run(CLI + ["clean", "--yes"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    assert not (mine & shm_entries()), "the dead run's segment is still there"


def test_clean_never_touches_a_live_run(no_shm_leak):
    p, before = _start_run()
    try:
        mine = shm_entries() - before
        assert mine
        r = subprocess.run(CLI + ["clean", "--yes"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and mine <= shm_entries()
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130


def test_not_enough_shared_memory_is_refused_before_any_work(no_shm_leak):
    free = os.statvfs("/dev/shm").f_bavail * os.statvfs("/dev/shm").f_frsize
    size = f"{(free >> 30) + 2}G"
    r = subprocess.run(CLI + ["run", "--duration", "0.2", "--pool-size", size], capture_output=True, text=True,
                       timeout=60)
    if (free >> 30) + 2 > 64:  # beyond the pool-size limit: refused for that reason instead
        assert r.returncode == 2 and "--pool-size" in r.stderr
        return
    assert r.returncode == 2 and "/dev/shm has" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_soak_verifies_every_second_under_writeback_pressure(tmp_path, no_shm_leak):
    out = tmp_path / "soak.json"
    r = subprocess.run(CLI + ["soak", "--duration", "3", "--writeback", "deferred", "--out", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rec = json.loads(out.read_text())
    s = rec["soak"]
    assert s["verifications"] >= 2 and s["entries_verified"] > 100
    assert s["mismatches"] == 0 and s["leaks"] == 0 and not s["failed_checks"]
    assert rec["writeback"]["pool_limit_hit"] > 0 and "mismatches 0; leaks 0" in r.stdout
    assert "/3 s" in r.stderr  # the progress line: seconds done of the soak's 3
