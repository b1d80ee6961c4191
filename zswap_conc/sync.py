"""Atomics and spinlocks for compiled code over shared memory, with lock_stat accounting.

numba has no CPU atomics in nopython mode, so the primitives here are LLVM instructions emitted
through ``numba.extending.intrinsic``.  Spin-wait reads must go through ``load_acquire``: a plain
array read inside a loop may be hoisted out of it by the optimiser and spin forever.

Spinlocks are *stepped*: ``spin_trylock_step`` makes one attempt and says whether the lock is now
held, so the same lock code serves the worker processes (which spin on it) and the race hunter
(which schedules each attempt).  A CPU waits on at most one lock at a time, so its pending
attempt (ticket, first-attempt time) lives in a per-CPU record here, not in the caller.

LOCKING (of the structures in this module)
  ``locks[lk]``       the lock word itself: written only with atomics.
  ``locks[lk, LK_LAST_CPU]``, ``locks[lk, LK_OWNER]``  written only by the holder of ``lk``.
  ``pend[cpu]``, ``held[cpu]``, ``lstat[:, :, cpu]``   written only by ``cpu``; the parent reads
                      them after the workers stopped (or as racy per-second samples).
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
LK_LAST_CPU = 2  # cpu that took the lock last (-1: never taken): bounce accounting
LK_OWNER = 3  # cpu + 1 of the holder, 0 if free: assert_held and lockdep
LK_CLASS = 4  # lock class id (row of the lock_stat table)
LK_WIDTH = 8

# columns of pend[cpu, :]: the attempt in progress
PD_LOCK = 0  # lock id being attempted, -1 if none
PD_TICKET = 1  # ticket taken on the first attempt
PD_START = 2  # cycle counter at the first attempt
PD_TRIES = 3  # attempts so far
PD_WIDTH = 8

HELD_MAX = 7  # deepest lock nesting a CPU may have
# held[cpu, 0] is the depth; held[cpu, 1 + 2k] lock id and held[cpu, 2 + 2k] its acquire time
HELD_WIDTH = 16

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
LS_WIDTH = 16  # 128 bytes: each cpu's row owns its cache lines

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


@njit(**HOT, inline="always")
def _try_acquire(locks, lk, cpu, kind, pend):
    if kind == LOCK_TICKET:
        if pend[cpu, PD_TRIES] == 0:
            pend[cpu, PD_TICKET] = fetch_add(locks[lk], LK_WORD, 1)
        return load_acquire(locks[lk], LK_SERVING) == pend[cpu, PD_TICKET]
    # test, then test-and-set: the read keeps waiters off the line's exclusive state
    if load_acquire(locks[lk], LK_WORD) != 0:
        return False
    return atomic_cas(locks[lk], LK_WORD, 0, cpu + 1) == 0


@njit(**HOT)
def spin_trylock_step(locks, pend, held, lstat, kind, phase, lk, cpu) -> bool:
    """One attempt at lock ``lk`` by ``cpu``; True once it is held (stats recorded then)."""
    now = cycles()
    if pend[cpu, PD_LOCK] != lk:
        pend[cpu, PD_LOCK] = lk
        pend[cpu, PD_TRIES] = 0
        pend[cpu, PD_START] = now
    acquired = _try_acquire(locks, lk, cpu, kind, pend)
    pend[cpu, PD_TRIES] += 1
    if not acquired:
        return False
    if pend[cpu, PD_TRIES] > 1:  # an uncontended acquisition reuses the first reading
        now = cycles()
    cls = locks[lk, LK_CLASS]
    st = lstat[phase, cls, cpu]
    bounced = locks[lk, LK_LAST_CPU] != cpu and locks[lk, LK_LAST_CPU] >= 0
    st[LS_ACQUISITIONS] += 1
    if bounced:
        st[LS_ACQ_BOUNCES] += 1
    if pend[cpu, PD_TRIES] > 1:
        wait = now - pend[cpu, PD_START]
        st[LS_CONTENTIONS] += 1
        if bounced:
            st[LS_CON_BOUNCES] += 1
        st[LS_WAIT_TOTAL] += wait
        if wait < st[LS_WAIT_MIN]:
            st[LS_WAIT_MIN] = wait
        if wait > st[LS_WAIT_MAX]:
            st[LS_WAIT_MAX] = wait
    locks[lk, LK_LAST_CPU] = cpu
    locks[lk, LK_OWNER] = cpu + 1
    pend[cpu, PD_LOCK] = -1
    depth = held[cpu, 0]
    held[cpu, 1 + 2 * depth] = lk
    held[cpu, 2 + 2 * depth] = now
    held[cpu, 0] = depth + 1
    return True


@njit(**HOT)
def spin_unlock(locks, held, lstat, kind, phase, lk, cpu) -> None:
    """Release ``lk``, which ``cpu`` must hold (innermost or not), recording its hold time."""
    depth = held[cpu, 0]
    k = depth - 1
    while k >= 0 and held[cpu, 1 + 2 * k] != lk:
        k -= 1
    hold = cycles() - held[cpu, 2 + 2 * k]
    for j in range(k, depth - 1):  # keep the held stack dense
        held[cpu, 1 + 2 * j] = held[cpu, 3 + 2 * j]
        held[cpu, 2 + 2 * j] = held[cpu, 4 + 2 * j]
    held[cpu, 0] = depth - 1
    st = lstat[phase, locks[lk, LK_CLASS], cpu]
    st[LS_HOLD_TOTAL] += hold
    if hold < st[LS_HOLD_MIN]:
        st[LS_HOLD_MIN] = hold
    if hold > st[LS_HOLD_MAX]:
        st[LS_HOLD_MAX] = hold
    locks[lk, LK_OWNER] = 0
    if kind == LOCK_TICKET:
        store_release(locks[lk], LK_SERVING, locks[lk, LK_SERVING] + 1)
    else:
        store_release(locks[lk], LK_WORD, 0)


@njit(**HOT)
def spin_lock(locks, pend, held, lstat, kind, phase, lk, cpu) -> None:
    """Acquire by spinning: the real-mode loop around ``spin_trylock_step``."""
    while not spin_trylock_step(locks, pend, held, lstat, kind, phase, lk, cpu):
        cpu_relax()



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
        })
    return out
