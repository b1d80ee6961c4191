"""One simulated CPU's compiled main loop (real mode): operations back to back until told to stop.

A worker process enters ``cpu_run`` once and leaves when the parent sets the stop flag, so the
measured path never returns to Python.  The loop finishes the operation in hand before it stops,
so no lock is left held and the arena stays consistent for the final verification.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import (
    CS_DEPTH,
    CS_HB_SEEN,
    CS_HB_TIME,
    CS_SHRINK_POOL,
    CTL_FINISHED,
    CTL_GO,
    CTL_HEARTBEAT,
    CTL_PAUSE,
    CTL_PAUSED,
    CTL_PHASE,
    CTL_READY,
    CTL_STOP,
    G_SHRINK,
    WRITEBACK_DEFERRED,
)
from zswap_conc.checked import FP_GLOBAL, chk_touch
from zswap_conc.jit import HOT
from zswap_conc.ops.counters import C_OPS, C_SHRINK_RUNS, C_SLOT_BUSY
from zswap_conc.ops.frame import BLOCKED, DONE, OP_WRITEBACK, op_begin, op_begin_writeback
from zswap_conc.ops.step import op_step
from zswap_conc.params import P_NLRUS, P_THINK_CYCLES, P_WATCHDOG_CYCLES, P_WRITEBACK
from zswap_conc.sync import atomic_cas, cpu_relax, cycles, fetch_add, load_acquire, spin_ns, store_release
from zswap_conc.workload import slot_release, workload_next

ORPHANED = -1  # cpu_run's result when the parent stopped beating


@njit(**HOT)
def parent_alive(a, cpu) -> bool:
    """will-it-scale's watchdog: False once the parent's heartbeat has not moved for
    P_WATCHDOG_CYCLES (the parent was killed and can no longer set the stop flag)."""
    limit = a.params[P_WATCHDOG_CYCLES]
    if limit == 0:
        return True
    hb = load_acquire(a.ctl[0], CTL_HEARTBEAT)
    now = cycles()
    if hb != a.cpu_state[cpu, CS_HB_SEEN] or a.cpu_state[cpu, CS_HB_TIME] == 0:
        a.cpu_state[cpu, CS_HB_SEEN] = hb
        a.cpu_state[cpu, CS_HB_TIME] = now
        return True
    return now - a.cpu_state[cpu, CS_HB_TIME] < limit


@njit(**HOT)
def op_run(a, cpu, op, phase, target) -> None:
    """One whole operation on ``cpu``, stepped until done, spinning while blocked: ``target`` is
    the slot (the caller holds its busy bit), or for OP_WRITEBACK the LRU written back from."""
    if op == OP_WRITEBACK:
        op_begin_writeback(a, cpu, target, phase)
    else:
        op_begin(a, cpu, op, target, phase)
    while True:
        st = op_step(a, cpu)
        if st == DONE and a.cpu_state[cpu, CS_DEPTH] == 0:
            return
        if st == BLOCKED:
            cpu_relax()


@njit(**HOT)
def shrink_claim(a, cpu) -> int:
    """Deferred writeback: the worker loop's look for shrink work a store queued.  Claims it and
    returns the LRU to shrink (the pools' LRUs in turn, an allocator's; or zswap's one), else -1.
    The race hunter schedules the same check as its ``shrink`` operation."""
    chk_touch(a, cpu, FP_GLOBAL)
    if load_acquire(a.ctl[2], G_SHRINK) == 1 and atomic_cas(a.ctl[2], G_SHRINK, 1, 2) == 1:
        lru = a.cpu_state[cpu, CS_SHRINK_POOL] % a.params[P_NLRUS]
        a.cpu_state[cpu, CS_SHRINK_POOL] += 1
        return lru
    return -1


@njit(**HOT)
def shrink_done(a, cpu, phase) -> None:
    """The shrinker's writeback ended: count the run, let the next store queue work again."""
    chk_touch(a, cpu, FP_GLOBAL)
    a.cnt[phase, cpu, C_SHRINK_RUNS] += 1
    store_release(a.ctl[2], G_SHRINK, 0)


@njit(**HOT)
def cpu_run(a, cpu, max_ops) -> int:
    """Run ``cpu``'s workload until the stop flag (or ``max_ops`` operations if > 0)."""
    ctl = a.ctl[0]
    fetch_add(a.ctl[1], CTL_READY, 1)
    while load_acquire(ctl, CTL_GO) == 0:  # the start barrier
        if load_acquire(ctl, CTL_STOP) != 0:
            return 0
        if not parent_alive(a, cpu):
            return ORPHANED
        cpu_relax()
    done = 0
    deferred = a.params[P_WRITEBACK] == WRITEBACK_DEFERRED
    while load_acquire(ctl, CTL_STOP) == 0:
        if load_acquire(ctl, CTL_PAUSE) != 0:  # park, no operation in flight, for a verification
            fetch_add(a.ctl[1], CTL_PAUSED, 1)
            while load_acquire(ctl, CTL_PAUSE) != 0 and load_acquire(ctl, CTL_STOP) == 0:
                if not parent_alive(a, cpu):
                    return ORPHANED
                cpu_relax()
            continue
        phase = load_acquire(ctl, CTL_PHASE)
        if deferred and load_acquire(a.ctl[2], G_SHRINK) == 1:
            lru = shrink_claim(a, cpu)  # shrink work queued by a store that found the pool full
            if lru >= 0:
                op_run(a, cpu, OP_WRITEBACK, phase, lru)
                shrink_done(a, cpu, phase)
                continue
        op, slot = workload_next(a, cpu)
        if slot < 0:
            a.cnt[phase, cpu, C_SLOT_BUSY] += 1
            continue
        op_run(a, cpu, op, phase, slot)
        slot_release(a, slot)
        a.cnt[phase, cpu, C_OPS] += 1
        if a.params[P_THINK_CYCLES] > 0:
            spin_ns(a.params[P_THINK_CYCLES])  # the kernel's own work between two swap operations
        done += 1
        if (done & 1023) == 0 and not parent_alive(a, cpu):
            return ORPHANED
        if max_ops > 0 and done >= max_ops:
            fetch_add(a.ctl[1], CTL_FINISHED, 1)
            break
    return done
