"""invalidate: the slot was freed above zswap (zswap_invalidate; frontswap_invalidate_page before
5.19).

Steps:

  [swap path: si->lock, held to the end, where the profile frees slots under it (3.x)]
  LOCK         tree_lock
  ERASE        look the slot up; found: erase it, put the tree's reference; unlock -> the free steps
               if that was the last reference (a load or writeback may hold one), under tree_lock
               where the profile frees there (3.13-6.8; 6.9 for invalidate)

LOCKING: tree_lock for ERASE.  The slot's busy bit (held by the caller) covers the slot row.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import SL_LIVE, SL_ON_DEVICE
from zswap_conc.checked import M_LOCK_REMOVED, W_SLOT, chk_slot, chk_tree, mutant
from zswap_conc.index import NIL, index_search
from zswap_conc.jit import STEP
from zswap_conc.ops.counters import C_INVAL_HIT, C_INVAL_MISS, C_INVALIDATES
from zswap_conc.ops.entry import cs_end, entry_erase, entry_put
from zswap_conc.ops.frame import F_KEY, F_PC, F_PHASE, F_RESULT, F_SLOT, F_TREE, PROGRESS, RES_MISS, lock_step, op_done
from zswap_conc.ops.locking import tree_lock_id
from zswap_conc.params import FREE_NONE, P_FREE_UNDER_TREE

IV_LOCK = 0
IV_ERASE = 1
INVALIDATE_STEP_NAMES = ("invalidate: tree_lock", "invalidate: erase + put")


@njit(**STEP)
def _erase_step(a, cpu, f) -> int:
    cnt = a.cnt[f[F_PHASE], cpu]
    slot = f[F_SLOT]
    t = f[F_TREE]
    chk_tree(a, cpu, t, True)
    chk_slot(a, cpu, slot, W_SLOT)
    cnt[C_INVALIDATES] += 1
    e = index_search(a.params, a.roots, a.nodes, a.xa, t, f[F_KEY])
    if e == NIL:
        cnt[C_INVAL_MISS] += 1
        f[F_RESULT] = RES_MISS
    else:
        cnt[C_INVAL_HIT] += 1
        entry_erase(a, cpu, t, e)
        entry_put(a, cpu, f, e)
    a.slots[slot, SL_LIVE] = 0
    a.slots[slot, SL_ON_DEVICE] = 0
    return cs_end(a, cpu, f, tree_lock_id(a, t), -1, a.params[P_FREE_UNDER_TREE] != FREE_NONE)


@njit(**STEP)
def invalidate_step(a, cpu, f) -> int:
    """One step of the invalidate in frame ``f``."""
    pc = f[F_PC]
    if pc == IV_LOCK:
        if mutant(a, M_LOCK_REMOVED):  # the mutant: erase without tree_lock
            f[F_PC] = IV_ERASE
            return PROGRESS
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), IV_ERASE)
    if pc == IV_ERASE:
        return _erase_step(a, cpu, f)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
