"""load: bring one page back from the pool (zswap_load; frontswap_load in 2012).

Steps:

  LOCK         tree_lock
  SEARCH       tree_search; found: get a reference, unlock -> DECOMPRESS
               not found: unlock; the data is on the swap device -> DEVICE, else a miss (done)
  DECOMPRESS   copy the object out, decompress, verify against the slot's newest version
  PUT_LOCK     tree_lock
  PUT          put the reference, unlock -> the free steps if it was the last one
  DEVICE       read the page from the swap device and verify it

The entry stays in the tree after a load (the kernel's non-exclusive load).

LOCKING: tree_lock for SEARCH and PUT.  The reference keeps the entry and its pool object alive
between them, while a writeback or an invalidate may erase it from the tree.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import SL_LIVE, SL_ON_DEVICE, SL_VERSION
from zswap_conc.index import NIL, tree_search
from zswap_conc.jit import STEP, bytes_copy
from zswap_conc.ops.counters import C_DEV_READS, C_LOAD_DEVICE, C_LOAD_HIT, C_LOAD_MISS, C_LOADS, C_MISMATCH
from zswap_conc.ops.entry import E_REFCOUNT, entry_decompress, entry_put
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
    op_done,
)
from zswap_conc.ops.locking import lock_step, tree_lock_id, unlock
from zswap_conc.pages import page_verify
from zswap_conc.params import P_DEV_READ_CYCLES
from zswap_conc.sync import spin_ns

LD_LOCK = 0
LD_SEARCH = 1
LD_DECOMPRESS = 2
LD_PUT_LOCK = 3
LD_PUT = 4
LD_DEVICE = 5
LOAD_STEP_NAMES = ("load: tree_lock", "load: search + get", "load: decompress", "load: tree_lock (put)",
                   "load: put", "load: read swap device")


@njit(**STEP)
def _search_step(a, cpu, f, cnt) -> int:
    slot = f[F_SLOT]
    cnt[C_LOADS] += 1
    e = tree_search(a.roots, a.nodes, f[F_TREE], f[F_KEY])
    if e == NIL:
        unlock(a, tree_lock_id(a, f[F_TREE]), cpu, f[F_PHASE])
        if a.slots[slot, SL_LIVE] != 0:
            cnt[C_MISMATCH] += 1
            f[F_RESULT] = RES_MISMATCH
        elif a.slots[slot, SL_ON_DEVICE] != 0:
            f[F_PC] = LD_DEVICE
            return PROGRESS
        else:
            cnt[C_LOAD_MISS] += 1
            f[F_RESULT] = RES_MISS
        return op_done(a, cpu, f)
    a.nodes[e, E_REFCOUNT] += 1
    unlock(a, tree_lock_id(a, f[F_TREE]), cpu, f[F_PHASE])
    f[F_ENTRY] = e
    f[F_PC] = LD_DECOMPRESS
    return PROGRESS


@njit(**STEP)
def _decompress_step(a, cpu, f, cnt) -> int:
    slot = f[F_SLOT]
    ok = entry_decompress(a, cpu, f[F_ENTRY], cnt)
    cnt[C_LOAD_HIT] += 1
    if not ok or a.slots[slot, SL_LIVE] == 0 or not page_verify(
        a.corpus, a.params, f[F_KEY], a.slots[slot, SL_VERSION], a.cpu_out[cpu]
    ):
        cnt[C_MISMATCH] += 1
        f[F_RESULT] = RES_MISMATCH
    f[F_PC] = LD_PUT_LOCK
    return PROGRESS


@njit(**STEP)
def _put_step(a, cpu, f) -> int:
    nxt = entry_put(a, f, f[F_ENTRY])
    f[F_ENTRY] = NIL  # no reference held from here on
    unlock(a, tree_lock_id(a, f[F_TREE]), cpu, f[F_PHASE])
    if nxt >= 0:
        f[F_PC] = nxt
        return PROGRESS
    return op_done(a, cpu, f)


@njit(**STEP)
def _device_step(a, cpu, f, cnt) -> int:
    slot = f[F_SLOT]
    out = a.cpu_out[cpu]
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
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), LD_SEARCH)
    if pc == LD_SEARCH:
        return _search_step(a, cpu, f, cnt)
    if pc == LD_DECOMPRESS:
        return _decompress_step(a, cpu, f, cnt)
    if pc == LD_PUT_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), LD_PUT)
    if pc == LD_PUT:
        return _put_step(a, cpu, f)
    if pc == LD_DEVICE:
        return _device_step(a, cpu, f, cnt)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
