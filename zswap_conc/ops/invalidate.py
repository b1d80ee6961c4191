"""invalidate: the slot was freed above zswap (zswap_invalidate; frontswap_invalidate_page).

Steps:

  LOCK         tree_lock
  ERASE        tree_search; found: erase it, put the tree's reference; unlock
               -> the free steps if that was the last reference (a load or writeback may hold one)

LOCKING: tree_lock for ERASE.  The slot's busy bit (held by the caller) covers the slot row.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import SL_LIVE, SL_ON_DEVICE
from zswap_conc.index import NIL, tree_erase, tree_search
from zswap_conc.jit import STEP
from zswap_conc.ops.counters import C_INVAL_HIT, C_INVAL_MISS, C_INVALIDATES
from zswap_conc.ops.entry import E_STATE, ENTRY_DEAD, entry_put
from zswap_conc.ops.frame import F_KEY, F_PC, F_PHASE, F_RESULT, F_SLOT, F_TREE, PROGRESS, RES_MISS, op_done
from zswap_conc.ops.locking import lock_step, tree_lock_id, unlock

IV_LOCK = 0
IV_ERASE = 1
INVALIDATE_STEP_NAMES = ("invalidate: tree_lock", "invalidate: erase + put")


@njit(**STEP)
def _erase_step(a, cpu, f) -> int:
    cnt = a.cnt[f[F_PHASE], cpu]
    slot = f[F_SLOT]
    t = f[F_TREE]
    cnt[C_INVALIDATES] += 1
    e = tree_search(a.roots, a.nodes, t, f[F_KEY])
    nxt = -1
    if e == NIL:
        cnt[C_INVAL_MISS] += 1
        f[F_RESULT] = RES_MISS
    else:
        cnt[C_INVAL_HIT] += 1
        tree_erase(a.roots, a.nodes, t, e)
        a.nodes[e, E_STATE] = ENTRY_DEAD
        nxt = entry_put(a, f, e)
    a.slots[slot, SL_LIVE] = 0
    a.slots[slot, SL_ON_DEVICE] = 0
    unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
    if nxt >= 0:
        f[F_PC] = nxt
        return PROGRESS
    return op_done(a, cpu, f)


@njit(**STEP)
def invalidate_step(a, cpu, f) -> int:
    """One step of the invalidate in frame ``f``."""
    pc = f[F_PC]
    if pc == IV_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), IV_ERASE)
    if pc == IV_ERASE:
        return _erase_step(a, cpu, f)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
