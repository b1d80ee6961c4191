"""The sweep, its results files, plot and compare: tiny sweeps with short runs."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import shm_entries

from zswap_conc.compare import compare_files, compare_table
from zswap_conc.experiment import experiment_build
from zswap_conc.plot import plot_files
from zswap_conc.results.document import FORMAT_VERSION, ResultsError, dump, load
from zswap_conc.results.sweep import sweep_points
from zswap_conc.sweep import sweep_run

CLI = [sys.executable, "-m", "zswap_conc.cli"]
TINY = {"strategies": "global,hashed", "cpus": "1,2", "duration": 0.25, "warmup": 0.05, "repeats": 2}


def _cli(*args, timeout=300):
    return subprocess.run(CLI + list(args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    doc = sweep_run(experiment_build(dict(TINY)), out, progress=False)
    return out, doc


def test_sweep_writes_every_file(tiny_sweep, no_shm_leak):
    out, doc = tiny_sweep
    for name in ("sweep.json", "sweep.csv", "contention.png", "contention.svg", "lockstat.txt"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "contention.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (out / "contention.svg").read_bytes()[:2000]
    rec = load(out / "sweep.json")
    assert rec["complete"] is True and rec["format_version"] == FORMAT_VERSION
    assert len(rec["runs"]) == 2 * 2 * 2
    # interleaved: within one repeat and CPU count the variants alternate
    assert [r["variant"] for r in rec["runs"][:4]] == ["global", "hashed", "global", "hashed"]
    rows = list(csv.DictReader(open(out / "sweep.csv")))
    assert {(r["variant"], r["cpus"]) for r in rows} == {(v, c) for v in ("global", "hashed") for c in ("1", "2")}
    for r in rows:
        assert float(r["ops_s_min"]) <= float(r["ops_s_median"]) <= float(r["ops_s_max"])
        assert r["integrity_ok"] == "True"
    one = next(r for r in rows if r["cpus"] == "1")
    assert float(one["speedup"]) == 1.0 and float(one["linear"]) == pytest.approx(float(one["ops_s_median"]), 0.01)
    assert "tree_lock" in (out / "lockstat.txt").read_text()
    assert rec["meta"]["cores_allowed"] >= 1 and "cpu_model" in rec["meta"]
    assert rec["experiment"]["base_config"]["duration"] == 0.25


def test_points_are_derived_from_runs(tiny_sweep):
    _, doc = tiny_sweep
    pts = sweep_points(doc)
    for p in pts:
        ops = sorted(r["throughput"]["ops_s"] for r in doc["runs"]
                     if r["variant"] == p["variant"] and r["cpus"] == p["cpus"])
        assert p["ops_s"]["min"] == pytest.approx(ops[0], abs=0.1)
        assert p["ops_s"]["max"] == pytest.approx(ops[-1], abs=0.1)


def test_schema_round_trips(tiny_sweep, tmp_path):
    out, doc = tiny_sweep
    dump(doc, tmp_path / "copy.json")
    assert load(tmp_path / "copy.json") == json.loads(json.dumps(doc))


def test_plot_reads_results_back(tiny_sweep, tmp_path):
    out, _ = tiny_sweep
    files = plot_files([str(out / "sweep.json")], str(tmp_path / "fig"))
    assert [f.name for f in files] == ["fig.png", "fig.svg"] and all(f.stat().st_size > 1000 for f in files)


def test_compare_accepts_matched_and_refuses_mismatched(tiny_sweep, tmp_path):
    out, doc = tiny_sweep
    rows, problem = compare_files(str(out / "sweep.json"), str(out / "sweep.json"))
    # the same file: ratio 1, and never a verdict -- 2 runs a side cannot pass the rank test at all
    assert problem is None and all(r["ratio"] == 1.0 and r["verdict"] not in ("faster", "slower") for r in rows)
    other = json.loads(json.dumps(doc))
    other["meta"]["cpu_model"] = "Some Other CPU"
    dump(other, tmp_path / "other.json")
    with pytest.raises(ResultsError, match="meta.cpu_model differs"):
        compare_files(str(out / "sweep.json"), str(tmp_path / "other.json"))
    other["meta"]["cpu_model"] = doc["meta"]["cpu_model"]
    other["experiment"]["base_config"]["allocator"] = "zbud"
    dump(other, tmp_path / "other.json")
    with pytest.raises(ResultsError, match="config.allocator differs"):
        compare_files(str(out / "sweep.json"), str(tmp_path / "other.json"))
    rows, problem = compare_files(str(out / "sweep.json"), str(tmp_path / "other.json"), force=True)
    assert "allocator" in problem and len(rows) == 4
    # think times each sweep sized itself (auto) differ a little and do not block a comparison;
    # one given explicitly does
    other = json.loads(json.dumps(doc))
    other["experiment"]["base_config"]["think_ns"] = (doc["experiment"]["base_config"]["think_ns"] or 0) + 123
    for d in (doc, other):
        d["meta"]["think"] = {"think_ns": d["experiment"]["base_config"]["think_ns"], "auto": True}
    dump(doc, tmp_path / "a.json")
    dump(other, tmp_path / "b.json")
    assert compare_files(str(tmp_path / "a.json"), str(tmp_path / "b.json"))[1] is None
    other["meta"]["think"]["auto"] = False
    dump(other, tmp_path / "b.json")
    with pytest.raises(ResultsError, match="config.think_ns differs"):
        compare_files(str(tmp_path / "a.json"), str(tmp_path / "b.json"))


def _with_repeats(doc: dict, repeats: int, scale: float = 1.0, disturbed: bool = False) -> dict:
    """``doc`` with each point's runs copied up to ``repeats`` (each copy 1% apart, so ranks are
    distinct), throughputs scaled, every run marked (un)disturbed."""
    d = json.loads(json.dumps(doc))
    base = [r for r in d["runs"] if r["repeat"] == 0]
    d["runs"] = []
    for rep in range(repeats):
        for r in base:
            r = json.loads(json.dumps(r))
            r["repeat"] = rep
            r["throughput"]["ops_s"] *= scale * (1 + 0.01 * rep)
            r["disturbance"] = {"disturbed": disturbed, "reasons": ["test"] if disturbed else []}
            d["runs"].append(r)
    d["experiment"]["repeats"] = repeats
    d["points"] = sweep_points(d)
    return d


@pytest.mark.parametrize("repeats, scale, disturbed, verdict", [
    (4, 2.0, False, "faster"),  # 4 runs a side, all of B above all of A: p = 2/70 < 0.05
    (4, 0.5, False, "slower"),
    (4, 1.0, False, "within noise"),  # the same runs: p = 1
    (3, 2.0, False, "too few repeats"),  # 3 a side cannot reach p < 0.05 (smallest p = 0.1)
    (1, 2.0, False, "noise unknown"),  # one run: no noise to test against
    (4, 2.0, True, "disturbed"),  # a disturbed side gets no verdict
])
def test_compare_verdicts_rest_on_a_stated_test(tiny_sweep, tmp_path, repeats, scale, disturbed, verdict):
    _, doc = tiny_sweep
    dump(_with_repeats(doc, repeats), tmp_path / "a.json")
    dump(_with_repeats(doc, repeats, scale, disturbed), tmp_path / "b.json")
    rows, _ = compare_files(str(tmp_path / "a.json"), str(tmp_path / "b.json"))
    assert rows and all(r["ratio"] == pytest.approx(scale, rel=1e-3) and r["verdict"] == verdict for r in rows)
    if verdict in ("faster", "slower", "within noise"):
        assert all(r["test"] and r["p"] is not None for r in rows)
    table = compare_table(rows)
    assert verdict in table and "Mann-Whitney" in table


@pytest.mark.parametrize("mutate, field", [
    (lambda d: d.update(format_version=99), "format_version"),
    (lambda d: d.update(format_version=0), "format_version"),
    (lambda d: d.pop("meta"), "meta"),
    (lambda d: d.update(schema="other"), "schema"),
])
def test_corrupted_results_are_refused_naming_the_field(tiny_sweep, tmp_path, mutate, field):
    out, doc = tiny_sweep
    bad = json.loads(json.dumps(doc))
    mutate(bad)
    dump(bad, tmp_path / "bad.json")
    r = _cli("plot", str(tmp_path / "bad.json"))
    assert r.returncode == 2 and field in r.stderr and "bad.json" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "junk.json").write_text("{not json")
    r = _cli("compare", str(tmp_path / "junk.json"), str(out / "sweep.json"))
    assert r.returncode == 2 and "junk.json" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("args, flag", [
    (["--strategies", ""], "--strategies"),
    (["--strategies", "btree"], "--strategies"),
    (["--cpus", "0"], "--cpus"),
    (["--cpus", "999"], "--cpus"),
    (["--workload", "gaming"], "--workload"),
    (["--config", "/nonexistent/experiment.toml"], "--config"),
    (["--repeats", "0"], "--repeats"),
])
def test_sweep_bad_options_exit_2(args, flag, tmp_path, no_shm_leak):
    r = _cli("sweep", "--out", str(tmp_path / "o"), *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in r.stderr


def test_sweep_config_file_is_used_and_recorded(tmp_path, no_shm_leak):
    exp = tmp_path / "experiment.toml"
    exp.write_text('strategies = ["split64m"]\ncpus = [1]\nrepeats = 1\nduration = 0.2\nwarmup = 0.05\n'
                   'workload = "swapout-storm"\n[config]\nallocator = "zsmalloc"\npool_size = "32M"\n')
    r = _cli("sweep", "--config", str(exp), "--out", str(tmp_path / "o"), "--quiet")
    assert r.returncode == 0, r.stderr
    rec = load(tmp_path / "o" / "sweep.json")
    e = rec["experiment"]
    assert e["variants"] == ["split64m"] and e["workload"] == "swapout-storm"
    assert e["base_config"]["allocator"] == "zsmalloc" and e["base_config"]["pool_size"] == 32 << 20
    assert e["source"]["config"]["allocator"] == "zsmalloc"
    mix = rec["runs"][0]["mix"]  # only stores: once the slots fill, each store frees its slot's old data first
    assert mix["load"] == 0 and 0.45 <= mix["store"] <= 1.0 and mix["store"] + mix["invalidate"] == pytest.approx(1)
    (tmp_path / "broken.toml").write_text("strategies = [\n")
    r = _cli("sweep", "--config", str(tmp_path / "broken.toml"), "--out", str(tmp_path / "p"))
    assert r.returncode == 2 and "not valid TOML" in r.stderr


def test_sigint_mid_sweep_keeps_finished_runs(tmp_path, no_shm_leak):
    out = tmp_path / "o"
    before = shm_entries()
    p = subprocess.Popen(CLI + ["sweep", "--strategies", "global,hashed", "--cpus", "1", "--repeats", "20",
                                "--duration", "0.3", "--warmup", "0.05", "--out", str(out), "--quiet"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if (out / "sweep.json").exists() and len(json.loads((out / "sweep.json").read_text())["runs"]) >= 2:
                break
            time.sleep(0.1)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    rec = load(out / "sweep.json")
    assert rec["complete"] is False and len(rec["runs"]) >= 2 and "SIGINT" in rec["stopped_by"]
    assert "marked incomplete" in err and "Traceback" not in err
    assert (out / "sweep.csv").exists()
    assert shm_entries() - before == set()
    os.remove(out / "sweep.json")


def test_kernel_variants_take_their_profile_and_keep_explicit_settings():
    from zswap_conc.config import ConfigError
    from zswap_conc.kernels import PROFILE_NAMES, PROFILES

    exp = experiment_build({"kernels": "all", "cpus": "1", "config": {"pools": 4}})
    assert [v.label for v in exp.variants] == [f"kernel={k}" for k in PROFILE_NAMES] and not exp.duplicates()
    for v in exp.variants:
        cfg = exp.variant_config(v, 2)
        want = dict(PROFILES[v.kernel].settings, pools=4)
        assert cfg.kernel == v.kernel and cfg.cpus == 2 and cfg.think_ns == exp.base.think_ns
        assert all(getattr(cfg, k) == x for k, x in want.items()), v.label
        assert cfg.overrides == (() if PROFILES[v.kernel].settings["pools"] == 4 else ("pools",))
    mixed = experiment_build({"strategies": "hashed,kernel=3.11@deferred", "cpus": "1"})
    assert [v.label for v in mixed.variants] == ["hashed", "kernel=3.11@deferred"]
    assert mixed.variant_config(mixed.variants[1], 1).allocator == "zbud"
    for bad in ("kernel=4.0", "kernel=6.11:0"):
        with pytest.raises(ConfigError, match="--strategies"):
            experiment_build({"strategies": bad, "cpus": "1"})
