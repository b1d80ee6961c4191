"""zswap entries and the steps that free them: what every operation shares.

An entry is a row of ``nodes`` (``struct zswap_entry``): columns 0..4 belong to the tree node it
embeds (index.py), 13..15 to the LRU (lru.py), and 5..12 are its own, below.  Each slot owns two
rows, enough for its old and new data during a store, so allocating an entry needs no lock.

References (the 2013 kernel's refcount): the tree holds one while the entry is linked; a load or a
writeback takes one under the tree_lock while it uses the entry.  Whoever drops the last reference
frees the entry and its pool object, in two steps of its own (``PC_FREE_LOCK``, ``PC_FREE``) after
the tree_lock is released: pool_lock, pool_free + LRU del, unlock.

LOCKING of an entry:
  E_REFCOUNT                        the tree_lock of the entry's tree
  E_STATE, E_HANDLE, E_LENGTH, E_VALUE, E_VERSION, E_SLOT, E_POOL
                                    written only by the CPU holding the slot's busy bit, while the
                                    entry is unreachable (NEW) or being torn down (refcount 0)
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.arena import G_FRAMES_USED, SL_KEY, SL_ON_DEVICE
from zswap_conc.compress import DECOMPRESS_TOKEN, decompress
from zswap_conc.index import N_KEY, NIL
from zswap_conc.jit import HOT, STEP, bytes_copy
from zswap_conc.lru import lru_del
from zswap_conc.ops.counters import C_BLOCKED_STEPS, C_DECOMPRESS_CYCLES, C_WB_FRAMES_FREED
from zswap_conc.ops.frame import (
    BLOCKED,
    F_AFTER_FREE,
    F_OLD,
    F_OP,
    F_PC,
    F_PHASE,
    F_SLOT,
    OP_WRITEBACK,
    PROGRESS,
    op_done,
)
from zswap_conc.ops.locking import lock_site, lock_try, pool_lock_id, unlock
from zswap_conc.pages import page_build
from zswap_conc.params import P_ALLOCATOR, P_DEV_WRITE_CYCLES, P_MAX_FRAMES
from zswap_conc.pool import PM_FRAMES_USED, pool_free, pool_obj_read
from zswap_conc.sync import cycles, fetch_add, load_acquire, spin_ns

# columns of nodes[e, :] owned by the entry (0..4 belong to the tree, 13..15 to the LRU)
E_STATE = 5  # ENTRY_FREE / NEW / LIVE / DEAD
E_HANDLE = 6  # pool handle, -1 for a same-filled page
E_LENGTH = 7  # compressed length in bytes
E_VALUE = 8  # the word of a same-filled page
E_VERSION = 9  # version of the data it holds
E_REFCOUNT = 10  # the tree's reference plus one per load or writeback in flight
E_SLOT = 11  # working-set slot index
E_POOL = 12  # pool shard holding its object

ENTRY_FREE = 0  # on no list, may be allocated
ENTRY_NEW = 1  # allocated, not yet in a tree
ENTRY_LIVE = 2  # linked into its tree
ENTRY_DEAD = 3  # erased from the tree, references still held

# the free steps, shared by every operation: numbered above any operation's own steps
PC_FREE_LOCK = 64  # pool_lock of the entry's pool (a same-filled entry frees at once)
PC_FREE = 65  # pool_free, LRU del, entry_free, unlock
FREE_STEP_NAMES = ("free: pool_lock", "free: pool_free")


@njit(**HOT)
def entry_alloc(a, slot) -> int:
    """A free entry for ``slot``: each slot owns two, enough for its old and new data."""
    for e in (2 * slot, 2 * slot + 1):
        if a.nodes[e, E_STATE] == ENTRY_FREE:
            a.nodes[e, E_STATE] = ENTRY_NEW
            a.nodes[e, N_KEY] = a.slots[slot, SL_KEY]
            a.nodes[e, E_SLOT] = slot
            a.nodes[e, E_HANDLE] = -1
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
    if n[e, E_HANDLE] < 0:
        out.view(np.int64)[:] = n[e, E_VALUE]
        return True
    length = n[e, E_LENGTH]
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
def entry_put(a, f, e) -> int:
    """Drop one reference to ``e`` (tree_lock held).  If it was the last, remember ``e`` in the
    frame and return the first free step; else -1."""
    a.nodes[e, E_REFCOUNT] -= 1
    if a.nodes[e, E_REFCOUNT] == 0:
        f[F_OLD] = e
        return PC_FREE_LOCK
    return -1


@njit(**HOT)
def pool_is_full(a) -> bool:
    return load_acquire(a.ctl[2], G_FRAMES_USED) >= a.params[P_MAX_FRAMES]


@njit(**HOT)
def device_write(a, slot, page) -> None:
    """Write ``page`` to the slot's place on the swap device, at the device's cost."""
    bytes_copy(a.device[slot], 0, page, 0, page.shape[0])
    if a.params[P_DEV_WRITE_CYCLES] > 0:
        spin_ns(a.params[P_DEV_WRITE_CYCLES])


@njit(**STEP)
def after_free(a, cpu, f) -> int:
    """Leave the free steps: to the step the operation asked for, or the operation's end."""
    if f[F_AFTER_FREE] >= 0:
        f[F_PC] = f[F_AFTER_FREE]
        return PROGRESS
    return op_done(a, cpu, f)


@njit(**STEP)
def entry_free_step(a, cpu, f) -> int:
    """One of the free steps for the entry in ``f[F_OLD]``, whose last reference was dropped."""
    ph = f[F_PHASE]
    old = f[F_OLD]
    n = a.nodes
    if f[F_PC] == PC_FREE_LOCK:
        if n[old, E_HANDLE] < 0:  # same-filled: no pool memory to give back
            entry_free(a, old)
            f[F_OLD] = NIL
            return after_free(a, cpu, f)
        if not lock_try(a, pool_lock_id(a, n[old, E_POOL]), cpu, lock_site(f[F_OP], PC_FREE_LOCK)):
            a.cnt[ph, cpu, C_BLOCKED_STEPS] += 1
            return BLOCKED
        f[F_PC] = PC_FREE
        return PROGRESS
    h = n[old, E_HANDLE]
    pl = n[old, E_POOL]
    alloc = a.params[P_ALLOCATOR]
    before = a.pool_meta[pl, PM_FRAMES_USED]
    pool_free(alloc, a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl, h, n[old, E_LENGTH])
    freed = before - a.pool_meta[pl, PM_FRAMES_USED]
    lru_del(a.pool_meta, a.frame_lru, a.obj_owner, n, alloc, pl, old, h, freed > 0)
    entry_free(a, old)
    unlock(a, pool_lock_id(a, pl), cpu, ph)
    f[F_OLD] = NIL
    if freed != 0:
        fetch_add(a.ctl[2], G_FRAMES_USED, -freed)
        if f[F_OP] == OP_WRITEBACK and a.slots[f[F_SLOT], SL_ON_DEVICE] != 0:
            a.cnt[ph, cpu, C_WB_FRAMES_FREED] += freed  # only when the page really left the pool
    return after_free(a, cpu, f)
