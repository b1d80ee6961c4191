"""The race hunter's figures, written as one versioned results file:

- rate: schedules/s and steps/s of each scheduler on drawn programs (variant none), with 1 job and
  with 2 jobs (--jobs 2), side by side on the same machine;
- find: schedules needed to find each known-buggy variant: median over 7 seeds for the sampling
  schedulers (random, pct), and the tree searches before (dfs) and after (dpor) reduction;
- exhaust: schedules to exhaust ``dfs --preemptions B`` on the default programs, before (dfs) and
  after (dpor: visited states; and with sleep sets too) reduction, with the distinct end states each
  reached.

    python3 bench/hunt_figures.py [--out docs/results/hunter-2core/hunt.json] [--rate-seconds 8]
                                  [--bound 2] [--quick]

The machine is shared and noisy: compare the figures of one file with each other (ratios), not
with another machine's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zswap_conc.check.execution import Violation, World, execute  # noqa: E402
from zswap_conc.check.hunt import hunt  # noqa: E402
from zswap_conc.check.programs import Program, settings_normal  # noqa: E402
from zswap_conc.check.scheduler import scheduler_make  # noqa: E402
from zswap_conc.check.variants import VARIANTS, WRITEBACK_RACE  # noqa: E402

SCHEMA = "zswap-conc/hunt-figures/1"
SEEDS = range(7)
FIND_BUDGET = 5_000  # schedules, per seed
# the default programs: the correct protocol's own, and the 2023 race's program under 6.6
# (program, the highest bound exhausted: plain dfs of the 6.6 program at bound 2 runs for many minutes)
DEFAULT_PROGRAMS = {
    "none": (VARIANTS["none"].program, 2),
    "writeback-race-6.6": (Program(settings_normal({"kernel": "6.6", "writeback": "direct"}), WRITEBACK_RACE), 1),
}


def _git_rev() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        return "unknown"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def rate(seconds: float) -> list[dict]:
    out = []
    for scheduler in ("random", "pct", "dfs", "dpor"):
        for jobs in (1, 2):
            r = hunt("none", scheduler, budget_seconds=seconds, seed=0, jobs=jobs)
            out.append({"scheduler": scheduler, "jobs": jobs, "schedules": r.executions, "steps": r.steps,
                        "seconds": round(r.seconds, 2), "schedules_s": round(r.executions / r.seconds, 1),
                        "steps_s": round(r.steps / r.seconds), "programs": r.trials, "found": r.found})
            print("rate", out[-1], flush=True)
    return out


def find(seeds) -> list[dict]:
    out = []
    for variant in ("no-refcount-2013", "no-recheck-2023", "writeback-swapoff-2024", "recursive-writeback-2012",
                    "lock-order-inversion"):
        for scheduler in ("random", "pct", "dfs", "dpor"):
            needed = []
            for seed in (seeds if scheduler in ("random", "pct") else [0]):
                r = hunt(variant, scheduler, budget_executions=FIND_BUDGET, seed=seed, preemptions=2)
                needed.append(r.executions if r.found else None)
            got = [n for n in needed if n is not None]
            out.append({"variant": variant, "scheduler": scheduler, "seeds": len(needed),
                        "found": f"{len(got)}/{len(needed)}",
                        "median_schedules": statistics.median(got) if got else None, "each": needed})
            print("find", out[-1], flush=True)
    return out


def _exhaust(world, name, bound):
    s = scheduler_make(name.split("+")[0], preemptions=bound)
    if name == "dpor+sleep":
        s.use_sleep = True
    n = 0
    t0 = time.perf_counter()
    while s.new_execution():
        n += 1
        ex = execute(world, s)
        ex.failed = False
        s.execution_done(ex)
    return n, s, time.perf_counter() - t0


def exhaust(bounds) -> list[dict]:
    out = []
    for label, (program, top) in DEFAULT_PROGRAMS.items():
        w = World(program)
        try:
            for bound in (b for b in bounds if b <= top):
                row = {"program": label, "bound": bound}
                try:
                    n_dfs, dfs, t_dfs = _exhaust(w, "dfs", bound)
                    n_dpor, dpor, t_dpor = _exhaust(w, "dpor", bound)
                    n_sl, sl, t_sl = _exhaust(w, "dpor+sleep", bound)
                except Violation as v:
                    row["violation"] = f"{v.invariant}: {v.detail}"
                    out.append(row)
                    continue
                row.update(dfs_schedules=n_dfs, dpor_schedules=n_dpor, ratio=round(n_dfs / n_dpor, 2),
                           dfs_seconds=round(t_dfs, 1), dpor_seconds=round(t_dpor, 1),
                           dfs_end_states=len(dfs.end_states), dpor_end_states=len(dpor.end_states),
                           same_end_states=dfs.end_states == dpor.end_states, dpor_distinct_states=dpor.states,
                           sleep_schedules=n_sl, sleep_ratio=round(n_dfs / n_sl, 2), sleep_seconds=round(t_sl, 1),
                           sleep_end_states=len(sl.end_states), sleep_same_end_states=dfs.end_states == sl.end_states)
                out.append(row)
                print("exhaust", row, flush=True)
        finally:
            w.close()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/results/hunter-2core/hunt.json")
    ap.add_argument("--rate-seconds", type=float, default=8.0)
    ap.add_argument("--bound", type=int, default=2, help="highest preemption bound to exhaust (default 2)")
    ap.add_argument("--quick", action="store_true", help="3 seeds, 3 s per rate, bound 1: a smoke run")
    ns = ap.parse_args()
    seeds = range(3) if ns.quick else SEEDS
    secs = 3.0 if ns.quick else ns.rate_seconds
    bounds = [1] if ns.quick else list(range(1, ns.bound + 1))
    t0 = time.time()
    res = {
        "schema": SCHEMA,
        "meta": {"git": _git_rev(), "cpu": _cpu_model(),
                 "load_avg_1m": round(os.getloadavg()[0], 2),
                 "cores": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                 "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0)),
                 "note": "shared machine; compare figures within this file only", "quick": ns.quick},
        "rate": rate(secs),
        "find": find(seeds),
        "exhaust": exhaust(bounds),
    }
    res["meta"]["seconds"] = round(time.time() - t0, 1)
    out = Path(ns.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
