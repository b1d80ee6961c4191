"""Real mode: one worker process per simulated CPU, hammering one shared arena, and the run record.

The harness owns what will-it-scale's does: compile before forking (so workers start warm), pin
each worker to its own core where it can, release them together through a barrier, run a warm-up,
then a timed window sampled every second, then the stop flag.  A worker that dies is noticed
within a poll interval and named with its exit status; SIGINT and SIGTERM stop the workers.  The
shared segment is unlinked on every way out.  Counters are read from shared memory only after the
workers have stopped, except the per-second samples, which are racy reads of one word per CPU.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable

import numpy as np

from zswap_conc import sync
from zswap_conc.arena import (
    CTL_FINISHED,
    CTL_GO,
    CTL_HEARTBEAT,
    CTL_PAUSE,
    CTL_PAUSED,
    CTL_PHASE,
    CTL_READY,
    CTL_STOP,
    LOCK_CLASS_NAMES,
    PHASE_AFTER,
    PHASE_MEASURE,
    Arena,
)
from zswap_conc.config import PAGE_SIZE, Config, oversubscribed
from zswap_conc.ops.counters import (
    C_BYTES_IN,
    C_BYTES_OUT,
    C_COMPRESS_CYCLES,
    C_DECOMPRESS_CYCLES,
    C_INVALIDATES,
    C_LOADS,
    C_OPS,
    C_STORES,
    COUNTER_NAMES,
)
from zswap_conc.params import P_WATCHDOG_CYCLES
from zswap_conc.results import FORMAT_VERSION, SCHEMA, loadavg, lock_stat_rows, machine_meta

POLL_S = 0.02  # how often the parent looks for dead workers
BARRIER_TIMEOUT_S = 60.0  # workers that never reach the start barrier
JOIN_TIMEOUT_S = 5.0  # workers that do not return after the stop flag (a lock holder died)
WATCHDOG_S = 3.0  # workers of a parent silent this long exit by themselves
INJECT_ENV = "ZSWAP_CONC_INJECT"  # fault injection for tests: "raise@cpu=N"


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class WorkerDied(RuntimeError):
    """A worker process ended before it was told to stop; ``partial`` holds what was measured."""

    partial: dict | None = None


class Interrupted(Exception):
    """The run was stopped by a signal; ``partial`` holds what was measured before it."""

    def __init__(self, signame: str, partial: dict | None = None):
        super().__init__(f"interrupted by {signame}")
        self.signame = signame
        self.partial = partial


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


_WARM = {}


def warm_up() -> float:
    """Compile (or load from numba's cache) everything a worker runs, in the parent, before any
    fork; returns the seconds it took."""
    if "t" in _WARM:
        return 0.0
    from zswap_conc.cpu import cpu_run
    from zswap_conc.verify import arena_verify

    t0 = time.perf_counter()
    cfg = Config(cpus=1, clusters_per_cpu=1, pool_size=64 * PAGE_SIZE, swap_size=1 << 30)
    with Arena(cfg, shared=False) as ar:
        ar.v.ctl[0, CTL_GO] = 1
        cpu_run(ar.v, 0, 64)
        arena_verify(ar.v, 0)
    _WARM["t"] = time.perf_counter() - t0
    return _WARM["t"]


def _worker(arena: Arena, cpu: int, core: int | None) -> None:
    from zswap_conc.cpu import ORPHANED, cpu_run

    # the parent coordinates Ctrl-C: a worker stops through the stop flag, never mid-operation
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by the parent around fork
    if core is not None:
        try:
            os.sched_setaffinity(0, {core})
        except OSError:
            pass
    try:
        inject = os.environ.get(INJECT_ENV, "")
        if inject == f"raise@cpu={cpu}":
            raise RuntimeError(f"injected fault in worker for cpu {cpu}")
        if cpu_run(arena.v, cpu, arena.cfg.ops_per_cpu) == ORPHANED:
            print(f"zswap-conc: worker for cpu {cpu}: the parent stopped (no heartbeat for {WATCHDOG_S:g}s); "
                  f"exiting", file=sys.stderr, flush=True)
            os._exit(4)
    except Exception as e:  # one line for the user; the parent reports the exit status
        print(f"zswap-conc: worker for cpu {cpu}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os._exit(1)


class _Workers:
    def __init__(self, arena: Arena, cfg: Config):
        import multiprocess

        ctx = multiprocess.get_context("fork")
        self.ctl = arena.v.ctl
        arena.v.params[P_WATCHDOG_CYCLES] = int(WATCHDOG_S * 1e9 * arena.cycles_per_ns)
        cores = sorted(os.sched_getaffinity(0))
        self.pinned = cfg.pin and cfg.cpus <= len(cores)
        self.procs = []
        sys.stdout.flush()
        sys.stderr.flush()
        # a signal landing inside fork's at-fork hooks is swallowed ("Exception ignored"); hold
        # SIGINT/SIGTERM until every worker exists, then let them through as usual
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for cpu in range(cfg.cpus):
                core = cores[cpu] if self.pinned else None
                pr = ctx.Process(target=_worker, args=(arena, cpu, core), name=f"zswap-cpu{cpu}", daemon=True)
                pr.start()
                self.procs.append(pr)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def heartbeat(self) -> None:
        self.ctl[0, CTL_HEARTBEAT] += 1

    def dead(self, clean_exit_ok: bool = False) -> tuple[int, int] | None:
        """The first worker that has exited (a clean exit counts only if it was not expected)."""
        for cpu, pr in enumerate(self.procs):
            code = pr.exitcode
            if code is not None and not (clean_exit_ok and code == 0):
                return cpu, code
        return None

    def stop(self, ctl: np.ndarray) -> list[int]:
        """Set the stop flag, wait, and kill what does not return; the cpus that had to be killed."""
        ctl[0, CTL_STOP] = 1
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for pr in self.procs:
            pr.join(max(0.0, deadline - time.monotonic()))
        killed = []
        for cpu, pr in enumerate(self.procs):
            if pr.exitcode is None:
                killed.append(cpu)
                pr.kill()
                pr.join(2.0)
        return killed


def _sleep_watch(workers: _Workers, until: float) -> None:
    workers.heartbeat()
    while True:
        now = time.perf_counter()
        if now >= until:
            return
        d = workers.dead()
        if d is not None:
            raise WorkerDied(f"worker for cpu {d[0]} {_describe_exit(d[1])}")
        time.sleep(min(POLL_S, until - now))
        workers.heartbeat()


def run(cfg: Config, on_sample: Callable[[float, float], None] | None = None, verify_every: float = 0.0) -> dict:
    """Run one configuration in real mode and return its record (see ``results``).

    ``verify_every`` > 0 (the soak): at each per-second sample the workers park at an operation
    boundary and the whole arena is verified; the record then carries ``soak`` figures."""
    compile_s = warm_up()
    rate = sync.cycles_per_ns()
    meta = machine_meta()
    meta.update(
        oversubscribed=oversubscribed(cfg.cpus),
        loadavg_start=loadavg(),
        cycles_per_ns=round(rate, 4),
        compile_s=round(compile_s, 3),
    )
    old_term = signal.getsignal(signal.SIGTERM)

    def _on_term(signum, frame):
        raise Interrupted("SIGTERM")

    signal.signal(signal.SIGTERM, _on_term)
    workers = None
    samples: list[dict] = []
    checks: list[dict] = []
    try:
        with Arena(cfg, shared=True, cycles_per_ns=rate) as arena:
            a = arena.v
            meta["corpus"] = arena.corpus_desc
            try:
                workers = _Workers(arena, cfg)
                meta["pinned"] = workers.pinned
                deadline = time.perf_counter() + BARRIER_TIMEOUT_S
                while a.ctl[1, CTL_READY] < cfg.cpus:
                    _sleep_watch(workers, min(deadline, time.perf_counter() + POLL_S))
                    if time.perf_counter() >= deadline:
                        raise WorkerDied("workers did not reach the start barrier in time")
                if cfg.ops_per_cpu > 0:
                    t0, t1 = _run_fixed_work(a, cfg, workers)
                    return _finish(arena, cfg, meta, workers, samples, t1 - t0)
                a.ctl[0, CTL_GO] = 1
                _sleep_watch(workers, time.perf_counter() + cfg.warmup)
                a.ctl[0, CTL_PHASE] = PHASE_MEASURE
                t0 = time.perf_counter()
                last_t, last = t0, np.zeros(cfg.cpus, np.int64)
                end = t0 + cfg.duration
                while True:
                    _sleep_watch(workers, min(end, last_t + 1.0))
                    now = time.perf_counter()
                    ops = a.cnt[PHASE_MEASURE, :, C_OPS].copy()
                    if now - last_t > 0.05:
                        per = (ops - last) / (now - last_t)
                        samples.append({"t": round(now - t0, 3), "ops_s": [round(float(x), 1) for x in per]})
                        if on_sample is not None:
                            on_sample(now - t0, float(per.sum()))
                        if verify_every > 0:
                            checks.append(_pause_verify(a, cfg, workers, now - t0))
                    last_t, last = now, ops
                    if now >= end:
                        break
                a.ctl[0, CTL_PHASE] = PHASE_AFTER
                t1 = time.perf_counter()
            except BaseException as e:
                if workers is not None:
                    workers.stop(a.ctl)
                if isinstance(e, KeyboardInterrupt):
                    e = Interrupted("SIGINT")
                if isinstance(e, (Interrupted, WorkerDied)):
                    e.partial = _partial_record(cfg, meta, samples, str(e))
                    raise e from None
                raise
            rec = _finish(arena, cfg, meta, workers, samples, t1 - t0)
            if verify_every > 0:
                rec["soak"] = _soak_figures(samples, checks)
            return rec
    finally:
        signal.signal(signal.SIGTERM, old_term)


def _pause_verify(a, cfg: Config, workers: _Workers, t: float) -> dict:
    """Park every worker at an operation boundary, verify the whole arena, resume."""
    from zswap_conc.verify import (
        V_ACCOUNTING,
        V_DEVICE_VERIFIED,
        V_LEAKED,
        V_LRU_ERROR,
        V_MISMATCHES,
        V_POOL_ERROR,
        V_TREE_ERROR,
        V_VERIFIED,
        arena_verify,
    )

    a.ctl[1, CTL_PAUSED] = 0
    a.ctl[0, CTL_PAUSE] = 1
    deadline = time.perf_counter() + 5.0
    try:
        while a.ctl[1, CTL_PAUSED] < cfg.cpus:
            workers.heartbeat()
            d = workers.dead()
            if d is not None:
                raise WorkerDied(f"worker for cpu {d[0]} {_describe_exit(d[1])}")
            if time.perf_counter() > deadline:
                raise WorkerDied("workers did not park for verification within 5 s")
            time.sleep(0.0002)
        v = arena_verify(a, 0)
    finally:
        a.ctl[0, CTL_PAUSE] = 0
    return {"t": round(t, 3), "verified": int(v[V_VERIFIED]), "device_verified": int(v[V_DEVICE_VERIFIED]),
            "mismatches": int(v[V_MISMATCHES]), "leaked": int(v[V_LEAKED]), "accounting_ok": not v[V_ACCOUNTING],
            "tree_error": int(v[V_TREE_ERROR]), "pool_error": int(v[V_POOL_ERROR]), "lru_error": int(v[V_LRU_ERROR])}


def _soak_figures(samples: list, checks: list) -> dict:
    rates = [sum(s["ops_s"]) for s in samples]
    k = max(1, len(rates) // 10)
    first, last = sum(rates[:k]) / k, sum(rates[-k:]) / k
    bad = [c for c in checks if c["mismatches"] or c["leaked"] or not c["accounting_ok"] or c["tree_error"]
           or c["pool_error"] or c["lru_error"]]
    return {
        "verifications": len(checks),
        "entries_verified": sum(c["verified"] + c["device_verified"] for c in checks),
        "mismatches": sum(c["mismatches"] for c in checks),
        "leaks": sum(c["leaked"] for c in checks) + sum(not c["accounting_ok"] for c in checks),
        "failed_checks": bad[:20],
        "throughput_first_tenth": round(first, 1),
        "throughput_last_tenth": round(last, 1),
        "drift": round(last / first - 1, 4) if first else 0.0,
        "checks": checks,
    }


def _partial_record(cfg: Config, meta: dict, samples: list, reason: str) -> dict:
    """What a run that ended early had measured: its per-second samples, marked incomplete."""
    return {
        "schema": SCHEMA,
        "format_version": FORMAT_VERSION,
        "kind": "run",
        "complete": False,
        "stopped_by": reason,
        "meta": meta,
        "config": cfg.to_dict(),
        "samples": samples,
    }


def _finish(arena: Arena, cfg: Config, meta: dict, workers: _Workers, samples: list, seconds: float) -> dict:
    meta["killed_workers"] = workers.stop(arena.v.ctl)
    dead = [(c, pr.exitcode) for c, pr in enumerate(workers.procs) if pr.exitcode != 0]
    if dead:
        c, code = dead[0]
        raise WorkerDied(f"worker for cpu {c} {_describe_exit(code)}")
    return _record(arena, cfg, meta, samples, seconds)


def _run_fixed_work(a, cfg: Config, workers: _Workers) -> tuple[float, float]:
    """Every CPU performs ``ops_per_cpu`` operations, all counted; the time until the last one
    finishes is the figure (what pytest-benchmark compares between revisions)."""
    a.ctl[0, CTL_PHASE] = PHASE_MEASURE
    t0 = time.perf_counter()
    a.ctl[0, CTL_GO] = 1
    while a.ctl[1, CTL_FINISHED] < cfg.cpus:
        workers.heartbeat()
        d = workers.dead(clean_exit_ok=True)
        if d is not None:
            raise WorkerDied(f"worker for cpu {d[0]} {_describe_exit(d[1])}")
        time.sleep(0.0005)
    return t0, time.perf_counter()


def _record(arena: Arena, cfg: Config, meta: dict, samples: list, seconds: float) -> dict:
    from zswap_conc.verify import (
        V_ACCOUNTING,
        V_COMPRESSED_BYTES,
        V_DEVICE_VERIFIED,
        V_FRAMES,
        V_GLOBAL_FRAMES,
        V_LEAKED,
        V_LRU_ERROR,
        V_MISMATCHES,
        V_POOL_ERROR,
        V_SAME_FILLED,
        V_STORED,
        V_TREE_ERROR,
        V_VERIFIED,
        arena_verify,
    )

    a = arena.v
    ns_per_cycle = 1.0 / arena.cycles_per_ns
    cnt = a.cnt[PHASE_MEASURE]
    total = cnt.sum(axis=0)
    per_cpu_ops = cnt[:, C_OPS] / seconds
    ops = int(total[C_OPS])
    v = arena_verify(a, 0)
    meta["loadavg_end"] = loadavg()
    lock_rows = lock_stat_rows(a.lstat[PHASE_MEASURE], LOCK_CLASS_NAMES, ns_per_cycle)
    wait_ns = sum(r["waittime-total"] for r in lock_rows)
    cpu_ns = cfg.cpus * seconds * 1e9
    acq = sum(r["acquisitions"] for r in lock_rows)
    con = sum(r["contentions"] for r in lock_rows)
    counters = {name: int(total[i]) for i, name in enumerate(COUNTER_NAMES) if not name.startswith("_")}
    frames = int(v[V_FRAMES])
    stored = int(v[V_STORED])
    same = int(v[V_SAME_FILLED])
    return {
        "schema": SCHEMA,
        "format_version": FORMAT_VERSION,
        "kind": "run",
        "complete": True,
        "meta": meta,
        "config": cfg.to_dict(),
        "seconds": round(seconds, 4),
        "throughput": {
            "ops_s": round(ops / seconds, 1),
            "per_cpu_ops_s": [round(float(x), 1) for x in per_cpu_ops],
        },
        "samples": samples,
        "mix": {
            "store": round(counters["stores"] / max(1, ops), 4),
            "load": round(counters["loads"] / max(1, ops), 4),
            "invalidate": round(counters["invalidates"] / max(1, ops), 4),
        },
        "counters": counters,
        "zswap": {
            "stored_pages": stored,
            "same_filled_pages": same,
            "pool_total_size": frames * PAGE_SIZE,
            "reject_compress_poor": counters["reject_compress_poor"],
            "reject_alloc_fail": counters["reject_alloc_fail"],
            "reject_compress_fail": counters["reject_compress_fail"],
            "duplicate_entry": counters["duplicate_entry"],
            "compression_ratio": round(total[C_BYTES_IN] / max(1, total[C_BYTES_OUT]), 3),
            "pool_ratio": round((stored - same) * PAGE_SIZE / max(1, frames * PAGE_SIZE), 3),
            "compressed_bytes": int(v[V_COMPRESSED_BYTES]),
        },
        "lock_stat": lock_rows,
        "contention": {
            "wait_share": round(wait_ns / cpu_ns, 5) if cpu_ns else 0.0,
            "contentions_per_acquisition": round(con / acq, 5) if acq else 0.0,
            "acquisitions_per_op": round(acq / max(1, ops), 3),
            "compress_share": round(float(total[C_COMPRESS_CYCLES]) * ns_per_cycle / cpu_ns, 4),
            "decompress_share": round(float(total[C_DECOMPRESS_CYCLES]) * ns_per_cycle / cpu_ns, 4),
            "store_ns_compress": round(float(total[C_COMPRESS_CYCLES]) * ns_per_cycle
                                       / max(1, counters["stores"]), 1),
        },
        "integrity": {
            "verified": int(v[V_VERIFIED]),
            "mismatches": int(v[V_MISMATCHES]),
            "load_mismatches": counters["load_mismatch"],
            "tree_error": int(v[V_TREE_ERROR]),
            "pool_error": int(v[V_POOL_ERROR]),
            "accounting_ok": not bool(v[V_ACCOUNTING]),
            "leaked_entries": int(v[V_LEAKED]),
            "device_verified": int(v[V_DEVICE_VERIFIED]),
            "lru_error": int(v[V_LRU_ERROR]),
            "frames_counter_ok": not bool(v[V_GLOBAL_FRAMES]),
        },
        "writeback": _writeback_figures(counters),
        "op_counts": {
            "store": int(total[C_STORES]),
            "load": int(total[C_LOADS]),
            "invalidate": int(total[C_INVALIDATES]),
        },
    }


def _writeback_figures(c: dict) -> dict:
    depth = [c[f"depth_{k}"] for k in range(1, 9)]
    wb = c["written_back_pages"]
    freed = c["writeback_frames_freed"]
    return {
        "pool_limit_hit": c["pool_limit_hit"],
        "written_back_pages": wb,
        "reject_reclaim_fail": c["reject_reclaim_fail"],
        "restores": c["writeback_restores"],
        "no_progress": c["writeback_no_progress"],
        "overflow": c["writeback_overflow"],
        "denied": c["writeback_denied"],
        "recheck_abort": c["writeback_recheck_abort"],
        "slot_busy": c["writeback_slot_busy"],
        "frames_freed": freed,
        "frames_freed_per_object": round(freed / wb, 4) if wb else 0.0,
        "objects_per_frame_freed": round(wb / freed, 4) if freed else None,
        "lru_inversions": c["lru_inversions"],
        "shrinker_runs": c["shrinker_runs"],
        "depth_histogram": {str(k + 1): n for k, n in enumerate(depth) if n},
        "max_depth": max((k + 1 for k, n in enumerate(depth) if n), default=0),
        "device_writes": c["device_writes"],
        "device_reads": c["device_reads"],
        "load_device": c["load_device"],
    }


def integrity_ok(rec: dict) -> bool:
    i = rec["integrity"]
    return (i["mismatches"] == 0 and i["load_mismatches"] == 0 and i["tree_error"] == 0
            and i["pool_error"] == 0 and i["accounting_ok"] and i["leaked_entries"] == 0
            and i.get("lru_error", 0) == 0 and i.get("frames_counter_ok", True))
