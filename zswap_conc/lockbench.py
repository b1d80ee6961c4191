"""Lock-only benchmark: will-it-scale's loop around the testbed's own spinlocks, run by the same
harness as the zswap model (``runner.run`` with the ``LOCKBENCH`` body).

Each CPU repeats: pick one of ``locks`` locks at random, take it, hold it ``hold_ns``, release it,
work ``outside_ns`` outside it.  Holds and outside times are drawn from an exponential
distribution of that mean (the model's assumption) or are fixed (``--dist fixed``, a C loop's
shape).  The lock code is ``sync``'s, with lock_stat on, exactly as the operations call it, so the
hand-off latency it measures (release by one CPU to acquisition by a waiting one) is the figure
the contention model (``model``) is calibrated with.  A word per lock, written without atomics
inside the critical section, proves mutual exclusion: a lost update there is a broken lock.  It is
the last word of the lock's own cache line, which the holder has just written, so the check adds
no line transfer to the holds it measures (a C loop of the same shape has none).

LOCKING (of its own small arena; every array is one shared segment):
  params, bench            written by the parent before the workers start; read-only
  ctl                      as in the zswap arena (arena.py)
  locks, held, lstat, lsite   sync.py, except locks[lk, LK_GUARDED]: lock ``lk`` (its holder)
  cnt[:, cpu], cpu_state[cpu]   owned by ``cpu``
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from numba import njit

from zswap_conc import sync
from zswap_conc.arena import (
    CNT_WIDTH,
    CS_RNG,
    CS_WIDTH,
    CTL_FINISHED,
    CTL_GO,
    CTL_PHASE,
    CTL_READY,
    CTL_STOP,
    PHASE_MEASURE,
    PHASES,
    segment_close,
    segment_create,
)
from zswap_conc.config import ConfigError, oversubscribed
from zswap_conc.cpu import ORPHANED, parent_alive
from zswap_conc.errors import Interrupted, WorkerDied
from zswap_conc.jit import HOT
from zswap_conc.ops.counters import C_OPS
from zswap_conc.pages import mix64
from zswap_conc.params import P_WIDTH
from zswap_conc.results.document import dump
from zswap_conc.results.lockbench import (
    LOCK_CLASS,
    lockbench_document,
    lockbench_entry,
    lockbench_points,
    lockbench_run_record,
)
from zswap_conc.results.meta import loadavg, machine_meta
from zswap_conc.sync import cpu_relax, fetch_add, load_acquire, spin_ns, spin_trylock_step, spin_unlock

# columns of bench[:], the loop's parameters
LB_KIND = 0  # sync.LOCK_KINDS
LB_HOLD = 1  # mean hold, cycles
LB_OUTSIDE = 2  # mean time outside the lock, cycles
LB_LOCKS = 3  # locks to choose from
LB_EXP = 4  # 1: exponential times; 0: fixed
LB_WIDTH = 8

LK_GUARDED = sync.LK_WIDTH - 1  # locks[lk, LK_GUARDED]: increments made under lock lk (a word sync leaves free)
assert LK_GUARDED not in (sync.LK_WORD, sync.LK_SERVING, sync.LK_LAST_CPU, sync.LK_OWNER, sync.LK_CLASS,
                          sync.LK_RELEASE_TS, sync.LK_ACQ), "sync uses the lock line's last word"

BenchViews = namedtuple("BenchViews", ("params", "bench", "ctl", "locks", "held", "lstat", "lsite", "cnt",
                                       "cpu_state"))


@dataclass(frozen=True)
class LockbenchConfig:
    """One lockbench run: the loop's shape and the measurement window."""

    hold_ns: float = 100.0  # mean hold
    outside_ns: float = 1000.0  # mean time outside the lock per operation
    locks: int = 1  # each operation takes one of these, at random
    lock: str = "ticket"  # spinlock kind
    dist: str = "exponential"  # exponential | fixed: how holds and outside times vary
    cpus: int = 1  # worker processes
    duration: float = 1.0  # seconds measured
    warmup: float = 0.3  # seconds run before measuring
    pin: bool = True  # pin each worker to its own core where possible
    rt: bool = False  # workers at a real-time priority where permitted (runner._RealTime)
    seed: int = 1  # random lock choice and times
    ops_per_cpu: int = 0  # > 0: fixed work instead of a timed window
    lockstat: bool = True  # always on: lock_stat's figures are what lockbench measures

    def replace(self, **changes) -> LockbenchConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def lockbench_validate(cfg: LockbenchConfig) -> LockbenchConfig:
    """Every value checked against ``schema.LOCKBENCH``; a ConfigError naming the flag otherwise."""
    from zswap_conc.schema import LOCKBENCH, LOCKBENCH_FLAGS
    from zswap_conc.schema import check as schema_check

    for name, spec in LOCKBENCH.fields.items():
        schema_check(spec, getattr(cfg, name), LOCKBENCH_FLAGS.get(name, name), ConfigError)
    return cfg


# ---------------------------------------------------------------------------------------------
# The compiled loop


@njit(**HOT)
def _next_random(state, cpu) -> int:
    """62 random bits from ``cpu``'s own splitmix64 stream (as the workload draws them)."""
    x = state[cpu, CS_RNG] - 7046029254386353131  # + 0x9E3779B97F4A7C15, int64 wrap-around
    state[cpu, CS_RNG] = x
    return mix64(x)


@njit(**HOT)
def time_draw(b, cpu, mean) -> int:
    """A time of mean ``mean`` cycles: exponential, or ``mean`` itself."""
    if b.bench[LB_EXP] == 0 or mean == 0:
        return mean
    u = (_next_random(b.cpu_state, cpu) >> 9) + 1  # 1..2^53: log never sees 0
    return int(-math.log(u * 1.1102230246251565e-16) * mean)


@njit(**HOT)
def lockbench_cpu_run(b, cpu, max_ops) -> int:
    """One CPU's lock-only loop until the stop flag (or ``max_ops`` operations if > 0)."""
    ctl = b.ctl[0]
    fetch_add(b.ctl[1], CTL_READY, 1)
    while load_acquire(ctl, CTL_GO) == 0:  # the start barrier
        if load_acquire(ctl, CTL_STOP) != 0:
            return 0
        if not parent_alive(b, cpu):
            return ORPHANED
        cpu_relax()
    kind = b.bench[LB_KIND]
    nlocks = b.bench[LB_LOCKS]
    done = 0
    while load_acquire(ctl, CTL_STOP) == 0:
        phase = load_acquire(ctl, CTL_PHASE)
        hold = time_draw(b, cpu, b.bench[LB_HOLD])  # drawn outside the lock: the hold is the spin alone
        outside = time_draw(b, cpu, b.bench[LB_OUTSIDE])
        lk = 0 if nlocks == 1 else _next_random(b.cpu_state, cpu) % nlocks
        while not spin_trylock_step(b.locks, b.held, kind, 1, lk, cpu, 0):
            cpu_relax()
        b.locks[lk, LK_GUARDED] += 1  # a plain read-modify-write: exact only under mutual exclusion
        if hold > 0:
            spin_ns(hold)
        spin_unlock(b.locks, b.held, b.lstat, b.lsite, kind, 1, phase, lk, cpu)
        b.cnt[phase, cpu, C_OPS] += 1
        if outside > 0:
            spin_ns(outside)
        done += 1
        if (done & 1023) == 0 and not parent_alive(b, cpu):
            return ORPHANED
        if max_ops > 0 and done >= max_ops:
            fetch_add(b.ctl[1], CTL_FINISHED, 1)
            break
    return done


# ---------------------------------------------------------------------------------------------
# Its arena and its body for the runner


class LockbenchArena:
    """The loop's shared state in one segment (or a private buffer); a context manager that
    unlinks the segment."""

    def __init__(self, cfg: LockbenchConfig, shared: bool = True, cycles_per_ns: float = 1.0):
        self.cfg = cfg
        self.cycles_per_ns = cycles_per_ns
        n, i8 = cfg.cpus, np.int64
        shapes = {
            "params": (P_WIDTH,), "bench": (LB_WIDTH,), "ctl": (3, 8), "locks": (cfg.locks, sync.LK_WIDTH),
            "held": (n, sync.HELD_WIDTH),
            "lstat": (PHASES, 1, n, sync.LS_WIDTH), "lsite": (PHASES, n, 1, sync.SITES, 2),
            "cnt": (PHASES, n, CNT_WIDTH), "cpu_state": (n, CS_WIDTH),
        }
        offsets, off = {}, 0
        for name in BenchViews._fields:
            off = (off + 4095) & ~4095  # page-align: every array starts on its own lines
            offsets[name] = off
            off += int(np.prod(shapes[name])) * 8
        self._owner_pid = None
        self.shm = None
        if shared:
            self._owner_pid = os.getpid()
            self.shm, self.name = segment_create(off)
            buf = self.shm.buf
        else:
            self._private = np.zeros(off, np.uint8)
            buf = self._private.data
        try:
            self.v = BenchViews(**{k: np.frombuffer(buf, dtype=i8, count=int(np.prod(shapes[k])),
                                                    offset=offsets[k]).reshape(shapes[k])
                                   for k in BenchViews._fields})
            self._init()
        except BaseException:
            self.close()
            raise

    def _init(self) -> None:
        cfg, v, rate = self.cfg, self.v, self.cycles_per_ns
        v.bench[LB_KIND] = sync.LOCK_KINDS[cfg.lock]
        v.bench[LB_HOLD] = int(round(cfg.hold_ns * rate))
        v.bench[LB_OUTSIDE] = int(round(cfg.outside_ns * rate))
        v.bench[LB_LOCKS] = cfg.locks
        v.bench[LB_EXP] = 1 if cfg.dist == "exponential" else 0
        sync.locks_init(v.locks, np.zeros(cfg.locks, np.int64))
        sync.held_init(v.held)
        sync.lstat_init(v.lstat)
        v.cpu_state[:, CS_RNG] = np.random.default_rng(cfg.seed).integers(1, 2**62, cfg.cpus)

    def close(self) -> None:
        if self.shm is not None and os.getpid() == self._owner_pid:
            shm, self.shm = self.shm, None
            self.v = None
            segment_close(shm)

    def __enter__(self) -> LockbenchArena:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_WARM: dict = {}


def lockbench_warm_up() -> float:
    """Compile (or load from the cache) the loop in the parent, before any fork."""
    from zswap_conc.compiling import compile_notice
    from zswap_conc.runner import lockstat_warm

    if "t" in _WARM:
        return 0.0
    t0 = time.perf_counter()
    with compile_notice("lockbench loop"):
        cfg = LockbenchConfig(cpus=1, locks=2, hold_ns=10, outside_ns=10)
        with LockbenchArena(cfg, shared=False) as ar:
            ar.v.ctl[0, CTL_GO] = 1
            lockbench_cpu_run(ar.v, 0, 64)
        lockstat_warm()
    _WARM["t"] = time.perf_counter() - t0
    return _WARM["t"]


def _record(arena: LockbenchArena, cfg: LockbenchConfig, meta: dict, samples: list, seconds: float) -> dict:
    v = arena.v
    acquisitions = int(v.lstat[:, 0, :, sync.LS_ACQUISITIONS].sum())  # every phase, as guarded counts
    guarded = int(v.locks[:, LK_GUARDED].sum())
    meta["loadavg_end"] = loadavg()
    return lockbench_run_record(cfg.to_dict(), meta, samples, seconds, [int(x) for x in v.cnt[PHASE_MEASURE, :, C_OPS]],
                                sync.lstat_sum(v.lstat[PHASE_MEASURE], (LOCK_CLASS,)), 1.0 / arena.cycles_per_ns,
                                acquisitions, guarded)


def _loop(views, cpu: int, max_ops: int) -> int:
    return lockbench_cpu_run(views, cpu, max_ops)


def _body():
    from zswap_conc.runner import Body

    return Body(prepare=lockbench_warm_up, arena=lambda cfg, rate: LockbenchArena(cfg, True, rate), loop=_loop,
                describe=lambda arena: {}, record=_record, lock_classes=(LOCK_CLASS,))


def lockbench_run_one(cfg: LockbenchConfig, on_orphan=None) -> dict:
    """One CPU count measured, through the runner: its lockbench-run record."""
    from zswap_conc.runner import run

    return run(cfg, body=_body(), on_orphan=on_orphan)


class LockbenchStopped(Exception):
    """A lockbench ended early; its finished runs are saved (``path``, if it had one)."""

    def __init__(self, cause: BaseException, path: str | None, kept: int, total: int):
        super().__init__(str(cause))
        self.cause = cause
        self.path = path
        self.kept = kept
        self.total = total


def lockbench_run(shape: LockbenchConfig, cpus: tuple[int, ...], repeats: int, out: str | None,
                  progress: bool = True, allow_oversubscribe: bool = False) -> dict:
    """Every CPU count, ``repeats`` times, interleaved (repeats outermost), into one lockbench
    document; rewritten after every run when ``out`` is given, so an interrupted one keeps its runs.
    A write that fails raises ``WriteFailed``; the file then holds the runs saved before."""
    from zswap_conc.errors import WriteFailed
    from zswap_conc.progress import Progress

    meta = machine_meta()
    meta["loadavg_start"] = loadavg()
    meta["compile_s"] = round(lockbench_warm_up(), 2)
    doc = lockbench_document(meta, shape.to_dict() | {"cpus": list(cpus), "repeats": repeats,
                                                        "oversubscribe": allow_oversubscribe})
    plan = [(rep, n) for rep in range(repeats) for n in cpus]
    bar = Progress(len(plan)) if progress else None
    saved = 0

    def save() -> None:
        nonlocal saved
        if out:
            try:
                dump(doc, out)
            except OSError as e:
                raise WriteFailed(out, e.strerror or str(e), saved, len(plan)) from None
            saved = len(doc["runs"])

    def orphaned(reason: str, partial: dict) -> None:  # in a worker whose parent vanished: the file says why
        if out:
            doc["stopped_by"] = reason
            dump(doc, out)

    try:
        for i, (rep, n) in enumerate(plan):
            if bar:
                bar.show(i, f"cpus={n} repeat {rep + 1}/{repeats}{' (oversubscribed)' if oversubscribed(n) else ''}")
            rec = lockbench_run_one(shape.replace(cpus=n), on_orphan=orphaned)
            doc["runs"].append(lockbench_entry(n, rep, rec))
            doc["points"] = lockbench_points(doc)
            save()
        if bar:
            bar.show(len(plan), "done")
            bar.done()
    except (Interrupted, KeyboardInterrupt, WorkerDied) as e:
        if bar:
            bar.done()
        doc["stopped_by"] = str(e) if not isinstance(e, KeyboardInterrupt) else "interrupted by SIGINT"
        doc["points"] = lockbench_points(doc)
        save()
        raise LockbenchStopped(e, out, len(doc["runs"]), len(plan)) from None
    doc["complete"] = True
    doc["meta"]["loadavg_end"] = loadavg()
    doc["points"] = lockbench_points(doc)
    save()
    return doc
