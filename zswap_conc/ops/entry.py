"""zswap entries, and the steps that free them: what every operation shares.

An entry is a row of ``nodes`` (``struct zswap_entry``): columns 0..4 belong to the index node it
embeds (index/), 13..15 to the LRU (lru.py), and 5..12 are its own, below.  Each slot owns two rows,
enough for its old and new data during a store, so allocating an entry needs no lock.

References: the tree holds one while the entry is linked.  Where the profile keeps a refcount
(every writeback order but claim-first), a load or a writeback takes one under the tree's lock while
it uses the entry; without one (6.9+) the slot's busy bit alone keeps the entry alive.  Whoever
drops the last reference frees the entry, its LRU link and its pool object in the free steps, which
either run after the tree's lock is released or -- where the profile frees under it (3.13-6.8 for
every free, 6.9 for invalidate and duplicates) -- while it is still held (``cs_end``):
  FREE_FIRST  a same-filled entry is freed at once; else the own LRU's lock, or the allocator's
  FREE_LRU    own LRU: take the entry off it, unlock
  FREE_LOCK   the allocator's lock (the pool's, or the size class's)
  FREE        pool_free (the allocator's LRUs with it), entry_free, unlock; then the tree's lock if
              it was kept, and on to the step the operation asked for

LOCKING of an entry:
  E_REFCOUNT, E_STATE (LIVE <-> DEAD)   the tree's lock of the entry's tree
  E_HANDLE, E_LENGTH, E_VALUE, E_VERSION, E_SLOT, E_POOL, E_STATE (FREE <-> NEW -> LIVE)
                                        the CPU holding the slot's busy bit, while the entry is
                                        unreachable (NEW) or being torn down (refcount 0)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc import checked
from zswap_conc.arena import G_FRAMES_USED, SL_KEY, SL_ON_DEVICE
from zswap_conc.checked import (
    FP_SLOT,
    M_FREE_FORGOTTEN,
    M_LOCK_REMOVED,
    W_LRU,
    W_POOL,
    chk_gen_bump,
    chk_held,
    chk_refcount,
    chk_touch,
    chk_tree,
    mutant,
)
from zswap_conc.compress import DECOMPRESS_TOKEN, decompress
from zswap_conc.index import N_KEY, NIL, index_erase
from zswap_conc.jit import HOT, STEP, bytes_copy
from zswap_conc.lru import LRU_LOCK_ALLOC, LRU_LOCK_OWN, LRU_LOCK_TREE, frame_lru_del, obj_lru_del
from zswap_conc.ops.counters import C_DECOMPRESS_CYCLES, C_WB_FRAMES_FREED
from zswap_conc.ops.frame import (
    F_AFTER_FREE,
    F_HELD,
    F_OLD,
    F_OP,
    F_PC,
    F_PHASE,
    F_SLOT,
    OP_INVALIDATE,
    OP_WRITEBACK,
    PC_FREE,
    PC_FREE_FIRST,
    PC_FREE_LOCK,
    PC_FREE_LRU,
    PROGRESS,
    lock_step,
    op_done,
)
from zswap_conc.ops.locking import lru_lock_id, pool_lock_id, unlock
from zswap_conc.pages import page_build
from zswap_conc.params import P_ALLOCATOR, P_DEV_WRITE_CYCLES, P_LRU_LOCK, P_MAX_FRAMES
from zswap_conc.pool import pool_free, pool_obj_read
from zswap_conc.sync import cycles, fetch_add, load_acquire, spin_ns

# columns of nodes[e, :] owned by the entry (0..4 belong to the index, 13..15 to the LRU)
E_STATE = 5  # ENTRY_FREE / NEW / LIVE / DEAD
E_HANDLE = 6  # pool handle, -1 for a same-filled page
E_LENGTH = 7  # compressed length in bytes
E_VALUE = 8  # the word of a same-filled page
E_VERSION = 9  # version of the data it holds
E_REFCOUNT = 10  # the tree's reference plus one per load or writeback in flight (refcount profiles)
E_SLOT = 11  # working-set slot index
E_POOL = 12  # pool shard holding its object

ENTRY_FREE = 0  # on no list, may be allocated
ENTRY_NEW = 1  # allocated, not yet in a tree
ENTRY_LIVE = 2  # linked into its tree
ENTRY_DEAD = 3  # erased from the tree, references still held

assert (checked._E_STATE, checked._ENTRY_NEW, checked._ENTRY_DEAD) == (E_STATE, ENTRY_NEW, ENTRY_DEAD)

FREE_STEP_NAMES = ("free: lru_lock or allocator lock", "free: lru del", "free: allocator lock", "free: pool_free")


@njit(**HOT)
def entry_alloc(a, slot) -> int:
    """A free entry for ``slot``: each slot owns two, enough for its old and new data."""
    for e in (2 * slot, 2 * slot + 1):
        if a.nodes[e, E_STATE] == ENTRY_FREE:
            a.nodes[e, E_STATE] = ENTRY_NEW
            a.nodes[e, N_KEY] = a.slots[slot, SL_KEY]
            a.nodes[e, E_SLOT] = slot
            a.nodes[e, E_HANDLE] = -1
            chk_gen_bump(a, e)
            return e
    return NIL


@njit(**HOT)
def entry_free(a, e) -> None:
    a.nodes[e, E_STATE] = ENTRY_FREE
    a.nodes[e, E_HANDLE] = -1
    a.nodes[e, E_REFCOUNT] = 0


@njit(**HOT)
def entry_read(a, cpu, e, out) -> bool:
    """Copy entry ``e``'s object out of the pool and decompress it into ``out``."""
    n = a.nodes
    chk_touch(a, cpu, FP_SLOT + n[e, E_SLOT])
    if n[e, E_HANDLE] < 0:
        out.view(np.int64)[:] = n[e, E_VALUE]
        return True
    length = n[e, E_LENGTH]
    chk_touch(a, cpu, pool_lock_id(a, n[e, E_POOL], length))  # the object's bytes: ordered by its pool
    cbuf = a.cpu_cbuf[cpu]
    pool_obj_read(a.params[P_ALLOCATOR], a.frame_meta, a.pool_data, n[e, E_HANDLE], cbuf, length)
    r = decompress(a.params, a.cpu_zctx[cpu, 1], cbuf, length, out)
    if r == DECOMPRESS_TOKEN:
        tok = cbuf[:24].view(np.int64)
        page_build(a.corpus, a.params, tok[0], tok[1], out)
        return True
    return r == out.shape[0]


@njit(**HOT)
def entry_decompress(a, cpu, e, cnt) -> bool:
    """entry_read into the CPU's output page, its time counted as decompression."""
    t0 = cycles()
    ok = entry_read(a, cpu, e, a.cpu_out[cpu])
    cnt[C_DECOMPRESS_CYCLES] += cycles() - t0
    return ok


@njit(**HOT)
def entry_erase(a, cpu, t, e) -> None:
    """Unlink ``e`` from tree ``t`` (its lock held); a per-tree LRU (2012) loses it with it."""
    chk_tree(a, cpu, t, True)
    index_erase(a.params, a.roots, a.nodes, a.xa, t, e)
    a.nodes[e, E_STATE] = ENTRY_DEAD
    if a.params[P_LRU_LOCK] == LRU_LOCK_TREE:
        obj_lru_del(a.lru_meta, a.nodes, t, e)


@njit(**HOT)
def entry_put(a, cpu, f, e) -> None:
    """Drop one reference to ``e`` (the tree's lock held, or no refcount kept); if it was the last,
    ``e`` is this operation's to free (F_OLD)."""
    chk_refcount(a, cpu, e)
    a.nodes[e, E_REFCOUNT] -= 1
    if a.nodes[e, E_REFCOUNT] == 0:
        if mutant(a, M_FREE_FORGOTTEN) and f[F_OP] == OP_INVALIDATE:
            return
        f[F_OLD] = e


@njit(**HOT)
def _cs_unlock(a, cpu, f, lk) -> None:
    """The unlock at the end of a tree_lock section (which the lock-removed mutant never took)."""
    if mutant(a, M_LOCK_REMOVED) and f[F_OP] == OP_INVALIDATE:
        return
    unlock(a, lk, cpu, f[F_PHASE])


@njit(**HOT)
def cs_end(a, cpu, f, lk, then, keep_for_free) -> int:
    """End a critical section of tree_lock ``lk``: on to step ``then`` (-1: the operation ends),
    through the free steps first if an entry is to be freed -- still holding ``lk`` when
    ``keep_for_free`` (the profile frees under the tree's lock), after releasing it otherwise."""
    if f[F_OLD] != NIL:
        f[F_AFTER_FREE] = then
        if keep_for_free and not (mutant(a, M_LOCK_REMOVED) and f[F_OP] == OP_INVALIDATE):
            f[F_HELD] = lk + 1
        else:
            _cs_unlock(a, cpu, f, lk)
        f[F_PC] = PC_FREE_FIRST
        return PROGRESS
    _cs_unlock(a, cpu, f, lk)
    if then < 0:
        return op_done(a, cpu, f)
    f[F_PC] = then
    return PROGRESS


@njit(**HOT)
def free_then(a, cpu, f, then) -> int:
    """On to step ``then`` (-1: the end), through the free steps first if an entry is to be freed;
    no lock held."""
    if f[F_OLD] != NIL:
        f[F_AFTER_FREE] = then
        f[F_PC] = PC_FREE_FIRST
        return PROGRESS
    if then < 0:
        return op_done(a, cpu, f)
    f[F_PC] = then
    return PROGRESS


@njit(**HOT)
def pool_is_full(a) -> bool:
    return load_acquire(a.ctl[2], G_FRAMES_USED) >= a.params[P_MAX_FRAMES]


@njit(**HOT)
def device_write(a, slot, page) -> None:
    """Write ``page`` to the slot's place on the swap device, at the device's cost."""
    bytes_copy(a.device[slot], 0, page, 0, page.shape[0])
    if a.params[P_DEV_WRITE_CYCLES] > 0:
        spin_ns(a.params[P_DEV_WRITE_CYCLES])


@njit(**HOT)
def _free_done(a, cpu, f) -> int:
    """Leave the free steps: release the tree's lock if it was kept, then on to the step the
    operation asked for, or its end."""
    f[F_OLD] = NIL
    if f[F_HELD] > 0:
        unlock(a, f[F_HELD] - 1, cpu, f[F_PHASE])
        f[F_HELD] = 0
    if f[F_AFTER_FREE] >= 0:
        f[F_PC] = f[F_AFTER_FREE]
        return PROGRESS
    return op_done(a, cpu, f)


@njit(**STEP)
def _pool_free(a, cpu, f, old) -> int:
    """FREE: the object back to its allocator (and off the allocator's LRUs), the entry freed."""
    n = a.nodes
    ph = f[F_PHASE]
    h = n[old, E_HANDLE]
    pl = n[old, E_POOL]
    length = n[old, E_LENGTH]
    alloc = a.params[P_ALLOCATOR]
    chk_held(a, cpu, pool_lock_id(a, pl, length), W_POOL)
    freed = pool_free(alloc, a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl, h, length)
    if a.params[P_LRU_LOCK] == LRU_LOCK_ALLOC:
        obj_lru_del(a.lru_meta, n, pl, old)
        frame_lru_del(a.pool_meta, a.frame_lru, a.obj_owner, alloc, pl, h, freed > 0)
    entry_free(a, old)
    unlock(a, pool_lock_id(a, pl, length), cpu, ph)
    if freed > 0:
        fetch_add(a.ctl[2], G_FRAMES_USED, -freed)
        if f[F_OP] == OP_WRITEBACK and a.slots[f[F_SLOT], SL_ON_DEVICE] != 0:
            a.cnt[ph, cpu, C_WB_FRAMES_FREED] += freed  # only when the page really left the pool
    return _free_done(a, cpu, f)


@njit(**STEP)
def entry_free_step(a, cpu, f) -> int:
    """One of the free steps for the entry in ``f[F_OLD]``, whose last reference was dropped."""
    old = f[F_OLD]
    n = a.nodes
    pc = f[F_PC]
    if pc == PC_FREE_FIRST:
        if n[old, E_HANDLE] < 0:  # same-filled: no pool memory, never on an LRU
            entry_free(a, old)
            return _free_done(a, cpu, f)
        if a.params[P_LRU_LOCK] == LRU_LOCK_OWN:
            return lock_step(a, cpu, f, lru_lock_id(a, 0), PC_FREE_LRU)
        return lock_step(a, cpu, f, pool_lock_id(a, n[old, E_POOL], n[old, E_LENGTH]), PC_FREE)
    if pc == PC_FREE_LRU:
        chk_held(a, cpu, lru_lock_id(a, 0), W_LRU)
        obj_lru_del(a.lru_meta, n, 0, old)
        unlock(a, lru_lock_id(a, 0), cpu, f[F_PHASE])
        f[F_PC] = PC_FREE_LOCK
        return PROGRESS
    if pc == PC_FREE_LOCK:
        return lock_step(a, cpu, f, pool_lock_id(a, n[old, E_POOL], n[old, E_LENGTH]), PC_FREE)
    return _pool_free(a, cpu, f, old)

