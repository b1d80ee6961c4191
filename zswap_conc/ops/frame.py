"""The operation stack: each CPU's operations in flight, one frame each, in ``frames[cpu]``.

A frame is one row of int64 columns (``F_*``): which operation, its next step, the slot and key,
and what the operation carries between steps.  A store at the pool limit pushes a writeback frame
above itself, and a 2012-style writeback pushes a store again, so the stack is the recursion the
review asked about; its depth is bounded by ``arena.FRAME_DEPTH`` and reaching the bound is counted,
never crashed.

LOCKING: ``frames[cpu]`` and ``cpu_state[cpu]`` are written only by ``cpu`` (no lock).
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import CS_DEPTH, CS_STORE_DEPTH, CS_STORE_DEPTH_MAX, SL_KEY
from zswap_conc.index import NIL
from zswap_conc.jit import HOT
from zswap_conc.ops.counters import C_DEPTH_HIST, DEPTH_HIST_LEN
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

PC_FIRST = 0  # every operation's step program starts at its step 0

# columns of frames[cpu, depth, :]
F_OP = 0  # OP_*
F_PC = 1  # next step: the operation's own step number, or entry.PC_FREE_* while freeing
F_SLOT = 2  # working-set slot index (writeback: the victim's)
F_KEY = 3  # swap entry (swap_entry.py)
F_TREE = 4  # tree id (tree_for)
F_POOL = 5  # pool shard (pool_for; writeback: the pool reclaimed from)
F_ENTRY = 6  # the entry being stored, loaded or written back
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

RES_OK = 0
RES_MISS = 1  # load / invalidate found no entry
RES_REJECTED = 2  # store went to the swap device
RES_MISMATCH = 3  # load returned wrong data
RES_FAIL = 4  # writeback wrote nothing back
RES_DEVICE = 5  # load served from the swap device


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
    f[F_HANDLE] = -1
    f[F_FRAME] = -1
    f[F_AFTER_FREE] = -1
    f[F_PHASE] = phase
    a.cpu_state[cpu, CS_DEPTH] = d + 1
    return d


@njit(**HOT)
def op_begin(a, cpu, op, slot, phase) -> None:
    """Push a store, load or invalidate of ``slot``; the caller holds the slot's busy bit."""
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


@njit(**HOT)
def op_begin_writeback(a, cpu, pool, phase) -> None:
    """Push a writeback of one victim (or, pageframe LRU, one frame) from ``pool``."""
    f = a.frames[cpu, frame_push(a, cpu, OP_WRITEBACK, phase)]
    f[F_POOL] = pool
    f[F_SLOT] = -1
    f[F_RESULT] = RES_FAIL


@njit(**HOT)
def op_done(a, cpu, f) -> int:
    """Pop the finished frame ``f``; a top-level store that met the pool limit records how deep
    its stores nested (the recursion histogram)."""
    d = a.cpu_state[cpu, CS_DEPTH] - 1
    a.cpu_state[cpu, CS_DEPTH] = d
    if f[F_OP] == OP_STORE:
        a.cpu_state[cpu, CS_STORE_DEPTH] -= 1
        if d == 0 and f[F_LIMIT] != 0:
            k = min(a.cpu_state[cpu, CS_STORE_DEPTH_MAX], DEPTH_HIST_LEN)
            a.cnt[f[F_PHASE], cpu, C_DEPTH_HIST + k - 1] += 1
    return DONE
