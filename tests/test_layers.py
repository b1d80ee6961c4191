"""Presentation reads records only: plotting and comparing results files imports nothing that
runs workers, lays out shared memory, steps operations or compresses -- nor numba itself."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs" / "results"
MEASURING = ("zswap_conc.runner", "zswap_conc.arena", "zswap_conc.ops", "zswap_conc.compress", "zswap_conc.cpu",
             "zswap_conc.sync", "zswap_conc.jit", "numba", "llvmlite")

PROBE = """
import json, sys
from zswap_conc import cli
rc = cli.main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


def _modules_after(argv: list[str]) -> tuple[int, list[str]]:
    r = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    last = json.loads(r.stdout.strip().splitlines()[-1])
    return last["rc"], [m for m in last["modules"] if m.startswith(MEASURING)]


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_presentation_imports_no_measuring_module(tmp_path, command):
    sweep = DOCS / "2core-epyc-lz4" / "sweep.json"
    argv = ["plot", str(sweep), "--out", str(tmp_path / "fig")] if command == "plot" else \
        ["compare", str(sweep), str(DOCS / "2core-epyc-synthetic800" / "sweep.json"), "--force"]
    rc, measuring = _modules_after(argv)
    assert rc == 0
    assert measuring == [], f"'zswap-conc {command}' imported {measuring}"
    if command == "plot":
        assert (tmp_path / "fig.png").stat().st_size > 10_000


LOCKBENCH = Path(__file__).resolve().parent / "data" / "lockbench-ticket-2cpu.json"


@pytest.mark.parametrize("command", ["plot", "compare"])
def test_predictions_and_lockbench_files_are_presented_without_measuring(tmp_path, command):
    """``predict`` writes the file; plotting it over a lockbench, or comparing the two, reads records only."""
    pred = tmp_path / "p.json"
    rc, _ = _modules_after(["predict", str(LOCKBENCH), "--calibration", str(LOCKBENCH), "--cpus", "1-32",
                            "--out", str(pred)])
    assert rc == 0
    argv = ["plot", str(LOCKBENCH), str(pred), "--out", str(tmp_path / "fig")] if command == "plot" else \
        ["compare", str(pred), str(LOCKBENCH)]
    rc, measuring = _modules_after(argv)
    assert rc == 0
    assert measuring == [], f"'zswap-conc {command}' imported {measuring}"


def test_the_probe_sees_measuring_imports():
    """The check can fail: a command that measures does import them."""
    rc, measuring = _modules_after(["hunt", "--budget", "1", "--variant", "no-recheck-2023"])
    assert rc in (0, 1) and "zswap_conc.ops.step" in measuring and "numba" in measuring
