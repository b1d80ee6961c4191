"""The command line: reports, JSON, bad input (exit 2, one line), signals, and /dev/shm hygiene."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import shm_entries

CLI = [sys.executable, "-m", "zswap_conc.cli"]


def _cli(*args, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=timeout, env=e)


def test_run_report_has_every_section(no_shm_leak):
    r = _cli("run", "--strategy", "per-swaptype", "--cpus", "2", "--duration", "0.5")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for needle in ("ops/s total; per CPU: cpu0", "op mix: store", "stored_pages=", "same_filled_pages=",
                   "reject_compress_poor=", "reject_alloc_fail=", "duplicate_entry=", "pool_total_size=",
                   "compression_ratio=", "waittime-total", "holdtime-avg", "con-bounces", "tree_lock",
                   "class_lock", "kernel 6.11", "contention points", "lock_stat's own cost"):
        assert needle in out, needle
    assert "integrity: " in out and " live entries verified, 0 mismatches" in out


def test_run_json_is_one_document(no_shm_leak):
    r = _cli("run", "--strategy", "hashed", "--buckets", "256", "--cpus", "2", "--duration", "0.4", "--json")
    assert r.returncode == 0, r.stderr
    rec = json.loads(r.stdout)
    assert rec["config"]["strategy"] == "hashed" and rec["config"]["buckets"] == 256
    assert rec["config"]["kernel"] == "6.11" and rec["config"]["overrides"] == ["strategy"]
    # the newest kernel's locks: xa_lock (as tree_lock), zsmalloc's class locks, list_lru, the swap cache
    assert rec["integrity"]["mismatches"] == 0 and {x["class"] for x in rec["lock_stat"]} == {
        "tree_lock", "class_lock", "lru_lock", "swap_cache_lock"}


@pytest.mark.parametrize(
    "args, flag",
    [
        (["--strategy", "btree"], "--strategy"),
        (["--cpus", "0"], "--cpus"),
        (["--duration", "0"], "--duration"),
        (["--duration", "-3"], "--duration"),
        (["--pool-size", "1000"], "--pool-size"),
        (["--mix", "50/30/10"], "--mix"),
        (["--compressor", "lzo"], "--compressor"),
        (["--allocator", "z3fold"], "--allocator"),
        (["--lock", "mutex"], "--lock"),
        (["--sort", "nonsense"], "--sort"),
        (["--frobnicate"], "--frobnicate"),
    ],
)
def test_bad_input_exits_2_with_one_line(args, flag, no_shm_leak):
    r = _cli("run", "--duration", "0.2", *args) if "--duration" not in args else _cli("run", *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert flag in lines[0] and "Traceback" not in r.stderr
    if flag not in ("--frobnicate", "--duration", "--cpus"):
        assert "accepted" in lines[0] or "must" in lines[0]


def test_worker_exception_exit_1_no_leak(no_shm_leak):
    r = _cli("run", "--duration", "5", env={"ZSWAP_CONC_INJECT": "raise@cpu=1"})
    assert r.returncode == 1
    assert "worker for cpu 1" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 130)])
def test_signal_to_parent_stops_cleanly(sig, code, no_shm_leak):
    before = shm_entries()
    p = subprocess.Popen(CLI + ["run", "--cpus", "2", "--duration", "60"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (shm_entries() - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shm_entries() - before, "the run never created its segment"
        time.sleep(0.5)
        p.send_signal(sig)
        _, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err


def test_every_command_has_help_for_every_flag():
    from zswap_conc.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, cp in sub.choices.items():
        text = cp.format_help()  # raises on a broken help string
        assert name in text
        for action in cp._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings[0]} has no help"
