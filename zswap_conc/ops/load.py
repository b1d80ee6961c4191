"""load: bring one page back from the pool (zswap_load; frontswap_load before 5.19).

Steps:

  [swap path: a new page in the swap cache]
  LOCK         tree_lock -- an xarray that keeps the entry looks it up right here, without it
  SEARCH       look the slot up.  Found: with a refcount -> GET; without one, an exclusive load
               erases it here (6.9: under tree_lock), unlock -> DECOMPRESS.
               Not found: unlock; the data is on the swap device -> DEVICE, else a miss
  GET          (refcount) get a reference (a per-tree LRU moves it to its head), unlock -> DECOMPRESS.
               One critical section with SEARCH (zswap_entry_find_get), split in two steps so that
               a lock dropped between them is a race the hunter can see
  DECOMPRESS   copy the object out, decompress, verify against the slot's newest version.
               Without a refcount: an exclusive load frees the entry now (after the lock, 6.9+)
  PUT_LOCK     tree_lock (refcount)
  PUT          an exclusive load erases the entry; put the reference(s), unlock -> free if last
  DEVICE       read the page from the swap device and verify it

Loads keep the entry (``load keep``) or erase it once the page is in the swap cache (``exclusive``:
b9c91c43412f optionally in 6.5, always from c2e2ba770200 in 6.9): the swap cache then owns the data.

LOCKING: tree_lock for SEARCH, GET and PUT (an xarray that keeps the entry: none).  The slot's busy bit
keeps a reference-less entry alive between SEARCH and DECOMPRESS: a writeback must claim it first.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import SL_LIVE, SL_ON_DEVICE, SL_VERSION
from zswap_conc.checked import M_UNLOCK_EARLY, W_SLOT, chk_refcount, chk_slot, chk_tree, mutant
from zswap_conc.index import INDEX_XARRAY, NIL, index_search, index_search_unlocked
from zswap_conc.jit import STEP, bytes_copy
from zswap_conc.lru import LRU_LOCK_TREE, obj_lru_rotate
from zswap_conc.ops.counters import C_DEV_READS, C_LOAD_DEVICE, C_LOAD_HIT, C_LOAD_MISS, C_LOADS, C_MISMATCH
from zswap_conc.ops.entry import E_REFCOUNT, cs_end, entry_decompress, entry_erase, entry_put, free_then
from zswap_conc.ops.frame import (
    F_ENTRY,
    F_KEY,
    F_PC,
    F_PHASE,
    F_RESULT,
    F_SLOT,
    F_TREE,
    PROGRESS,
    RES_DEVICE,
    RES_MISMATCH,
    RES_MISS,
    lock_step,
    op_done,
)
from zswap_conc.ops.locking import tree_lock_id, unlock
from zswap_conc.pages import page_verify
from zswap_conc.params import (
    FREE_ALL,
    LOAD_EXCLUSIVE,
    LOAD_KEEP,
    P_DEV_READ_CYCLES,
    P_FREE_UNDER_TREE,
    P_INDEX,
    P_LOAD,
    P_LRU_LOCK,
    P_WB_ORDER,
    WB_CLAIM_FIRST,
)
from zswap_conc.sync import spin_ns

LD_LOCK = 0
LD_SEARCH = 1
LD_DECOMPRESS = 2
LD_PUT_LOCK = 3
LD_PUT = 4
LD_DEVICE = 5
LD_GET = 6
LOAD_STEP_NAMES = ("load: tree_lock", "load: search", "load: decompress", "load: tree_lock (put)",
                   "load: put", "load: read swap device", "load: get reference")


@njit(**STEP)
def _found(a, cpu, f, cnt, e, locked) -> int:
    """SEARCH's outcome for entry ``e`` (NIL: none); the tree's lock is held iff ``locked``."""
    p = a.params
    slot = f[F_SLOT]
    t = f[F_TREE]
    chk_tree(a, cpu, t, locked)
    chk_slot(a, cpu, slot, W_SLOT)
    cnt[C_LOADS] += 1
    refcount = p[P_WB_ORDER] != WB_CLAIM_FIRST
    if e != NIL and a.slots[slot, SL_LIVE] != 0:
        f[F_ENTRY] = e
        if refcount:
            if mutant(a, M_UNLOCK_EARLY):  # the mutant: tree_lock dropped before the reference
                unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
            f[F_PC] = LD_GET
            return PROGRESS
        if p[P_LOAD] == LOAD_EXCLUSIVE:
            entry_erase(a, cpu, t, e)  # the reference is the tree's: freed after the lock
            a.slots[slot, SL_LIVE] = 0
        if locked:
            unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
        f[F_PC] = LD_DECOMPRESS
        return PROGRESS
    if locked:
        unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
    if e != NIL or a.slots[slot, SL_LIVE] != 0:  # an entry the model says is gone, or none it says is there
        cnt[C_MISMATCH] += 1
        f[F_RESULT] = RES_MISMATCH
    elif a.slots[slot, SL_ON_DEVICE] != 0:
        f[F_PC] = LD_DEVICE
        return PROGRESS
    else:
        cnt[C_LOAD_MISS] += 1
        f[F_RESULT] = RES_MISS
    return op_done(a, cpu, f)


@njit(**STEP)
def _get_step(a, cpu, f) -> int:
    """GET: the reference, under the tree_lock SEARCH took."""
    e = f[F_ENTRY]
    t = f[F_TREE]
    chk_refcount(a, cpu, e)
    a.nodes[e, E_REFCOUNT] += 1
    if a.params[P_LRU_LOCK] == LRU_LOCK_TREE:
        chk_tree(a, cpu, t, True)
        obj_lru_rotate(a.lru_meta, a.nodes, t, e)  # 2012: a load re-adds it at the LRU's head
    if not mutant(a, M_UNLOCK_EARLY):
        unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
    f[F_PC] = LD_DECOMPRESS
    return PROGRESS


@njit(**STEP)
def _lock_step(a, cpu, f, cnt) -> int:
    p = a.params
    if p[P_INDEX] == INDEX_XARRAY and p[P_LOAD] == LOAD_KEEP:  # xa_load under RCU: no lock
        return _found(a, cpu, f, cnt, index_search_unlocked(p, a.roots, a.xa, f[F_TREE], f[F_KEY]), False)
    return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), LD_SEARCH)


@njit(**STEP)
def _decompress_step(a, cpu, f, cnt) -> int:
    p = a.params
    e = f[F_ENTRY]
    chk_slot(a, cpu, f[F_SLOT], W_SLOT)
    ok = entry_decompress(a, cpu, e, cnt)
    cnt[C_LOAD_HIT] += 1
    if not ok or not page_verify(a.corpus, p, f[F_KEY], a.slots[f[F_SLOT], SL_VERSION], a.cpu_out[cpu]):
        cnt[C_MISMATCH] += 1
        f[F_RESULT] = RES_MISMATCH
    if p[P_WB_ORDER] != WB_CLAIM_FIRST:
        f[F_PC] = LD_PUT_LOCK
        return PROGRESS
    f[F_ENTRY] = NIL
    if p[P_LOAD] == LOAD_EXCLUSIVE:
        entry_put(a, cpu, f, e)  # erased at SEARCH: the tree's reference goes now
    return free_then(a, cpu, f, -1)


@njit(**STEP)
def _put_step(a, cpu, f) -> int:
    p = a.params
    e = f[F_ENTRY]
    t = f[F_TREE]
    chk_slot(a, cpu, f[F_SLOT], W_SLOT)
    if p[P_LOAD] == LOAD_EXCLUSIVE:  # 6.5's exclusive loads: zswap_invalidate_entry under tree_lock
        entry_erase(a, cpu, t, e)
        entry_put(a, cpu, f, e)
        a.slots[f[F_SLOT], SL_LIVE] = 0
    entry_put(a, cpu, f, e)  # ours
    f[F_ENTRY] = NIL  # no reference held from here on
    return cs_end(a, cpu, f, tree_lock_id(a, t), -1, p[P_FREE_UNDER_TREE] == FREE_ALL)


@njit(**STEP)
def _device_step(a, cpu, f, cnt) -> int:
    slot = f[F_SLOT]
    out = a.cpu_out[cpu]
    chk_slot(a, cpu, slot, W_SLOT)
    if a.params[P_DEV_READ_CYCLES] > 0:
        spin_ns(a.params[P_DEV_READ_CYCLES])
    bytes_copy(out, 0, a.device[slot], 0, out.shape[0])
    cnt[C_DEV_READS] += 1
    cnt[C_LOAD_DEVICE] += 1
    f[F_RESULT] = RES_DEVICE
    if not page_verify(a.corpus, a.params, f[F_KEY], a.slots[slot, SL_VERSION], out):
        cnt[C_MISMATCH] += 1
        f[F_RESULT] = RES_MISMATCH
    return op_done(a, cpu, f)


@njit(**STEP)
def load_step(a, cpu, f) -> int:
    """One step of the load in frame ``f``."""
    pc = f[F_PC]
    cnt = a.cnt[f[F_PHASE], cpu]
    if pc == LD_LOCK:
        return _lock_step(a, cpu, f, cnt)
    if pc == LD_SEARCH:
        p = a.params
        return _found(a, cpu, f, cnt, index_search(p, a.roots, a.nodes, a.xa, f[F_TREE], f[F_KEY]), True)
    if pc == LD_DECOMPRESS:
        return _decompress_step(a, cpu, f, cnt)
    if pc == LD_PUT_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), LD_PUT)
    if pc == LD_PUT:
        return _put_step(a, cpu, f)
    if pc == LD_DEVICE:
        return _device_step(a, cpu, f, cnt)
    if pc == LD_GET:
        return _get_step(a, cpu, f)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
