"""store / load / invalidate / writeback as step machines: the one definition that is both measured
and checked.

An operation is a frame on its CPU's frame stack (``frames[cpu]``).  ``op_step`` executes one
atomic step of the top frame -- one lock attempt, one critical section ending in its unlock, or
one lock-free phase such as compressing -- and returns PROGRESS, BLOCKED (a lock is busy) or DONE.
Worker processes call it back to back (``cpu.py``); the race hunter picks which CPU steps next.

The protocol is the 2013 kernel's (refcounted entries, tree_lock held only for tree operations,
never while compressing or copying):

  store:      [pool at its limit: writeback first, by --writeback] -> compress
              -> pool_lock, entry + pool_alloc, LRU add, unlock -> copy, entry setup
              -> tree_lock, tree_insert (erase the duplicate), unlock -> free the old entry
  load:       tree_lock, search, get ref, unlock -> copy out, decompress, verify
              -> tree_lock, put ref, unlock -> free it if that was the last reference
              (no entry: read the swap device if the data is there)
  invalidate: tree_lock, search, erase, put ref, unlock -> free it if that was the last reference
  a rejected store (compress-poor, no pool memory, pool full) goes to the swap device, so the
  slot's old entry, now stale, is invalidated.
  writeback:  pool_lock, pick a victim by LRU policy, unlock -> claim the victim's slot (its busy
              bit, the kernel's swap-cache page) -> tree_lock, search by key, get ref, unlock
              -> decompress -> write: recursive (re-enter store: the 2012 bug), denial-map (the
              re-store is refused), direct/deferred (__swap_writepage) -> tree_lock, re-check the
              tree still holds the same entry (04fc7816089c), erase, put refs, unlock -> free

Entries free their pool object outside the tree_lock (pool_lock, pool_free, unlock), so the only
nesting is the documented tree_lock -> pool_lock, which none of these paths needs.  Writeback
recursion is bounded by the frame stack; hitting the bound is counted (writeback_overflow) and the
page goes to the device.

LOCKING of an entry (a row of ``nodes``; tree columns in index.py, LRU columns in lru.py):
  E_REFCOUNT                        the tree_lock of the entry's tree
  every other entry column          written only by the CPU holding the slot's busy bit, while
                                    the entry is unreachable (NEW) or being torn down (refcount 0)
Same-slot store/load/invalidate are serialised by the slot's busy bit (the kernel's page lock and
swap cache), so zswap itself only orders different slots, and writeback, which claims its victim's
busy bit like any other operation.

The hot path runs without NRT (see jit.py): with it, every call that passes the arena's arrays
paid for reference counting.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.arena import (
    CS_DEPTH,
    CS_STORE_DEPTH,
    CS_STORE_DEPTH_MAX,
    FRAME_DEPTH,
    G_FRAMES_USED,
    G_SHRINK,
    SL_BUSY,
    SL_DENY,
    SL_KEY,
    SL_LIVE,
    SL_ON_DEVICE,
    SL_VERSION,
    WRITEBACK_DEFERRED,
    WRITEBACK_DENIAL,
    WRITEBACK_RECURSIVE,
)
from zswap_conc.compress import COMPRESS_FAIL, DECOMPRESS_TOKEN, compress, decompress
from zswap_conc.index import N_KEY, NIL, tree_erase, tree_insert, tree_search
from zswap_conc.jit import HOT, bytes_copy
from zswap_conc.lru import E_TS, LRU_OBJECT, frame_first_object, lru_add, lru_del, lru_oldest_ts, lru_rotate, lru_victim
from zswap_conc.pages import page_build, page_same_filled, page_verify
from zswap_conc.params import (
    P_ACCEPT_FRAMES,
    P_ALLOCATOR,
    P_DEV_READ_CYCLES,
    P_DEV_WRITE_CYCLES,
    P_LOCK_KIND,
    P_LRU,
    P_MAX_FRAMES,
    P_POOL_LOCK0,
    P_PROTOCOL,
    P_REJECT_ABOVE,
    P_TREE_LOCK0,
    P_WRITEBACK,
)
from zswap_conc.pool import PM_FRAMES_USED, pool_alloc, pool_free, pool_handle_frame, pool_obj_read, pool_obj_write
from zswap_conc.strategies import pool_for, tree_for
from zswap_conc.sync import (
    atomic_cas,
    cycles,
    fetch_add,
    load_acquire,
    spin_ns,
    spin_trylock_step,
    spin_unlock,
    store_release,
)

# step results
PROGRESS = 0
BLOCKED = 1
DONE = 2

OP_STORE = 0
OP_LOAD = 1
OP_INVALIDATE = 2
OP_WRITEBACK = 3
OP_NAMES = ("store", "load", "invalidate", "writeback")

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

# columns of frames[cpu, depth, :]
F_OP = 0  # OP_*
F_PC = 1  # next step (PC_*)
F_SLOT = 2  # working-set slot index (writeback: the victim's)
F_KEY = 3  # (swap type << 40) | offset
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
F_WB_STATE = 16  # store: 0 before the limit check, 1 writeback returned, 2 past it
F_AFTER_FREE = 17  # step after the free steps, -1: the operation ends there
F_TRIES = 18  # writeback: victims tried and skipped
F_FRAME = 19  # writeback (pageframe LRU): the frame being emptied
F_WB_COUNT = 20  # writeback: pages written back by this operation
F_LIMIT = 21  # store: found the pool at its limit
F_RESTORED = 22  # writeback: the victim went through a re-entered store

RES_OK = 0
RES_MISS = 1  # load / invalidate found no entry
RES_REJECTED = 2  # store went to the swap device
RES_MISMATCH = 3  # load returned wrong data
RES_FAIL = 4  # writeback wrote nothing back
RES_DEVICE = 5  # load served from the swap device

# writeback protocols (config.PROTOCOL_NAMES): the race hunter's known-buggy variants
PROTOCOL_CORRECT = 0  # claim the slot, then look the entry up; re-check before erasing
PROTOCOL_NO_REFCOUNT = 1  # 2013: entry looked up first; -ENOENT at the claim returns without a put
PROTOCOL_NO_RECHECK = 2  # 2023 (before 04fc7816089c): no re-check; erases whatever the tree holds

WB_MAX_TRIES = 8  # victims a writeback skips (busy or gone) before it gives up
WB_FRAME_MAX = 128  # pageframe LRU: objects written back to empty one frame, at most
SHRINK_BATCH = 64  # deferred: pages one shrinker run writes back, at most

# step program counters
PC_ST_COMPRESS = 0
PC_ST_POOL_LOCK = 1
PC_ST_POOL_ALLOC = 2
PC_ST_COPY = 3
PC_ST_TREE_LOCK = 4
PC_ST_INSERT = 5
PC_ST_DROP_LOCK = 6
PC_ST_DROP = 7
PC_LD_LOCK = 8
PC_LD_SEARCH = 9
PC_LD_DECOMPRESS = 10
PC_LD_PUT_LOCK = 11
PC_LD_PUT = 12
PC_IV_LOCK = 13
PC_IV_ERASE = 14
PC_FREE_LOCK = 15
PC_FREE = 16
PC_ST_DEV_WRITE = 17
PC_LD_DEVICE = 18
PC_WB_LOCK = 19
PC_WB_PICK = 20
PC_WB_CLAIM = 21
PC_WB_TREE_LOCK = 22
PC_WB_SEARCH = 23
PC_WB_DECOMPRESS = 24
PC_WB_AFTER_RESTORE = 25
PC_WB_DEV_WRITE = 26
PC_WB_RECHECK_LOCK = 27
PC_WB_RECHECK = 28
PC_WB_FINISH = 29
PC_NAMES = (
    "store: compress", "store: pool_lock", "store: pool_alloc", "store: copy to pool",
    "store: tree_lock", "store: tree_insert", "store: tree_lock (drop stale)",
    "store: erase stale entry", "load: tree_lock", "load: search + get", "load: decompress",
    "load: tree_lock (put)", "load: put", "invalidate: tree_lock", "invalidate: erase + put",
    "free: pool_lock", "free: pool_free", "store: write to swap device", "load: read swap device",
    "writeback: pool_lock", "writeback: pick LRU victim", "writeback: claim victim slot",
    "writeback: tree_lock", "writeback: search + get", "writeback: decompress",
    "writeback: after re-entered store", "writeback: write to swap device",
    "writeback: tree_lock (recheck)", "writeback: recheck + erase", "writeback: finish",
)  # fmt: skip

# columns of cnt[phase, cpu, :]: zswap's outcome counters, per CPU
C_OPS = 0  # operations completed
C_STORES = 1  # store operations (not counting stores re-entered by writeback)
C_LOADS = 2  # load operations
C_INVALIDATES = 3  # invalidate operations
C_STORED = 4  # stores that ended with the page in the pool
C_SAME_FILLED = 5  # of those, same-filled pages (no compression, no pool memory)
C_REJECT_POOR = 6  # reject_compress_poor: compressed size above the threshold
C_REJECT_ALLOC = 7  # reject_alloc_fail: the pool had no memory
C_REJECT_COMPRESS_FAIL = 8  # reject_compress_fail: the compressor returned an error
C_DUPLICATE = 9  # duplicate_entry: a store replaced a live entry of its slot
C_LOAD_HIT = 10  # loads served from the pool
C_LOAD_MISS = 11  # loads that found no entry and no data on the device
C_INVAL_HIT = 12  # invalidates that erased an entry
C_INVAL_MISS = 13  # invalidates that found no entry
C_MISMATCH = 14  # loads (or writebacks) that got stale or wrong data, or wrong presence: must stay 0
C_SLOT_BUSY = 15  # operations skipped because another CPU held the slot
C_BYTES_IN = 16  # uncompressed bytes given to the compressor
C_BYTES_OUT = 17  # compressed bytes it produced
C_COMPRESS_CYCLES = 18  # cycles spent compressing
C_DECOMPRESS_CYCLES = 19  # cycles spent decompressing
C_BLOCKED_STEPS = 20  # steps that found their lock busy
C_ENTRY_FAIL = 21  # no free entry for the slot: must stay 0
C_LOAD_DEVICE = 22  # loads served from the swap device
C_DEV_WRITES = 23  # pages written to the swap device
C_DEV_READS = 24  # pages read from the swap device
C_POOL_LIMIT_HIT = 25  # pool_limit_hit: a store found the pool at its limit
C_WRITTEN_BACK = 26  # written_back_pages: pages moved from the pool to the device
C_REJECT_RECLAIM_FAIL = 27  # reject_reclaim_fail: the pool was full and writeback freed nothing
C_WB_RESTORES = 28  # recursive: writebacks that re-entered store (re-compressions)
C_WB_NO_PROGRESS = 29  # writebacks whose page went straight back into the pool
C_WB_OVERFLOW = 30  # recursion reached the frame-stack bound; the page went to the device
C_WB_DENIED = 31  # denial map: re-stores refused
C_WB_RECHECK_ABORT = 32  # the tree held another entry after the write: nothing erased
C_WB_SLOT_BUSY = 33  # victims skipped because their slot was busy
C_WB_FRAMES_FREED = 34  # pool frames freed by writeback
C_LRU_INVERSION = 35  # victims younger than the oldest page in their pool
C_SHRINK_RUNS = 36  # deferred: shrinker runs
C_DEPTH_HIST = 40  # 40..47: stores that hit the limit, by deepest store nesting 1..8
COUNTER_NAMES = (
    "ops", "stores", "loads", "invalidates", "stored_pages_added", "same_filled_added",
    "reject_compress_poor", "reject_alloc_fail", "reject_compress_fail", "duplicate_entry",
    "load_hit", "load_miss", "invalidate_hit", "invalidate_miss", "load_mismatch", "slot_busy",
    "bytes_in", "bytes_out", "compress_cycles", "decompress_cycles", "blocked_steps", "entry_fail",
    "load_device", "device_writes", "device_reads", "pool_limit_hit", "written_back_pages",
    "reject_reclaim_fail", "writeback_restores", "writeback_no_progress", "writeback_overflow",
    "writeback_denied", "writeback_recheck_abort", "writeback_slot_busy", "writeback_frames_freed",
    "lru_inversions", "shrinker_runs", "_37", "_38", "_39",  # 37..39 unused: "_" names are not reported
    "depth_1", "depth_2", "depth_3", "depth_4", "depth_5", "depth_6", "depth_7", "depth_8",
)  # fmt: skip


@njit(**HOT)
def _tree_lock_id(a, t):
    return a.params[P_TREE_LOCK0] + t


@njit(**HOT)
def _pool_lock_id(a, pl):
    return a.params[P_POOL_LOCK0] + pl


@njit(**HOT)
def _lock_step(a, lk, cpu, ph):
    return spin_trylock_step(a.locks, a.pend, a.held, a.lstat, a.params[P_LOCK_KIND], ph, lk, cpu)


@njit(**HOT)
def _unlock(a, lk, cpu, ph):
    spin_unlock(a.locks, a.held, a.lstat, a.params[P_LOCK_KIND], ph, lk, cpu)


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
def _frame_push(a, cpu, op, phase):
    d = a.cpu_state[cpu, CS_DEPTH]
    f = a.frames[cpu, d]
    f[:] = 0
    if d == 0:
        a.cpu_state[cpu, CS_STORE_DEPTH_MAX] = 0
    f[F_OP] = op
    f[F_ENTRY] = NIL
    f[F_OLD] = NIL
    f[F_HANDLE] = -1
    f[F_FRAME] = -1
    f[F_AFTER_FREE] = -1
    f[F_PHASE] = phase
    a.cpu_state[cpu, CS_DEPTH] = d + 1
    return d  # a view cannot be returned without NRT


@njit(**HOT)
def op_begin(a, cpu, op, slot, phase) -> None:
    """Push an operation on ``cpu``'s frame stack; the caller holds the slot's busy bit."""
    f = a.frames[cpu, _frame_push(a, cpu, op, phase)]
    key = a.slots[slot, SL_KEY]
    swap_type = key >> 40
    offset = key & ((1 << 40) - 1)
    f[F_SLOT] = slot
    f[F_KEY] = key
    f[F_TREE] = tree_for(a.params, swap_type, offset)
    f[F_POOL] = pool_for(a.params, swap_type, offset)
    if op == OP_STORE:
        f[F_PC] = PC_ST_COMPRESS
        sd = a.cpu_state[cpu, CS_STORE_DEPTH] + 1
        a.cpu_state[cpu, CS_STORE_DEPTH] = sd
        if sd > a.cpu_state[cpu, CS_STORE_DEPTH_MAX]:
            a.cpu_state[cpu, CS_STORE_DEPTH_MAX] = sd
    elif op == OP_LOAD:
        f[F_PC] = PC_LD_LOCK
    else:
        f[F_PC] = PC_IV_LOCK


@njit(**HOT)
def op_begin_writeback(a, cpu, pool, phase) -> None:
    """Push a writeback of one victim (or, pageframe LRU, one frame) from ``pool``."""
    f = a.frames[cpu, _frame_push(a, cpu, OP_WRITEBACK, phase)]
    f[F_POOL] = pool
    f[F_SLOT] = -1
    f[F_RESULT] = RES_FAIL
    f[F_PC] = PC_WB_LOCK


@njit(**HOT)
def pool_is_full(a) -> bool:
    return load_acquire(a.ctl[2], G_FRAMES_USED) >= a.params[P_MAX_FRAMES]


@njit(**HOT)
def _entry_read(a, cpu, e, out) -> bool:
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
def _entry_decompress(a, cpu, e, cnt) -> bool:
    """_entry_read into the CPU's output page, its time counted as decompression."""
    t0 = cycles()
    ok = _entry_read(a, cpu, e, a.cpu_out[cpu])
    cnt[C_DECOMPRESS_CYCLES] += cycles() - t0
    return ok


@njit(**HOT)
def _done(a, cpu, f) -> int:
    d = a.cpu_state[cpu, CS_DEPTH] - 1
    a.cpu_state[cpu, CS_DEPTH] = d
    if f[F_OP] == OP_STORE:
        a.cpu_state[cpu, CS_STORE_DEPTH] -= 1
        if d == 0 and f[F_LIMIT] != 0:
            k = min(a.cpu_state[cpu, CS_STORE_DEPTH_MAX], 8)
            a.cnt[f[F_PHASE], cpu, C_DEPTH_HIST + k - 1] += 1
    return DONE


@njit(**HOT)
def _after_put(a, cpu, f, e) -> int:
    """Drop one reference to ``e`` (tree_lock held); remember it for freeing if it was the last."""
    a.nodes[e, E_REFCOUNT] -= 1
    if a.nodes[e, E_REFCOUNT] == 0:
        f[F_OLD] = e
        return PC_FREE_LOCK
    return -1


@njit(**HOT)
def _device_write(a, slot, page) -> None:
    bytes_copy(a.device[slot], 0, page, 0, page.shape[0])
    if a.params[P_DEV_WRITE_CYCLES] > 0:
        spin_ns(a.params[P_DEV_WRITE_CYCLES])


@njit(**HOT)
def _wb_end(a, cpu, f) -> int:
    f[F_RESULT] = RES_OK if f[F_WB_COUNT] > 0 else RES_FAIL
    return _done(a, cpu, f)


@njit(**HOT)
def _wb_retry(a, cpu, f) -> int:
    f[F_TRIES] += 1
    if f[F_TRIES] >= WB_MAX_TRIES:
        return _wb_end(a, cpu, f)
    f[F_FRAME] = -1
    f[F_PC] = PC_WB_LOCK
    return PROGRESS


@njit(**HOT)
def op_step(a, cpu) -> int:
    """Execute one step of ``cpu``'s innermost operation."""
    depth = a.cpu_state[cpu, CS_DEPTH]
    f = a.frames[cpu, depth - 1]
    pc = f[F_PC]
    ph = f[F_PHASE]
    cnt = a.cnt[ph, cpu]
    n = a.nodes
    p = a.params
    slot = f[F_SLOT]

    # ---- store ---------------------------------------------------------------------------
    if pc == PC_ST_COMPRESS:
        if f[F_WB_STATE] == 0:
            if f[F_RESTORE] == 0:
                cnt[C_STORES] += 1
            f[F_VERSION] = a.slots[slot, SL_VERSION] + (0 if f[F_RESTORE] != 0 else 1)
            if pool_is_full(a):
                cnt[C_POOL_LIMIT_HIT] += 1
                f[F_LIMIT] = 1
                if p[P_WRITEBACK] == WRITEBACK_DEFERRED:
                    # 2023+: the store never writes back; it queues the shrinker and goes to the device
                    if load_acquire(a.ctl[2], G_SHRINK) == 0:
                        atomic_cas(a.ctl[2], G_SHRINK, 0, 1)
                    cnt[C_REJECT_RECLAIM_FAIL] += 1
                    f[F_PC] = PC_ST_DROP_LOCK
                    return PROGRESS
                if depth >= FRAME_DEPTH:
                    cnt[C_WB_OVERFLOW] += 1
                    f[F_PC] = PC_ST_DROP_LOCK
                    return PROGRESS
                f[F_WB_STATE] = 1
                op_begin_writeback(a, cpu, f[F_POOL], ph)
                return PROGRESS
            f[F_WB_STATE] = 2
        elif f[F_WB_STATE] == 1:
            f[F_WB_STATE] = 2
            if a.frames[cpu, depth, F_RESULT] != RES_OK:  # the writeback we pushed freed nothing
                cnt[C_REJECT_RECLAIM_FAIL] += 1
                f[F_PC] = PC_ST_DROP_LOCK
                return PROGRESS
        version = f[F_VERSION]
        page = a.cpu_page[cpu]
        idx = page_build(a.corpus, p, f[F_KEY], version, page)
        same, value = page_same_filled(page)
        if same:
            f[F_SAME] = 1
            f[F_VALUE] = value
            f[F_PC] = PC_ST_COPY
            return PROGRESS
        t0 = cycles()
        length = compress(p, a.cpu_zctx[cpu, 0], page, a.cpu_cbuf[cpu], f[F_KEY], version, idx,
                          a.corpus_clen[idx])
        cnt[C_COMPRESS_CYCLES] += cycles() - t0
        if length == COMPRESS_FAIL:
            cnt[C_REJECT_COMPRESS_FAIL] += 1
            f[F_PC] = PC_ST_DROP_LOCK
            return PROGRESS
        if length > p[P_REJECT_ABOVE]:
            cnt[C_REJECT_POOR] += 1
            f[F_PC] = PC_ST_DROP_LOCK
            return PROGRESS
        cnt[C_BYTES_IN] += page.shape[0]
        cnt[C_BYTES_OUT] += length
        f[F_LEN] = length
        f[F_PC] = PC_ST_POOL_LOCK
        return PROGRESS

    if pc == PC_WB_LOCK and f[F_TRIES] >= WB_MAX_TRIES:
        return _wb_end(a, cpu, f)

    if pc == PC_ST_POOL_LOCK or pc == PC_WB_LOCK:
        if not _lock_step(a, _pool_lock_id(a, f[F_POOL]), cpu, ph):
            cnt[C_BLOCKED_STEPS] += 1
            return BLOCKED
        f[F_PC] = pc + 1  # every pool_lock step is followed by its critical section
        return PROGRESS

    if pc == PC_ST_POOL_ALLOC:
        pl = f[F_POOL]
        e = entry_alloc(a, slot)
        if e == NIL:
            _unlock(a, _pool_lock_id(a, pl), cpu, ph)
            cnt[C_ENTRY_FAIL] += 1
            f[F_PC] = PC_ST_DROP_LOCK
            return PROGRESS
        before = a.pool_meta[pl, PM_FRAMES_USED]
        h = pool_alloc(p[P_ALLOCATOR], a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl, f[F_LEN])
        if h < 0:
            entry_free(a, e)
            _unlock(a, _pool_lock_id(a, pl), cpu, ph)
            cnt[C_REJECT_ALLOC] += 1
            f[F_PC] = PC_ST_DROP_LOCK
            return PROGRESS
        grown = a.pool_meta[pl, PM_FRAMES_USED] - before
        n[e, E_HANDLE] = h
        n[e, E_POOL] = pl
        lru_add(a.pool_meta, a.frame_lru, a.obj_owner, n, p[P_ALLOCATOR], pl, e, h, cycles())
        _unlock(a, _pool_lock_id(a, pl), cpu, ph)
        if grown != 0:
            fetch_add(a.ctl[2], G_FRAMES_USED, grown)
        f[F_ENTRY] = e
        f[F_HANDLE] = h
        f[F_PC] = PC_ST_COPY
        return PROGRESS

    if pc == PC_ST_COPY:
        e = f[F_ENTRY]
        if e == NIL:  # same-filled: no pool object, so the entry is allocated here
            e = entry_alloc(a, slot)
            if e == NIL:
                cnt[C_ENTRY_FAIL] += 1
                f[F_PC] = PC_ST_DROP_LOCK
                return PROGRESS
            n[e, E_POOL] = f[F_POOL]
        if f[F_HANDLE] >= 0:
            pool_obj_write(p[P_ALLOCATOR], a.frame_meta, a.pool_data, f[F_HANDLE], a.cpu_cbuf[cpu], f[F_LEN])
        n[e, E_LENGTH] = f[F_LEN]
        n[e, E_VALUE] = f[F_VALUE]
        n[e, E_VERSION] = f[F_VERSION]
        n[e, E_REFCOUNT] = 1
        f[F_ENTRY] = e
        f[F_PC] = PC_ST_TREE_LOCK
        return PROGRESS

    if pc == PC_ST_TREE_LOCK or pc == PC_ST_DROP_LOCK or pc == PC_LD_LOCK or pc == PC_IV_LOCK \
            or pc == PC_LD_PUT_LOCK or pc == PC_WB_TREE_LOCK or pc == PC_WB_RECHECK_LOCK:
        if not _lock_step(a, _tree_lock_id(a, f[F_TREE]), cpu, ph):
            cnt[C_BLOCKED_STEPS] += 1
            return BLOCKED
        f[F_PC] = pc + 1  # every tree_lock step is followed by its critical section
        return PROGRESS

    if pc == PC_ST_INSERT:
        e = f[F_ENTRY]
        t = f[F_TREE]
        dup = tree_insert(a.roots, n, t, e)
        nxt = -1
        if dup != NIL:
            cnt[C_DUPLICATE] += 1
            tree_erase(a.roots, n, t, dup)
            n[dup, E_STATE] = ENTRY_DEAD
            nxt = _after_put(a, cpu, f, dup)
            tree_insert(a.roots, n, t, e)
        n[e, E_STATE] = ENTRY_LIVE
        a.slots[slot, SL_VERSION] = f[F_VERSION]
        a.slots[slot, SL_LIVE] = 1
        a.slots[slot, SL_ON_DEVICE] = 0
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        cnt[C_STORED] += 1
        if f[F_SAME] != 0:
            cnt[C_SAME_FILLED] += 1
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
        return _done(a, cpu, f)

    if pc == PC_ST_DROP:
        # the new data goes to the swap device: the pool's copy of the slot is stale
        t = f[F_TREE]
        old = tree_search(a.roots, n, t, f[F_KEY])
        if old != NIL:
            tree_erase(a.roots, n, t, old)
            n[old, E_STATE] = ENTRY_DEAD
            _after_put(a, cpu, f, old)
        a.slots[slot, SL_VERSION] = f[F_VERSION]
        a.slots[slot, SL_LIVE] = 0
        a.slots[slot, SL_ON_DEVICE] = 1
        f[F_RESULT] = RES_REJECTED
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        f[F_PC] = PC_ST_DEV_WRITE
        return PROGRESS

    if pc == PC_ST_DEV_WRITE:
        page = a.cpu_page[cpu]
        page_build(a.corpus, p, f[F_KEY], f[F_VERSION], page)
        _device_write(a, slot, page)
        cnt[C_DEV_WRITES] += 1
        if f[F_OLD] != NIL:
            f[F_PC] = PC_FREE_LOCK
            return PROGRESS
        return _done(a, cpu, f)

    # ---- load ----------------------------------------------------------------------------
    if pc == PC_LD_SEARCH:
        cnt[C_LOADS] += 1
        e = tree_search(a.roots, n, f[F_TREE], f[F_KEY])
        if e == NIL:
            _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
            if a.slots[slot, SL_LIVE] != 0:
                cnt[C_MISMATCH] += 1
                f[F_RESULT] = RES_MISMATCH
            elif a.slots[slot, SL_ON_DEVICE] != 0:
                f[F_PC] = PC_LD_DEVICE
                return PROGRESS
            else:
                cnt[C_LOAD_MISS] += 1
                f[F_RESULT] = RES_MISS
            return _done(a, cpu, f)
        n[e, E_REFCOUNT] += 1
        _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
        f[F_ENTRY] = e
        f[F_PC] = PC_LD_DECOMPRESS
        return PROGRESS

    if pc == PC_LD_DECOMPRESS:
        e = f[F_ENTRY]
        out = a.cpu_out[cpu]
        ok = _entry_decompress(a, cpu, e, cnt)
        cnt[C_LOAD_HIT] += 1
        if not ok or a.slots[slot, SL_LIVE] == 0 or not page_verify(
            a.corpus, p, f[F_KEY], a.slots[slot, SL_VERSION], out
        ):
            cnt[C_MISMATCH] += 1
            f[F_RESULT] = RES_MISMATCH
        f[F_PC] = PC_LD_PUT_LOCK
        return PROGRESS

    if pc == PC_LD_PUT:
        nxt = _after_put(a, cpu, f, f[F_ENTRY])
        f[F_ENTRY] = NIL  # no reference held from here on
        _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
        return _done(a, cpu, f)

    if pc == PC_LD_DEVICE:
        out = a.cpu_out[cpu]
        if p[P_DEV_READ_CYCLES] > 0:
            spin_ns(p[P_DEV_READ_CYCLES])
        bytes_copy(out, 0, a.device[slot], 0, out.shape[0])
        cnt[C_DEV_READS] += 1
        cnt[C_LOAD_DEVICE] += 1
        f[F_RESULT] = RES_DEVICE
        if not page_verify(a.corpus, p, f[F_KEY], a.slots[slot, SL_VERSION], out):
            cnt[C_MISMATCH] += 1
            f[F_RESULT] = RES_MISMATCH
        return _done(a, cpu, f)

    # ---- invalidate ----------------------------------------------------------------------
    if pc == PC_IV_ERASE:
        cnt[C_INVALIDATES] += 1
        t = f[F_TREE]
        e = tree_search(a.roots, n, t, f[F_KEY])
        nxt = -1
        if e == NIL:
            cnt[C_INVAL_MISS] += 1
            f[F_RESULT] = RES_MISS
        else:
            cnt[C_INVAL_HIT] += 1
            tree_erase(a.roots, n, t, e)
            n[e, E_STATE] = ENTRY_DEAD
            nxt = _after_put(a, cpu, f, e)
        a.slots[slot, SL_LIVE] = 0
        a.slots[slot, SL_ON_DEVICE] = 0
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
        return _done(a, cpu, f)

    # ---- free an entry whose last reference was dropped ----------------------------------
    if pc == PC_FREE_LOCK:
        old = f[F_OLD]
        if n[old, E_HANDLE] < 0:  # same-filled: no pool memory to give back
            entry_free(a, old)
            f[F_OLD] = NIL
            if f[F_AFTER_FREE] >= 0:
                f[F_PC] = f[F_AFTER_FREE]
                return PROGRESS
            return _done(a, cpu, f)
        if not _lock_step(a, _pool_lock_id(a, n[old, E_POOL]), cpu, ph):
            cnt[C_BLOCKED_STEPS] += 1
            return BLOCKED
        f[F_PC] = PC_FREE
        return PROGRESS

    if pc == PC_FREE:
        old = f[F_OLD]
        h = n[old, E_HANDLE]
        pl = n[old, E_POOL]
        before = a.pool_meta[pl, PM_FRAMES_USED]
        pool_free(p[P_ALLOCATOR], a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl, h, n[old, E_LENGTH])
        freed = before - a.pool_meta[pl, PM_FRAMES_USED]
        lru_del(a.pool_meta, a.frame_lru, a.obj_owner, n, p[P_ALLOCATOR], pl, old, h, freed > 0)
        entry_free(a, old)
        _unlock(a, _pool_lock_id(a, pl), cpu, ph)
        f[F_OLD] = NIL
        if freed != 0:
            fetch_add(a.ctl[2], G_FRAMES_USED, -freed)
            if f[F_OP] == OP_WRITEBACK and a.slots[f[F_SLOT], SL_ON_DEVICE] != 0:
                cnt[C_WB_FRAMES_FREED] += freed  # only when the page really left the pool
        if f[F_AFTER_FREE] >= 0:
            f[F_PC] = f[F_AFTER_FREE]
            return PROGRESS
        return _done(a, cpu, f)

    # ---- writeback -----------------------------------------------------------------------
    if pc == PC_WB_PICK:
        pl = f[F_POOL]
        alloc = p[P_ALLOCATOR]
        victim = lru_victim(a.pool_meta, a.frame_lru, a.obj_owner, n, alloc, p[P_LRU], pl, f[F_FRAME])
        if victim == NIL:
            _unlock(a, _pool_lock_id(a, pl), cpu, ph)
            return _wb_end(a, cpu, f)
        if n[victim, E_TS] > lru_oldest_ts(a.pool_meta, n, pl):
            cnt[C_LRU_INVERSION] += 1
        if p[P_LRU] == LRU_OBJECT:
            lru_rotate(a.pool_meta, n, pl, victim)
        f[F_FRAME] = pool_handle_frame(alloc, n[victim, E_HANDLE])
        key = n[victim, N_KEY]
        f[F_SLOT] = n[victim, E_SLOT]
        _unlock(a, _pool_lock_id(a, pl), cpu, ph)
        f[F_KEY] = key
        f[F_TREE] = tree_for(p, key >> 40, key & ((1 << 40) - 1))
        # the kernel before 2024 took its reference first and secured the swap-cache page after
        f[F_PC] = PC_WB_CLAIM if p[P_PROTOCOL] == PROTOCOL_CORRECT else PC_WB_TREE_LOCK
        return PROGRESS

    if pc == PC_WB_CLAIM:
        if atomic_cas(a.slots[slot], SL_BUSY, 0, cpu + 1) != 0:
            if p[P_PROTOCOL] != PROTOCOL_CORRECT:
                if a.slots[slot, SL_BUSY] == cpu + 1:
                    # our own store holds the page (-EEXIST): drop the reference, try another victim
                    f[F_RESTORED] = 2
                    f[F_PC] = PC_WB_RECHECK_LOCK
                    return PROGRESS
                return BLOCKED  # holding a reference: wait for the swap-cache page
            cnt[C_WB_SLOT_BUSY] += 1
            return _wb_retry(a, cpu, f)
        if p[P_PROTOCOL] == PROTOCOL_CORRECT:
            f[F_PC] = PC_WB_TREE_LOCK
            return PROGRESS
        if p[P_PROTOCOL] == PROTOCOL_NO_REFCOUNT and a.slots[slot, SL_LIVE] == 0 and \
                a.slots[slot, SL_ON_DEVICE] == 0:
            # the slot was freed meanwhile: swapcache_prepare() -ENOENT; 2013 returned without
            # dropping its reference, so the entry and its object leak
            store_release(a.slots[slot], SL_BUSY, 0)
            return _wb_end(a, cpu, f)
        f[F_PC] = PC_WB_DECOMPRESS
        return PROGRESS

    if pc == PC_WB_SEARCH:
        e = tree_search(a.roots, n, f[F_TREE], f[F_KEY])
        if e == NIL:  # invalidated between the pick and the claim
            _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
            if p[P_PROTOCOL] == PROTOCOL_CORRECT:
                store_release(a.slots[slot], SL_BUSY, 0)
            return _wb_retry(a, cpu, f)
        n[e, E_REFCOUNT] += 1
        _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
        f[F_ENTRY] = e
        f[F_PC] = PC_WB_DECOMPRESS if p[P_PROTOCOL] == PROTOCOL_CORRECT else PC_WB_CLAIM
        return PROGRESS

    if pc == PC_WB_DECOMPRESS:
        e = f[F_ENTRY]
        out = a.cpu_out[cpu]
        ok = _entry_decompress(a, cpu, e, cnt)
        if not ok or not page_verify(a.corpus, p, f[F_KEY], n[e, E_VERSION], out):
            cnt[C_MISMATCH] += 1  # the entry's own data is damaged (it may be stale: that is legal)
        wb = p[P_WRITEBACK]
        if wb == WRITEBACK_RECURSIVE:
            # swap_writepage -> frontswap_store -> zswap's store again, with the page just decompressed
            if depth >= FRAME_DEPTH:
                cnt[C_WB_OVERFLOW] += 1
                f[F_PC] = PC_WB_DEV_WRITE
                return PROGRESS
            cnt[C_WB_RESTORES] += 1
            f[F_RESTORED] = 1
            f[F_PC] = PC_WB_AFTER_RESTORE
            op_begin(a, cpu, OP_STORE, slot, ph)
            a.frames[cpu, depth, F_RESTORE] = 1
            return PROGRESS
        if wb == WRITEBACK_DENIAL:
            # swap_writepage -> frontswap_store finds the deny bit and refuses: the page goes to disk
            a.slots[slot, SL_DENY] = 1
            cnt[C_WB_DENIED] += 1
        f[F_PC] = PC_WB_DEV_WRITE
        return PROGRESS

    if pc == PC_WB_AFTER_RESTORE:
        if a.frames[cpu, depth, F_RESULT] == RES_OK:
            cnt[C_WB_NO_PROGRESS] += 1  # re-compressed into the pool: nothing reclaimed
        else:
            cnt[C_WRITTEN_BACK] += 1  # the re-entered store was rejected and wrote the device
        f[F_PC] = PC_WB_RECHECK_LOCK
        return PROGRESS

    if pc == PC_WB_DEV_WRITE:
        _device_write(a, slot, a.cpu_out[cpu])
        cnt[C_DEV_WRITES] += 1
        f[F_PC] = PC_WB_RECHECK_LOCK
        return PROGRESS

    if pc == PC_WB_RECHECK and f[F_RESTORED] == 2:  # giving up a victim we hold a reference to
        nxt = _after_put(a, cpu, f, f[F_ENTRY])
        f[F_ENTRY] = NIL
        f[F_RESTORED] = 0
        f[F_TRIES] += 1
        _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
        f[F_AFTER_FREE] = PC_WB_LOCK
        f[F_PC] = nxt if nxt >= 0 else PC_WB_LOCK
        return PROGRESS

    if pc == PC_WB_RECHECK:
        e = f[F_ENTRY]
        t = f[F_TREE]
        cur = tree_search(a.roots, n, t, f[F_KEY])
        if cur == e or (cur != NIL and p[P_PROTOCOL] == PROTOCOL_NO_RECHECK):
            tree_erase(a.roots, n, t, cur)
            n[cur, E_STATE] = ENTRY_DEAD
            if cur == e:
                _after_put(a, cpu, f, e)  # the tree's reference
            else:  # 2023 bug: the slot's new entry is dropped and stale data left on the device
                n[cur, E_REFCOUNT] -= 1
            a.slots[slot, SL_LIVE] = 0
            a.slots[slot, SL_ON_DEVICE] = 1
            cnt[C_WRITTEN_BACK] += 1
        elif f[F_RESTORED] == 0:
            cnt[C_WB_RECHECK_ABORT] += 1
        nxt = _after_put(a, cpu, f, e)  # ours
        f[F_ENTRY] = NIL  # no reference held from here on
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        f[F_AFTER_FREE] = PC_WB_FINISH
        f[F_PC] = nxt if nxt >= 0 else PC_WB_FINISH
        return PROGRESS

    if pc == PC_WB_FINISH:
        a.slots[slot, SL_DENY] = 0
        store_release(a.slots[slot], SL_BUSY, 0)
        f[F_WB_COUNT] += 1
        f[F_AFTER_FREE] = -1
        f[F_ENTRY] = NIL
        f[F_RESTORED] = 0
        f[F_TRIES] = 0
        if p[P_LRU] != LRU_OBJECT and f[F_WB_COUNT] < WB_FRAME_MAX and \
                frame_first_object(a.obj_owner, p[P_ALLOCATOR], f[F_FRAME]) != NIL:
            f[F_PC] = PC_WB_LOCK  # pageframe LRU: empty the whole frame
            return PROGRESS
        if depth == 1 and p[P_WRITEBACK] == WRITEBACK_DEFERRED and f[F_WB_COUNT] < SHRINK_BATCH and \
                load_acquire(a.ctl[2], G_FRAMES_USED) >= p[P_ACCEPT_FRAMES]:
            f[F_FRAME] = -1
            f[F_PC] = PC_WB_LOCK  # the shrinker works until the pool is below its accept threshold
            return PROGRESS
        return _wb_end(a, cpu, f)

    return _done(a, cpu, f)  # unreachable: an unknown pc ends the operation
