"""Writeback and reclaim: the review's recursion and pageframe concerns, measured and checked."""

import subprocess
import sys

import pytest

from zswap_conc.config import Config, validate
from zswap_conc.reclaim import reclaim_curve
from zswap_conc.results.run import integrity_ok
from zswap_conc.runner import run

PATHS = ("recursive", "denial-map", "direct", "deferred")


def _pressure(writeback: str, **kw) -> dict:
    # 96 frames for 2 x 1024 slots: the pool is at its limit almost all the time
    cfg = validate(Config(cpus=2, duration=0.8, warmup=0.1, max_pool_frames=96, writeback=writeback, think_ns=0, **kw))
    return run(cfg)


@pytest.fixture(scope="module")
def runs():
    return {p: _pressure(p) for p in PATHS}


@pytest.mark.parametrize("path", PATHS)
def test_every_path_keeps_integrity_under_pressure(runs, path, no_shm_leak):
    rec = runs[path]
    assert integrity_ok(rec), rec["integrity"]
    w = rec["writeback"]
    assert w["pool_limit_hit"] > 100
    # pages reached the device and loads were served from it, verified like any other load
    assert w["device_writes"] > 100 and w["load_device"] > 100
    assert rec["integrity"]["device_verified"] > 0 and rec["integrity"]["load_mismatches"] == 0


def test_recursive_writeback_recurses(runs):
    w = runs["recursive"]["writeback"]
    assert w["max_depth"] > 1 and w["restores"] > 0
    assert w["no_progress"] > 0  # re-compressed straight back into the pool
    assert w["overflow"] > 0  # the frame stack bound was reached and counted, not crashed


@pytest.mark.parametrize("path", ["denial-map", "direct"])
def test_direct_and_denial_map_do_not_recurse(runs, path):
    w = runs[path]["writeback"]
    assert w["max_depth"] == 1 and w["restores"] == 0 and w["no_progress"] == 0
    assert w["written_back_pages"] > 100
    assert (w["denied"] > 0) == (path == "denial-map")


def test_deferred_writes_back_from_a_shrinker(runs):
    w = runs["deferred"]["writeback"]
    assert w["shrinker_runs"] > 0 and w["written_back_pages"] > 0
    assert w["max_depth"] == 1 and w["restores"] == 0
    assert w["reject_reclaim_fail"] > 0  # the store itself never waits for reclaim: it goes to the device


def test_pageframe_lru_on_zbud_frees_a_frame_per_two_objects():
    c = reclaim_curve("zbud", "pageframe", 0.3, clusters=4)
    assert c["integrity_ok"]
    for objects, frames in c["points"][1:]:
        assert objects <= 2 * frames + 1  # each eviction empties its frame: at most 2 objects each
    assert c["objects_per_frame_freed_at_quarter"] <= 2.0


def test_object_lru_needs_more_objects_per_frame_on_fragmented_zsmalloc():
    obj = reclaim_curve("zsmalloc", "object", 0.3, clusters=4)
    frame = reclaim_curve("zsmalloc", "pageframe", 0.3, clusters=4)
    assert obj["integrity_ok"] and frame["integrity_ok"]
    assert obj["objects_per_frame_freed_at_quarter"] > frame["objects_per_frame_freed_at_quarter"]
    assert frame["frames_freed_by_writeback"] > 0
    # and the object LRU never writes back a younger page before an older one of the same pool,
    # which is exactly what the pageframe LRU gives up; both end with the pool empty
    assert obj["points"][-1][1] == obj["frames_at_start"] and frame["points"][-1][1] == frame["frames_at_start"]


def test_lru_inversions_only_under_pageframe(no_shm_leak):
    # 6.2's zsmalloc keeps both LRUs under its pool lock, so either can be the one that picks
    obj = _pressure("direct", lru="object", kernel="6.2")
    frame = _pressure("direct", lru="pageframe", kernel="6.2")
    assert obj["writeback"]["lru_inversions"] == 0
    assert frame["writeback"]["lru_inversions"] > 0
    assert integrity_ok(frame)


@pytest.mark.parametrize("args, flag", [
    (["--max-pool-percent", "0.00001"], "--max-pool-percent"),
    (["--max-pool-frames", "-1"], "--max-pool-frames"),
    (["--writeback", "swapfile"], "--writeback"),
    (["--lru", "mru"], "--lru"),
])
def test_bad_writeback_input_exits_2(args, flag, no_shm_leak):
    r = subprocess.run([sys.executable, "-m", "zswap_conc.cli", "run", "--duration", "0.2", *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and flag in lines[0] and "Traceback" not in r.stderr


def test_writeback_paths_sweep_in_the_results_format(tmp_path, no_shm_leak):
    from zswap_conc.experiment import experiment_build
    from zswap_conc.plot import plot_files
    from zswap_conc.sweep import sweep_run

    exp = experiment_build({"strategies": "per-swaptype@recursive,per-swaptype@direct", "cpus": "1",
                            "repeats": 1, "duration": 0.3, "warmup": 0.05, "config": {"max_pool_frames": 96}})
    doc = sweep_run(exp, tmp_path, progress=False)
    labels = [p["variant"] for p in doc["points"]]
    assert labels == ["per-swaptype@recursive", "per-swaptype@direct"]
    by = {r["variant"]: r for r in doc["runs"]}
    assert by["per-swaptype@recursive"]["writeback"]["restores"] > 0
    assert by["per-swaptype@direct"]["writeback"]["restores"] == 0
    assert all(p["integrity_ok"] for p in doc["points"])
    assert plot_files([str(tmp_path / "sweep.json")], str(tmp_path / "again"))[0].exists()
