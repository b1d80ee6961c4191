"""The swap path around zswap: the kernel locks a page's trip through the swap subsystem takes
besides zswap's own, as short critical sections of their own lock_stat classes.

  swap_lock        a swap type's si->lock: allocating a slot for a store (scan_swap_map) and freeing
                   one (swap_entry_free, which calls zswap's invalidate while holding it, so the
                   invalidate runs inside it).  Taken per page before the per-CPU swap slot caches
                   (67afa38e012e, 4.11) batched it away.
  swap_cache_lock  the swap cache's address space (its tree_lock, later i_pages' xa_lock): adding a
                   page to the swap cache (a store's add_to_swap, a load's swap-in, a writeback's new
                   folio) and deleting it (a store's page after write-out, a writeback's folio).  One
                   per swap type, one per 64 MiB from 4b3ef9daa4fc (4.11).
Which of them a run takes is its profile's (``swap_lock``, ``swap_cache_lock``); the sections are
set up by ``frame.sp_begin`` and run here.

Steps: SP_LOCK (the section's lock) -> SP_DONE (unlock it, or keep it for the whole operation; the
next section, or on) ... END (the operation ends).
"""

from __future__ import annotations

from numba import njit

from zswap_conc.jit import STEP
from zswap_conc.ops.frame import (
    F_AFTER_SP,
    F_OUTER,
    F_PC,
    F_PHASE,
    F_SP_KEEP,
    F_SP_LOCK,
    F_SP_NEXT,
    PC_SP_DONE,
    PC_SP_LOCK,
    PROGRESS,
    lock_step,
    op_done,
)
from zswap_conc.ops.locking import unlock

SWAP_PATH_STEP_NAMES = ("swap path: lock", "swap path: unlock", "swap path: end")  # PC_SP_LOCK.. PC_END


@njit(**STEP)
def swap_path_step(a, cpu, f) -> int:
    """One step of the frame's swap-path section."""
    pc = f[F_PC]
    if pc == PC_SP_LOCK:
        return lock_step(a, cpu, f, f[F_SP_LOCK], PC_SP_DONE)
    if pc == PC_SP_DONE:
        if f[F_SP_KEEP] != 0:
            f[F_OUTER] = f[F_SP_LOCK] + 1
        else:
            unlock(a, f[F_SP_LOCK], cpu, f[F_PHASE])
        if f[F_SP_NEXT] >= 0:
            f[F_SP_LOCK] = f[F_SP_NEXT]
            f[F_SP_NEXT] = -1
            f[F_SP_KEEP] = 0
            f[F_PC] = PC_SP_LOCK
        else:
            f[F_PC] = f[F_AFTER_SP]
        return PROGRESS
    return op_done(a, cpu, f)  # PC_END
