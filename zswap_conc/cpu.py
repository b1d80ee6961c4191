"""One simulated CPU's compiled main loop (real mode): operations back to back until told to stop.

A worker process enters ``cpu_run`` once and leaves when the parent sets the stop flag, so the
measured path never returns to Python.  The loop finishes the operation in hand before it stops,
so no lock is left held and the arena stays consistent for the final verification.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import CTL_FINISHED, CTL_GO, CTL_PHASE, CTL_READY, CTL_STOP
from zswap_conc.jit import HOT
from zswap_conc.ops import BLOCKED, C_OPS, C_SLOT_BUSY, DONE, op_begin, op_step
from zswap_conc.sync import cpu_relax, fetch_add, load_acquire
from zswap_conc.workload import slot_release, workload_next


@njit(**HOT)
def cpu_run(a, cpu, max_ops) -> int:
    """Run ``cpu``'s workload until the stop flag (or ``max_ops`` operations if > 0)."""
    ctl = a.ctl[0]
    fetch_add(a.ctl[1], CTL_READY, 1)
    while load_acquire(ctl, CTL_GO) == 0:  # the start barrier
        if load_acquire(ctl, CTL_STOP) != 0:
            return 0
        cpu_relax()
    done = 0
    while load_acquire(ctl, CTL_STOP) == 0:
        phase = load_acquire(ctl, CTL_PHASE)
        op, slot = workload_next(a, cpu)
        if slot < 0:
            a.cnt[phase, cpu, C_SLOT_BUSY] += 1
            continue
        op_begin(a, cpu, op, slot, phase)
        while True:
            st = op_step(a, cpu)
            if st == DONE:
                break
            if st == BLOCKED:
                cpu_relax()
        slot_release(a, slot)
        a.cnt[phase, cpu, C_OPS] += 1
        done += 1
        if max_ops > 0 and done >= max_ops:
            fetch_add(a.ctl[1], CTL_FINISHED, 1)
            break
    return done
