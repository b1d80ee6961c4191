"""Input the tool must survive: numbers beyond 64 bits, NaN, folders where files go, a results folder
that vanishes midway, a closed pipe; and what it writes: strict JSON, a first-compile line, plots
that say when their files differ."""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

CLI = [sys.executable, "-m", "zswap_conc.cli"]


def _cli(*args, timeout=120):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} in the output")

    return json.loads(text, parse_constant=refuse)


def _one_error_line(r, needle: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zswap-conc: error: ") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args, flag", [
    (["--seed", str(1 << 64)], "--seed"),
    (["--seed", "-1"], "--seed"),
    (["--buckets", "99999999999999999999999999"], "--buckets"),
    (["--max-pool-frames", str(1 << 63)], "--max-pool-frames"),
    (["--dup-rate", "nan"], "--dup-rate"),
    (["--warmup", "inf"], "--warmup"),
    (["--duration", "nan"], "--duration"),
    (["--zero-pct", "-inf"], "--zero-pct"),
    (["--max-pool-percent", "1e999"], "--max-pool-percent"),
    (["--swap-size", "99999999999999999999T"], "--swap-size"),
    (["--think-ns", str(1 << 70)], "--think-ns"),
])
def test_numbers_beyond_64_bits_and_non_finite_floats_are_refused(args, flag):
    _one_error_line(_cli("run", "--duration", "0.2", *args) if "--duration" not in args else _cli("run", *args), flag)


def test_swap_size_error_names_the_total_needed():
    r = _cli("run", "--cpus", "2", "--clusters-per-cpu", "8", "--swap-size", "1M")
    # 2 CPUs x 8 clusters of 256 pages on one device: 16 x 1 MiB
    _one_error_line(r, "--swap-size")
    assert f"at least {16 << 20} bytes" in r.stderr


def test_out_that_is_a_folder_or_unwritable_is_refused_before_any_work(tmp_path):
    t = time.monotonic()
    _one_error_line(_cli("run", "--duration", "300", "--out", tmp_path), "is a folder")
    _one_error_line(_cli("soak", "--duration", "300", "--out", tmp_path), "is a folder")
    assert time.monotonic() - t < 300  # refused before running: each would have run for 300 s
    ro = tmp_path / "ro.json"
    ro.write_text("{}")
    ro.chmod(0o444)
    if os.access(ro, os.W_OK):  # root writes anyway: a path under /proc cannot be written by anyone
        ro = "/proc/zswap-conc-run.json"
    _one_error_line(_cli("run", "--duration", "30", "--out", ro), "cannot write")


def test_plot_out_that_is_a_folder_is_refused_before_reading(tmp_path):
    data = os.path.join(os.path.dirname(__file__), "data", "lockbench-ticket-2cpu.json")
    (tmp_path / "fig.png").mkdir()
    _one_error_line(_cli("plot", data, "--out", tmp_path / "fig"), "is a folder")
    _one_error_line(_cli("plot", data, "--out", "/proc/zswap-fig"), "cannot write")
    r = _cli("plot", data, "--out", tmp_path / "ok")
    assert r.returncode == 0 and (tmp_path / "ok.png").exists() and (tmp_path / "ok.svg").exists()


def test_output_is_strict_json_and_a_closed_pipe_ends_quietly(tmp_path, no_shm_leak):
    r = _cli("run", "--cpus", "1", "--duration", "0.3", "--json", "--lockstat", "off", "--out", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    rec = _strict(r.stdout)
    assert rec["contention"]["wait_share"] is None  # unknown without lock_stat: null, never NaN
    assert _strict((tmp_path / "r.json").read_text()) == rec
    # one run alone is drawn as itself (its per-second samples and lock classes), named after its file
    r = _cli("plot", tmp_path / "r.json")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r.png").stat().st_size > 1000 and (tmp_path / "r.svg").exists()
    p = subprocess.Popen(CLI + ["compare", str(tmp_path / "r.json"), str(tmp_path / "r.json"), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # the reader goes away before the first byte (``| head -c0``)
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0 and err == "", err


def test_a_results_folder_removed_mid_sweep_keeps_the_finished_runs(tmp_path, no_shm_leak):
    out = tmp_path / "sweep"
    p = subprocess.Popen(CLI + ["sweep", "--strategies", "global", "--cpus", "1", "--repeats", "6", "--duration",
                                "0.3", "--warmup", "0.05", "--out", str(out), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (out / "sweep.json").exists() and p.poll() is None:
            time.sleep(0.01)
        while out.exists():  # the sweep may be writing into it meanwhile
            shutil.rmtree(out, ignore_errors=True)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    lines = [line for line in err.strip().splitlines() if line.startswith("zswap-conc: error:")]
    assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in err, err  # (and the sweep's header line)
    assert lines[0].startswith("zswap-conc: error: cannot write") and "finished before (marked incomplete)" in err
    kept = lines[0].split("; ")[-1].split(" holds ")[0]
    doc = _strict(open(kept).read())
    os.unlink(kept)
    assert doc["complete"] is False and 1 <= len(doc["runs"]) < 6 and "cannot write" in doc["stopped_by"]


def test_first_compile_says_so_once_with_its_time(tmp_path, monkeypatch):
    import io

    from zswap_conc import compiling, jit

    monkeypatch.setattr(jit, "NUMBA_CACHE", str(tmp_path / "numba"))
    (tmp_path / "numba").mkdir()
    err = io.StringIO()
    with compiling.compile_notice("measured path", err):
        time.sleep(0.05)
    line = err.getvalue()
    assert line.count("\n") == 1 and "compiling the measured path (first use, ~" in line and " done in " in line
    assert json.loads((tmp_path / "compile-times.json").read_text())["measured path"] >= 0
    again = io.StringIO()
    with compiling.compile_notice("measured path", again):
        pass
    assert again.getvalue() == ""  # compiled into this cache already: silent
    assert compiling.expected_s("measured path")[1] == "as last time on this machine"


def test_plot_of_files_with_different_configs_warns_and_names_them(tmp_path):
    src = os.path.join(os.path.dirname(__file__), "data", "lockbench-ticket-2cpu.json")
    doc = json.load(open(src))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(src, tmp_path / "a" / "lb.json")
    doc["config"]["hold_ns"] = doc["config"]["hold_ns"] * 2
    (tmp_path / "b" / "lb.json").write_text(json.dumps(doc))
    r = _cli("plot", tmp_path / "a" / "lb.json", tmp_path / "b" / "lb.json", "--out", tmp_path / "both")
    assert r.returncode == 0, r.stderr
    warn = [line for line in r.stderr.splitlines() if line.startswith("warning:")]
    assert len(warn) == 1 and "config.hold_ns differs" in warn[0]
    from zswap_conc.plot import _title
    from zswap_conc.results.document import load

    files = [str(tmp_path / "a" / "lb.json"), str(tmp_path / "b" / "lb.json")]
    title = _title([load(f) for f in files], files)
    assert "2 results files whose configurations differ" in title and ": a, b\n" in title


def test_a_run_whose_out_folder_vanishes_keeps_its_record(tmp_path, no_shm_leak):
    from conftest import shm_entries

    folder = tmp_path / "gone"
    folder.mkdir()
    before = shm_entries()
    p = subprocess.Popen(CLI + ["run", "--cpus", "1", "--duration", "2", "--out", str(folder / "r.json")],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not (shm_entries() - before) and p.poll() is None:
            time.sleep(0.02)  # the run has started: --out was checked already
        shutil.rmtree(folder)
        _, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
    lines = [line for line in err.strip().splitlines() if line.startswith("zswap-conc: error:")]
    assert p.returncode == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "cannot write" in lines[0] and "the finished record was written to" in lines[0]
    kept = lines[0].split("written to ")[1].split(" instead")[0]
    rec = _strict(open(kept).read())
    os.unlink(kept)
    assert rec["complete"] is True and rec["integrity"]["mismatches"] == 0
