"""Atomics and spinlocks for compiled code over shared memory, with lock_stat accounting.

numba has no CPU atomics in nopython mode, so the primitives here are LLVM instructions emitted
through ``numba.extending.intrinsic``.  Spin-wait reads must go through ``load_acquire``: a plain
array read inside a loop may be hoisted out of it by the optimiser and spin forever.

Spinlocks are *stepped*: ``spin_trylock_step`` makes one attempt and says whether the lock is now
held, so the same lock code serves the worker processes (which spin on it) and the race hunter
(which schedules each attempt).  A CPU waits on at most one lock at a time, so its pending
attempt (ticket, first-failure time) lives in its per-CPU record here (``held``), not in the caller,
beside the records of the locks it holds.

LOCKING (of the structures in this module)
  ``locks[lk, LK_WORD]``, ``locks[lk, LK_SERVING]``   the lock itself: written only with atomics
                      (SERVING by the holder, with a release store).
  ``locks[lk, LK_LAST_CPU]``, ``LK_OWNER``, ``LK_RELEASE_TS``, ``LK_ACQ``  written only by the holder
                      of ``lk``, on the line it already owns.
  ``held[cpu]``, ``lstat[:, :, cpu]``, ``lsite[:, cpu]``   written only by ``cpu``; the parent reads
                      them after the workers stopped (or as racy per-second samples).

lock_stat costs the critical section one timestamp read after the acquisition and one before the
release (plus two stores to the lock's own line): every statistic is published after the release,
into the releasing CPU's own rows.  With statistics off (``--lockstat off``) there is neither.
"""

from __future__ import annotations

import platform
import time

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from zswap_conc.jit import HOT

# ---------------------------------------------------------------------------------------------
# Intrinsics


def _item_pointer(context, builder, arrty, arr, idx):
    ary = context.make_array(arrty)(context, builder, arr)
    return cgutils.get_item_pointer(context, builder, arrty, ary, [idx], wraparound=False)


def _check_int_array(arr):
    if not isinstance(arr, types.Array) or not isinstance(arr.dtype, types.Integer):
        raise TypeError("atomics need an integer array")


@intrinsic
def atomic_cas(typingctx, arr, idx, expected, new):
    """Compare-and-swap ``arr[idx]`` (sequentially consistent); returns the old value."""
    _check_int_array(arr)
    sig = arr.dtype(arr, types.intp, arr.dtype, arr.dtype)

    def codegen(context, builder, signature, args):
        a, i, e, n = args
        i = context.cast(builder, i, signature.args[1], types.intp)
        e = context.cast(builder, e, signature.args[2], arr.dtype)
        n = context.cast(builder, n, signature.args[3], arr.dtype)
        ptr = _item_pointer(context, builder, signature.args[0], a, i)
        res = builder.cmpxchg(ptr, e, n, "seq_cst", "seq_cst")
        return builder.extract_value(res, 0)

    return sig, codegen


@intrinsic
def fetch_add(typingctx, arr, idx, value):
    """Atomically add ``value`` to ``arr[idx]``; returns the old value."""
    _check_int_array(arr)
    sig = arr.dtype(arr, types.intp, arr.dtype)

    def codegen(context, builder, signature, args):
        a, i, v = args
        i = context.cast(builder, i, signature.args[1], types.intp)
        v = context.cast(builder, v, signature.args[2], arr.dtype)
        ptr = _item_pointer(context, builder, signature.args[0], a, i)
        return builder.atomic_rmw("add", ptr, v, "seq_cst")

    return sig, codegen


@intrinsic
def load_acquire(typingctx, arr, idx):
    """Atomic load of ``arr[idx]`` with acquire ordering: never hoisted out of a spin loop."""
    _check_int_array(arr)
    sig = arr.dtype(arr, types.intp)

    def codegen(context, builder, signature, args):
        a, i = args
        i = context.cast(builder, i, signature.args[1], types.intp)
        ptr = _item_pointer(context, builder, signature.args[0], a, i)
        return builder.load_atomic(ptr, "acquire", arr.dtype.bitwidth // 8)

    return sig, codegen


@intrinsic
def store_release(typingctx, arr, idx, value):
    """Atomic store to ``arr[idx]`` with release ordering."""
    _check_int_array(arr)
    sig = types.void(arr, types.intp, arr.dtype)

    def codegen(context, builder, signature, args):
        a, i, v = args
        i = context.cast(builder, i, signature.args[1], types.intp)
        v = context.cast(builder, v, signature.args[2], arr.dtype)
        ptr = _item_pointer(context, builder, signature.args[0], a, i)
        builder.store_atomic(v, ptr, "release", arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return sig, codegen


_IS_X86 = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")


@intrinsic
def cpu_relax(typingctx):
    """The spin-loop hint (x86 ``pause``); a compiler barrier elsewhere."""
    sig = types.void()

    def codegen(context, builder, signature, args):
        if _IS_X86:
            fnty = ir.FunctionType(ir.VoidType(), [])
            fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse2.pause")
            builder.call(fn, [])
        else:
            builder.fence("seq_cst")
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def cycles(typingctx):
    """The CPU cycle counter (``rdtsc`` on x86): tens of cycles to read, unlike a syscall."""
    sig = types.int64()

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.readcyclecounter")
        return builder.call(fn, [])

    return sig, codegen


@njit(cache=True)
def _read_cycles() -> int:
    return cycles()


def cycles_per_ns(seconds: float = 0.05) -> float:
    """Measure the cycle counter's rate against the monotonic clock."""
    _read_cycles()
    t0, c0 = time.perf_counter_ns(), _read_cycles()
    time.sleep(seconds)
    t1, c1 = time.perf_counter_ns(), _read_cycles()
    rate = (c1 - c0) / max(1, t1 - t0)
    if rate <= 0:  # a counter that does not tick: fall back to "1 cycle = 1 ns"
        return 1.0
    return rate


@njit(**HOT)
def spin_ns(ncycles: int) -> None:
    """Busy-wait ``ncycles`` cycles (the synthetic compressor's calibrated cost)."""
    end = cycles() + ncycles
    while cycles() < end:
        cpu_relax()


# ---------------------------------------------------------------------------------------------
# Spinlocks

LOCK_TICKET = 0  # the 2012 kernel's x86 spinlock: FIFO, one atomic per acquisition
LOCK_TTAS = 1  # test-and-test-and-set: unfair, spins on a read-only copy of the line
LOCK_KINDS = {"ticket": LOCK_TICKET, "ttas": LOCK_TTAS}

# columns of locks[lk, :]; one lock per 64-byte line
LK_WORD = 0  # ttas: owner cpu + 1 or 0; ticket: next ticket to hand out
LK_SERVING = 1  # ticket: the ticket now allowed in
LK_LAST_CPU = 2  # cpu that released the lock last (-1: never taken): bounce accounting (statistics on)
LK_OWNER = 3  # cpu + 1 of the holder, 0 if free: assert_held and lockdep
LK_CLASS = 4  # lock class id (row of the lock_stat table)
LK_RELEASE_TS = 5  # cycle counter at the last release: hand-off latency (statistics on)
LK_ACQ = 6  # acquisitions of this lock instance, every phase (statistics on): how work spreads over instances
LK_WIDTH = 8

# columns of held[cpu, :]: the CPU's attempt in progress, then the locks it holds, innermost last
H_PEND_LOCK = 0  # lock id being attempted, -1 if none
H_PEND_TICKET = 1  # ticket taken on the first attempt
H_PEND_START = 2  # cycle counter at the first failed attempt (statistics on): the wait starts there
H_PEND_TRIES = 3  # attempts so far
H_DEPTH = 4  # locks held
H_REC = 8  # first held-lock record; record k starts at H_REC + k * HR_WIDTH
HR_LOCK = 0  # lock id
HR_CLASS = 1  # its class (read while the lock's line is ours)
HR_T_ACQ = 2  # cycle counter just after the acquisition
HR_WAIT = 3  # cycles waited, -1 if the first attempt took it
HR_BOUNCED = 4  # 1 if another CPU released it last
HR_SITE = 5  # call site (ops: operation and step) that took it
HR_HANDOFF = 6  # contended: cycles from the previous holder's release to this acquisition, else -1
HR_WIDTH = 7
HELD_MAX = 7  # deepest lock nesting a CPU may have
HELD_WIDTH = 64  # H_REC + HELD_MAX * HR_WIDTH words, rounded up to whole cache lines

# columns of lstat[phase, class, cpu, :], lock_stat's per-class figures (times in cycles)
LS_CON_BOUNCES = 0  # contended acquisitions whose lock was last taken on another cpu
LS_CONTENTIONS = 1  # acquisitions that had to wait
LS_WAIT_MIN = 2  # shortest wait of a contended acquisition
LS_WAIT_MAX = 3  # longest wait
LS_WAIT_TOTAL = 4  # sum of waits
LS_ACQ_BOUNCES = 5  # acquisitions whose lock was last taken on another cpu
LS_ACQUISITIONS = 6  # all acquisitions
LS_HOLD_MIN = 7  # shortest hold
LS_HOLD_MAX = 8  # longest hold
LS_HOLD_TOTAL = 9  # sum of holds
LS_HANDOFF_TOTAL = 10  # sum of hand-off latencies of contended acquisitions
LS_HANDOFF_MAX = 11  # longest hand-off
LS_WIDTH = 16  # 128 bytes: each cpu's row owns its cache lines

# lsite[phase, cpu, class, site, :]: lock_stat's contention points, per call site
SITE_CONTENTIONS = 0  # contended acquisitions made at this site
SITE_WAIT = 1  # cycles waited there
SITES = 128  # call-site ids 0..127 (ops.locking.lock_site: operation and step)

INT64_MAX = np.iinfo(np.int64).max


def lstat_init(lstat: np.ndarray) -> None:
    """Reset lock statistics; minima start at +inf so the first sample wins."""
    lstat[...] = 0
    lstat[..., LS_WAIT_MIN] = INT64_MAX
    lstat[..., LS_HOLD_MIN] = INT64_MAX


def locks_init(locks: np.ndarray, classes: np.ndarray) -> None:
    locks[...] = 0
    locks[:, LK_LAST_CPU] = -1
    locks[:, LK_CLASS] = classes


def held_init(held: np.ndarray) -> None:
    held[...] = 0
    held[:, H_PEND_LOCK] = -1


def lock_arrays(nlocks: int, ncpus: int, nclasses: int = 1, zeros=None):
    """(locks, held, lstat, lsite) for ``nlocks`` locks of class 0 used by ``ncpus`` CPUs, outside an
    arena (tests, benchmarks, calibration); ``zeros(shape)`` allocates int64 arrays (e.g. shared)."""
    if zeros is None:
        def zeros(shape):
            return np.zeros(shape, np.int64)
    locks = zeros((nlocks, LK_WIDTH))
    locks_init(locks, np.zeros(nlocks, np.int64))
    held = zeros((ncpus, HELD_WIDTH))
    held_init(held)
    lstat = zeros((3, nclasses, ncpus, LS_WIDTH))
    lstat_init(lstat)
    lsite = zeros((3, ncpus, nclasses, SITES, 2))
    return locks, held, lstat, lsite


@njit(**HOT, inline="always")
def _try_acquire(locks, lk, cpu, kind, held):
    if kind == LOCK_TICKET:
        if held[cpu, H_PEND_TRIES] == 0:
            held[cpu, H_PEND_TICKET] = fetch_add(locks[lk], LK_WORD, 1)
        return load_acquire(locks[lk], LK_SERVING) == held[cpu, H_PEND_TICKET]
    # test, then test-and-set: the read keeps waiters off the line's exclusive state
    if load_acquire(locks[lk], LK_WORD) != 0:
        return False
    return atomic_cas(locks[lk], LK_WORD, 0, cpu + 1) == 0


@njit(**HOT)
def spin_trylock_step(locks, held, kind, stats, lk, cpu, site) -> bool:
    """One attempt at lock ``lk`` by ``cpu``; True once it is held.

    With ``stats``, the holder takes one timestamp just after acquiring and notes what lock_stat
    needs in its own record (``held``); nothing is published until the release, so the lock is
    held no longer than the work inside it and that one timestamp."""
    if held[cpu, H_PEND_LOCK] != lk:
        held[cpu, H_PEND_LOCK] = lk
        held[cpu, H_PEND_TRIES] = 0
    acquired = _try_acquire(locks, lk, cpu, kind, held)
    tries = held[cpu, H_PEND_TRIES] + 1
    held[cpu, H_PEND_TRIES] = tries
    if not acquired:
        if stats and tries == 1:
            held[cpu, H_PEND_START] = cycles()  # lock_contended(): the wait starts at the first failure
        return False
    d = held[cpu, H_DEPTH]
    r = H_REC + d * HR_WIDTH
    held[cpu, r + HR_LOCK] = lk
    if stats:
        now = cycles()
        held[cpu, r + HR_T_ACQ] = now
        held[cpu, r + HR_CLASS] = locks[lk, LK_CLASS]
        last = locks[lk, LK_LAST_CPU]
        held[cpu, r + HR_BOUNCED] = 1 if (last != cpu and last >= 0) else 0
        held[cpu, r + HR_SITE] = site
        if tries > 1:
            held[cpu, r + HR_WAIT] = now - held[cpu, H_PEND_START]
            held[cpu, r + HR_HANDOFF] = max(0, now - locks[lk, LK_RELEASE_TS])
        else:
            held[cpu, r + HR_WAIT] = -1
            held[cpu, r + HR_HANDOFF] = -1
    locks[lk, LK_OWNER] = cpu + 1
    held[cpu, H_DEPTH] = d + 1
    held[cpu, H_PEND_LOCK] = -1
    return True


@njit(**HOT)
def _lstat_publish(held, lstat, lsite, phase, cpu, r, hold) -> None:
    """The statistics of one acquisition, written after its release into the CPU's own rows."""
    cls = held[cpu, r + HR_CLASS]
    st = lstat[phase, cls, cpu]
    st[LS_ACQUISITIONS] += 1
    bounced = held[cpu, r + HR_BOUNCED] != 0
    if bounced:
        st[LS_ACQ_BOUNCES] += 1
    wait = held[cpu, r + HR_WAIT]
    if wait >= 0:
        st[LS_CONTENTIONS] += 1
        if bounced:
            st[LS_CON_BOUNCES] += 1
        st[LS_WAIT_TOTAL] += wait
        if wait < st[LS_WAIT_MIN]:
            st[LS_WAIT_MIN] = wait
        if wait > st[LS_WAIT_MAX]:
            st[LS_WAIT_MAX] = wait
        handoff = held[cpu, r + HR_HANDOFF]
        st[LS_HANDOFF_TOTAL] += handoff
        if handoff > st[LS_HANDOFF_MAX]:
            st[LS_HANDOFF_MAX] = handoff
        site = lsite[phase, cpu, cls, held[cpu, r + HR_SITE]]
        site[SITE_CONTENTIONS] += 1
        site[SITE_WAIT] += wait
    st[LS_HOLD_TOTAL] += hold
    if hold < st[LS_HOLD_MIN]:
        st[LS_HOLD_MIN] = hold
    if hold > st[LS_HOLD_MAX]:
        st[LS_HOLD_MAX] = hold


@njit(**HOT)
def spin_unlock(locks, held, lstat, lsite, kind, stats, phase, lk, cpu) -> None:
    """Release ``lk``, which ``cpu`` must hold (innermost or not); with ``stats``, its hold is
    timed up to the release and every figure is published after it."""
    depth = held[cpu, H_DEPTH]
    k = depth - 1
    while k >= 0 and held[cpu, H_REC + k * HR_WIDTH + HR_LOCK] != lk:
        k -= 1
    r = H_REC + k * HR_WIDTH
    now = 0
    if stats:
        now = cycles()
        locks[lk, LK_RELEASE_TS] = now
        locks[lk, LK_LAST_CPU] = cpu
        locks[lk, LK_ACQ] += 1
    locks[lk, LK_OWNER] = 0
    if kind == LOCK_TICKET:
        store_release(locks[lk], LK_SERVING, locks[lk, LK_SERVING] + 1)
    else:
        store_release(locks[lk], LK_WORD, 0)
    if stats:
        _lstat_publish(held, lstat, lsite, phase, cpu, r, now - held[cpu, r + HR_T_ACQ])
    for j in range(r, H_REC + (depth - 1) * HR_WIDTH):  # keep the held records dense
        held[cpu, j] = held[cpu, j + HR_WIDTH]
    held[cpu, H_DEPTH] = depth - 1


@njit(**HOT)
def spin_lock(locks, held, kind, stats, lk, cpu, site) -> None:
    """Acquire by spinning: the real-mode loop around ``spin_trylock_step``."""
    while not spin_trylock_step(locks, held, kind, stats, lk, cpu, site):
        cpu_relax()


@njit(**HOT)
def _empty_sections(locks, held, lstat, lsite, kind, stats, n) -> None:
    for _ in range(n):
        spin_lock(locks, held, kind, stats, 0, 0, 0)
        spin_unlock(locks, held, lstat, lsite, kind, stats, 1, 0, 0)


def lockstat_cost(kind: int, cycles_per_ns: float, n: int = 100_000, repeats: int = 5) -> dict[str, float]:
    """What lock_stat costs one uncontended acquisition on this machine, in ns: ``per_acquisition``
    (empty critical sections with statistics on, against off; the best of ``repeats``) and
    ``empty_hold`` (the hold lock_stat reports for an empty critical section: the floor of every
    hold it reports, from its two timestamps and the lock's own bookkeeping between them)."""
    locks, held, lstat, lsite = lock_arrays(1, 1)
    _empty_sections(locks, held, lstat, lsite, kind, 1, 16)
    _empty_sections(locks, held, lstat, lsite, kind, 0, 16)
    best = {1: float("inf"), 0: float("inf")}
    for _ in range(repeats):
        for stats in (1, 0):
            t0 = time.perf_counter_ns()
            _empty_sections(locks, held, lstat, lsite, kind, stats, n)
            best[stats] = min(best[stats], (time.perf_counter_ns() - t0) / n)
    lstat_init(lstat)
    _empty_sections(locks, held, lstat, lsite, kind, 1, n)
    empty_hold = lstat[1, 0, 0, LS_HOLD_TOTAL] / n / cycles_per_ns
    return {"per_acquisition": round(max(0.0, best[1] - best[0]), 1), "empty_hold": round(float(empty_hold), 1)}


def held_locks(held: np.ndarray, cpu: int) -> list[int]:
    """The locks ``cpu`` holds, outermost first (checked mode's lockdep reads them)."""
    return [int(held[cpu, H_REC + k * HR_WIDTH + HR_LOCK]) for k in range(int(held[cpu, H_DEPTH]))]


def lstat_sum(lstat_phase: np.ndarray, class_names) -> list[dict]:
    """Per lock class, its CPUs' lock_stat slots summed (minima and maxima taken), in cycles: what
    ``results.run.lock_stat_rows`` turns into /proc/lock_stat rows."""
    out = []
    for c, name in enumerate(class_names):
        s = lstat_phase[c]  # (cpus, LS_WIDTH)
        acq = int(s[:, LS_ACQUISITIONS].sum())
        con = int(s[:, LS_CONTENTIONS].sum())
        out.append({
            "class": name,
            "con_bounces": int(s[:, LS_CON_BOUNCES].sum()),
            "contentions": con,
            "wait_min": int(s[:, LS_WAIT_MIN].min()) if con else 0,
            "wait_max": int(s[:, LS_WAIT_MAX].max()),
            "wait_total": int(s[:, LS_WAIT_TOTAL].sum()),
            "acq_bounces": int(s[:, LS_ACQ_BOUNCES].sum()),
            "acquisitions": acq,
            "hold_min": int(s[:, LS_HOLD_MIN].min()) if acq else 0,
            "hold_max": int(s[:, LS_HOLD_MAX].max()),
            "hold_total": int(s[:, LS_HOLD_TOTAL].sum()),
            "handoff_total": int(s[:, LS_HANDOFF_TOTAL].sum()),
            "handoff_max": int(s[:, LS_HANDOFF_MAX].max()),
        })
    return out


def lock_spread(locks: np.ndarray, class_names) -> dict[str, dict]:
    """Per lock class: its instances, and over how many of them acquisitions effectively spread
    (the participation ratio (sum a)^2 / sum a^2 of per-instance acquisitions; statistics on)."""
    out = {}
    for c, name in enumerate(class_names):
        acq = locks[locks[:, LK_CLASS] == c, LK_ACQ].astype(np.float64)
        sq = float((acq * acq).sum())
        out[name] = {"instances": int(acq.shape[0]),
                     "effective": round(float(acq.sum()) ** 2 / sq, 2) if sq else 0.0}
    return out


def lsite_sum(lsite_phase: np.ndarray, class_names, site_name) -> dict[str, list[dict]]:
    """lock_stat's contention points: per lock class, every call site that waited, with its
    contentions and wait in cycles, most contended first; ``site_name(site)`` labels a site."""
    total = lsite_phase.sum(axis=0)  # (classes, SITES, 2)
    out: dict[str, list[dict]] = {}
    for c, name in enumerate(class_names):
        rows = [{"site": site_name(s), "contentions": int(total[c, s, SITE_CONTENTIONS]),
                 "wait_total": int(total[c, s, SITE_WAIT])}
                for s in range(total.shape[1]) if total[c, s, SITE_CONTENTIONS]]
        rows.sort(key=lambda r: (-r["contentions"], -r["wait_total"]))
        out[name] = rows
    return out
