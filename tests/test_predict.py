"""``zswap-conc predict`` and predictions in ``compare``: the record round-trips, inputs come from
each kind of results file, a prediction's error is reported per point, and bad input exits 2 with
one line that says what to measure."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zswap_conc.results.document import load
from zswap_conc.results.sweep import doc_points

ROOT = Path(__file__).resolve().parent.parent
SWEEP = ROOT / "docs" / "results" / "2core-epyc-lz4" / "sweep.json"
LOCKBENCH = Path(__file__).resolve().parent / "data" / "lockbench-ticket-2cpu.json"
CLI = [sys.executable, "-m", "zswap_conc.cli"]


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=120, env=env)


def test_parameters_alone_predict_and_the_record_round_trips(tmp_path):
    out = tmp_path / "p.json"
    r = _cli("predict", "--hold", "50ns", "--outside", "0.5us", "--locks", "1", "--lock", "ticket",
             "--handoff", "100", "--cpus", "1-256", "--out", out)
    assert r.returncode == 0, r.stderr
    assert "predicted" in r.stdout and "peak:" in r.stdout and "not measurements" in r.stdout
    doc = load(out)
    assert doc["kind"] == "prediction" and doc["inputs"]["source"] == "parameters"
    assert doc["model"]["assumptions"] and doc["inputs"]["calibration"]["handoff_ns"] == 100
    pts = doc_points(doc, str(out))
    assert [p["cpus"] for p in pts] == list(range(1, 257)) and all(p["predicted"] for p in pts)
    assert pts[0]["input"] and not any(p["input"] for p in pts[1:])
    v = doc["variants"][0]
    assert v["workload"]["outside_ns"] == 500 and v["workload"]["classes"][0]["hold_ns"] == 50
    assert 1 < v["peak_cpus"] < 256 and pts[-1]["ops_s"]["median"] < v["peak_ops_s"]  # the ticket collapse
    again = json.loads(json.dumps(doc))
    assert doc_points(again, "copy") == pts


def test_a_sweep_predicts_every_variant_from_its_one_cpu_runs_and_compare_reports_the_error(tmp_path):
    out = tmp_path / "p.json"
    r = _cli("predict", SWEEP, "--handoff", "150", "--cpus", "1,2,16,64,256", "--out", out)
    assert r.returncode == 0, r.stderr
    doc = load(out)
    assert [v["variant"] for v in doc["variants"]] == ["global", "per-swaptype:4", "hashed", "split64m"]
    assert all(v["from_cpus"] == 1 for v in doc["variants"])
    by = {v["variant"]: {p["cpus"]: p for p in v["points"]} for v in doc["variants"]}
    # 256 hashed buckets contend far less than one global tree_lock (the other classes are alike in both)
    tree = {v: by[v][64]["classes"]["tree_lock"]["contentions_per_acquisition"] for v in ("hashed", "global")}
    assert tree["hashed"] < tree["global"]
    c = _cli("compare", out, SWEEP)
    assert c.returncode == 0, c.stderr
    lines = [x for x in c.stdout.splitlines() if x.startswith(("global", "hashed"))]
    # a 2-CPU point is "checked", or "disturbed" where a run of it was (its error is printed all the same)
    assert any(x.rstrip().endswith("input") for x in lines)
    assert any(x.rstrip().endswith(("checked", "disturbed")) for x in lines)
    rows = json.loads(_cli("compare", SWEEP, out, "--json").stdout)  # either order
    checked = [x for x in rows if x["role"] in ("checked", "disturbed")]
    n = sum(x["role"] == "checked" for x in checked)
    assert f"largest error over {n} checked point(s)" in c.stdout or (n == 0 and "no checked point" in c.stdout)
    assert len(checked) == 4 and all(x["cpus"] == 2 for x in checked)
    for x in checked:
        assert x["ops_error"] == pytest.approx(x["predicted_ops_s"] / x["measured_ops_s"] - 1, abs=1e-4)


def test_a_lockbench_file_is_both_an_input_and_a_calibration(tmp_path):
    out = tmp_path / "p.json"
    r = _cli("predict", LOCKBENCH, "--calibration", LOCKBENCH, "--cpus", "1-8", "--out", out)
    assert r.returncode == 0, r.stderr
    doc = load(out)
    cal = doc["inputs"]["calibration"]
    bench = load(LOCKBENCH)
    two = [p for p in bench["points"] if p["cpus"] == 2][0]
    assert cal["cpus"] == 2 and cal["handoff_ns"] == pytest.approx(two["handoff_ns"])
    assert doc["meta"]["cpu_model"] == bench["meta"]["cpu_model"]
    rows = json.loads(_cli("compare", out, LOCKBENCH, "--json").stdout)
    assert [x["role"] for x in rows] == ["input", "checked"]


def _lockstat_off(tmp_path) -> Path:
    doc = json.loads(SWEEP.read_text())
    for r in doc["runs"]:
        r["lock_stat"] = []
    p = tmp_path / "off.json"
    p.write_text(json.dumps(doc))
    return p


def _other_machine_lockbench(tmp_path) -> Path:
    doc = json.loads(LOCKBENCH.read_text())
    doc["meta"]["cpu_model"] = "Some Other CPU"
    p = tmp_path / "cal-other.json"
    p.write_text(json.dumps(doc))
    return p


def _one_cpu_lockbench(tmp_path) -> Path:
    doc = json.loads(LOCKBENCH.read_text())
    doc["runs"] = [r for r in doc["runs"] if r["cpus"] == 1]
    p = tmp_path / "cal1.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.mark.parametrize("args, needle", [
    (["--hold", "-5", "--outside", "100", "--handoff", "1"], "--hold"),
    (["--hold", "50", "--outside", "-1ns", "--handoff", "1"], "--outside"),
    (["--hold", "2s", "--outside", "100", "--handoff", "1"], "--hold"),
    (["--hold", "50", "--outside", "100", "--locks", "0", "--handoff", "1"], "--locks"),
    (["--hold", "50", "--outside", "100", "--cpus", "1-5000", "--handoff", "1"], "--cpus"),
    (["--hold", "50", "--outside", "100", "--lock", "mcs", "--handoff", "1"], "--lock"),
    (["--hold", "fifty", "--outside", "100", "--handoff", "1"], "--hold"),
    (["--hold", "50", "--handoff", "1"], "--hold"),
    (["--hold", "50", "--outside", "100"], "zswap-conc lockbench --cpus 1,2"),  # no calibration: what to measure
    ([SWEEP, "--hold", "50", "--handoff", "1"], "not both"),
    ([SWEEP, "--from-cpus", "3", "--handoff", "1"], "--from-cpus 3"),
    ([SWEEP, "--calibration", SWEEP], "not a lockbench"),
    ([SWEEP, "--calibration", "OTHER_MACHINE"], "another machine"),
    (["/nonexistent.json", "--handoff", "1"], "cannot read"),
    ([LOCKBENCH, "--calibration", "ONE_CPU"], "zswap-conc lockbench --cpus 1,2"),
    (["LOCKSTAT_OFF", "--handoff", "1"], "lock statistics on"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, args, needle):
    subst = {"ONE_CPU": _one_cpu_lockbench, "LOCKSTAT_OFF": _lockstat_off, "OTHER_MACHINE": _other_machine_lockbench}
    args = [subst[a](tmp_path) if a in subst else a for a in args]
    r = _cli("predict", *args, "--out", tmp_path / "p.json")
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zswap-conc: error: ") and needle in lines[0], lines
    assert "Traceback" not in r.stderr and not (tmp_path / "p.json").exists()


def test_compare_refuses_two_predictions(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    for p in (a, b):
        assert _cli("predict", "--hold", "50", "--outside", "500", "--handoff", "1", "--cpus", "1-4",
                    "--out", p).returncode == 0
    r = _cli("compare", a, b)
    assert r.returncode == 2 and "both are predictions" in r.stderr


def test_help_states_the_assumptions():
    r = _cli("predict", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    for needle in ("mean value analysis", "Assumptions:", "exponentially distributed", "cache misses",
                   "Non-scalable locks are dangerous", "is the model's, not a measurement"):
        assert needle in text, needle
