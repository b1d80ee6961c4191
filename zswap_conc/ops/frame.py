"""The operation stack: each CPU's operations in flight, one frame each, in ``frames[cpu]``.

A frame is one row of int64 columns (``F_*``): which operation, its next step, the slot and key,
and what the operation carries between steps.  A store at the pool limit pushes a writeback frame
above itself, and a recursive writeback (the review's hypothetical) pushes a store again, so the
stack is the recursion the review asked about; its depth is bounded by ``config.frame_depth`` and
reaching the bound is counted, never crashed.

Steps are numbered per operation from 0 (``PC_FIRST``); the steps every operation shares have
numbers of their own above ``PC_SHARED``: freeing an entry (ops/entry.py) and the swap path around
zswap (ops/swappath.py: si->lock for a slot, the swap cache's lock).  A frame enters the swap path
through ``sp_begin``: up to two short critical sections, then on to the step it names; a store's
last section (deleting its page from the swap cache) runs when the operation ends (``F_EPILOGUE``).

LOCKING: ``frames[cpu]`` and ``cpu_state[cpu]`` are written only by ``cpu`` (no lock).
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import CS_DEPTH, CS_STORE_DEPTH, CS_STORE_DEPTH_MAX, SL_KEY
from zswap_conc.checked import W_SLOT, chk_slot
from zswap_conc.index import NIL
from zswap_conc.jit import HOT
from zswap_conc.ops.counters import C_BLOCKED_STEPS, C_DEPTH_HIST, DEPTH_HIST_LEN
from zswap_conc.ops.locking import lock_site, lock_try, swap_cache_lock_id, swap_lock_id, unlock
from zswap_conc.strategies import pool_for_key, tree_for_key

# what one step returns
PROGRESS = 0  # the step did its work; the operation goes on
BLOCKED = 1  # a lock was busy: nothing changed, try the same step again
DONE = 2  # the operation ended and its frame was popped

OP_STORE = 0
OP_LOAD = 1
OP_INVALIDATE = 2
OP_WRITEBACK = 3
OP_NAMES = ("store", "load", "invalidate", "writeback")

PC_FIRST = 0  # every operation's own steps start at 0
# the shared steps (ops/entry.py frees an entry; ops/swappath.py runs the swap path)
PC_FREE_FIRST = 64  # free an entry: same-filled at once, else its LRU's lock (own LRU) or the pool's
PC_FREE_LRU = 65  # own LRU: take it off, unlock
PC_FREE_LOCK = 66  # the allocator's lock
PC_FREE = 67  # pool_free (and the allocator's LRUs), unlock
PC_SP_LOCK = 72  # a swap-path section: its lock
PC_SP_DONE = 73  # ... its work, unlock (or keep it for the whole operation)
PC_END = 74  # the operation ends after its last swap-path section

# columns of frames[cpu, depth, :]
F_OP = 0  # OP_*
F_PC = 1  # next step
F_SLOT = 2  # working-set slot index (writeback: the victim's)
F_KEY = 3  # swap entry (swap_entry.py)
F_TREE = 4  # tree id (tree_for)
F_POOL = 5  # pool shard (pool_for)
F_ENTRY = 6  # the entry this operation holds a reference to (or is storing), NIL if none
F_OLD = 7  # an entry whose last reference this operation dropped: to free
F_LEN = 8  # compressed length
F_VERSION = 9  # version being stored
F_PHASE = 10  # counter phase the operation started in
F_SAME = 11  # 1 if the page is same-filled
F_VALUE = 12  # the same-filled word
F_HANDLE = 13  # pool handle allocated by a store
F_RESULT = 14  # RES_*
F_RESTORE = 15  # store re-entered by writeback: stores the slot's current data again
F_LIMIT_STATE = 16  # store: store.LIMIT_* (where it stands with the pool limit)
F_AFTER_FREE = 17  # step after the free steps, -1: the operation ends there
F_TRIES = 18  # writeback: victims tried and skipped
F_FRAME = 19  # writeback (pageframe LRU): the frame being emptied
F_WB_COUNT = 20  # writeback: pages written back by this operation
F_LIMIT = 21  # store: found the pool at its limit
F_VICTIM = 22  # writeback: writeback.VICTIM_* (how the victim's page left)
F_LRU = 23  # writeback: the object LRU (or, pageframe, the pool) it picks from
F_HELD = 24  # a tree_lock kept across the free steps (lock id + 1), 0 if none
F_OUTER = 25  # a swap_lock held for the whole operation (lock id + 1), 0 if none
F_SP_LOCK = 26  # swap-path section: its lock
F_SP_NEXT = 27  # the lock of the section after it, -1 if none
F_SP_KEEP = 28  # 1: the section's lock is kept until the operation ends (F_OUTER)
F_AFTER_SP = 29  # the step after the swap-path sections
F_EPILOGUE = 30  # the lock of a swap-path section to run before the operation ends, -1 if none
F_PICK = 31  # writeback: the entry taken from the LRU (no reference held by that alone)

RES_OK = 0
RES_MISS = 1  # load / invalidate found no entry
RES_REJECTED = 2  # store went to the swap device
RES_MISMATCH = 3  # load returned wrong data
RES_FAIL = 4  # writeback wrote nothing back
RES_DEVICE = 5  # load served from the swap device


@njit(**HOT)
def sp_begin(f, lk, lk2, keep, after) -> int:
    """Set up the swap-path sections ``lk`` then ``lk2`` (-1: none) before step ``after``; the step
    to go to (``after`` itself when both are -1).  ``keep``: hold ``lk`` until the operation ends."""
    if lk < 0:
        lk, lk2, keep = lk2, -1, 0
    if lk < 0:
        return after
    f[F_SP_LOCK] = lk
    f[F_SP_NEXT] = lk2
    f[F_SP_KEEP] = keep
    f[F_AFTER_SP] = after
    return PC_SP_LOCK


@njit(**HOT)
def frame_push(a, cpu, op, phase) -> int:
    """A fresh frame for ``op`` on top of ``cpu``'s stack; returns its depth index (a view cannot
    be returned without NRT)."""
    d = a.cpu_state[cpu, CS_DEPTH]
    f = a.frames[cpu, d]
    f[:] = 0
    if d == 0:
        a.cpu_state[cpu, CS_STORE_DEPTH_MAX] = 0
    f[F_OP] = op
    f[F_PC] = PC_FIRST
    f[F_ENTRY] = NIL
    f[F_OLD] = NIL
    f[F_PICK] = NIL
    f[F_HANDLE] = -1
    f[F_FRAME] = -1
    f[F_AFTER_FREE] = -1
    f[F_EPILOGUE] = -1
    f[F_PHASE] = phase
    a.cpu_state[cpu, CS_DEPTH] = d + 1
    return d


@njit(**HOT)
def op_begin(a, cpu, op, slot, phase) -> None:
    """Push a store, load or invalidate of ``slot``, with the swap path around it; the caller holds
    the slot's busy bit."""
    chk_slot(a, cpu, slot, W_SLOT)
    f = a.frames[cpu, frame_push(a, cpu, op, phase)]
    key = a.slots[slot, SL_KEY]
    f[F_SLOT] = slot
    f[F_KEY] = key
    f[F_TREE] = tree_for_key(a.params, key)
    f[F_POOL] = pool_for_key(a.params, key)
    if op == OP_STORE:
        sd = a.cpu_state[cpu, CS_STORE_DEPTH] + 1
        a.cpu_state[cpu, CS_STORE_DEPTH] = sd
        if sd > a.cpu_state[cpu, CS_STORE_DEPTH_MAX]:
            a.cpu_state[cpu, CS_STORE_DEPTH_MAX] = sd
        # swap-out: a slot from si (swap_lock), the page into the swap cache; out of it at the end
        f[F_PC] = sp_begin(f, swap_lock_id(a, key), swap_cache_lock_id(a, key), 0, PC_FIRST)
        f[F_EPILOGUE] = swap_cache_lock_id(a, key)
    elif op == OP_LOAD:
        f[F_PC] = sp_begin(f, swap_cache_lock_id(a, key), -1, 0, PC_FIRST)  # swap-in: a new swap-cache page
    else:
        f[F_PC] = sp_begin(f, swap_lock_id(a, key), -1, 1, PC_FIRST)  # swap_entry_free runs under si->lock


@njit(**HOT)
def op_begin_restore(a, cpu, slot, phase) -> None:
    """Push the store a recursive writeback re-enters: the page is already in the swap cache."""
    op_begin(a, cpu, OP_STORE, slot, phase)
    f = a.frames[cpu, a.cpu_state[cpu, CS_DEPTH] - 1]
    f[F_RESTORE] = 1
    f[F_PC] = PC_FIRST
    f[F_EPILOGUE] = -1


@njit(**HOT)
def op_begin_writeback(a, cpu, lru, phase) -> None:
    """Push a writeback of one victim (or, pageframe LRU, one frame) from LRU ``lru``."""
    f = a.frames[cpu, frame_push(a, cpu, OP_WRITEBACK, phase)]
    f[F_LRU] = lru
    f[F_SLOT] = -1
    f[F_RESULT] = RES_FAIL


@njit(**HOT)
def lock_step(a, cpu, f, lk, next_pc) -> int:
    """A step that takes lock ``lk``: BLOCKED while it is busy, else on to ``next_pc`` (every lock
    step is followed by its critical section)."""
    if not lock_try(a, lk, cpu, lock_site(f[F_OP], f[F_PC])):
        a.cnt[f[F_PHASE], cpu, C_BLOCKED_STEPS] += 1
        return BLOCKED
    f[F_PC] = next_pc
    return PROGRESS


@njit(**HOT)
def op_done(a, cpu, f) -> int:
    """End the operation in frame ``f``: first its swap-path epilogue if it has one (PROGRESS), then
    release the swap_lock it held throughout and pop the frame; a top-level store that met the pool
    limit records how deep its stores nested (the recursion histogram)."""
    if f[F_EPILOGUE] >= 0:
        f[F_PC] = sp_begin(f, f[F_EPILOGUE], -1, 0, PC_END)
        f[F_EPILOGUE] = -1
        return PROGRESS
    if f[F_OUTER] > 0:
        unlock(a, f[F_OUTER] - 1, cpu, f[F_PHASE])
        f[F_OUTER] = 0
    d = a.cpu_state[cpu, CS_DEPTH] - 1
    a.cpu_state[cpu, CS_DEPTH] = d
    if f[F_OP] == OP_STORE:
        a.cpu_state[cpu, CS_STORE_DEPTH] -= 1
        if d == 0 and f[F_LIMIT] != 0:
            k = min(a.cpu_state[cpu, CS_STORE_DEPTH_MAX], DEPTH_HIST_LEN)
            a.cnt[f[F_PHASE], cpu, C_DEPTH_HIST + k - 1] += 1
    return DONE
