"""store / load / invalidate as step machines: the one definition that is both measured and checked.

An operation is a frame on its CPU's frame stack (``frames[cpu]``).  ``op_step`` executes one
atomic step of the top frame -- one lock attempt, one critical section ending in its unlock, or
one lock-free phase such as compressing -- and returns PROGRESS, BLOCKED (a lock is busy) or DONE.
Worker processes call it back to back (``cpu.py``); the race hunter picks which CPU steps next.

The protocol is the 2013 kernel's (refcounted entries, tree_lock held only for tree operations,
never while compressing or copying):

  store:      compress -> pool_lock, pool_alloc, unlock -> copy, entry setup
              -> tree_lock, tree_insert (erase the duplicate), unlock -> free the old entry
  load:       tree_lock, search, get ref, unlock -> copy out, decompress, verify
              -> tree_lock, put ref, unlock -> free it if that was the last reference
  invalidate: tree_lock, search, erase, put ref, unlock -> free it if that was the last reference
  a rejected store (compress-poor, no pool memory) goes to the swap device, so the slot's
  old entry, now stale, is invalidated.

Entries free their pool object outside the tree_lock (pool_lock, pool_free, unlock), so the only
nesting is the documented tree_lock -> pool_lock, which none of these paths needs.

LOCKING of an entry (a row of ``nodes``; tree columns in index.py):
  E_REFCOUNT                        the tree_lock of the entry's tree
  every other entry column          written only by the CPU holding the slot's busy bit, while
                                    the entry is unreachable (NEW) or being torn down (refcount 0)
Same-slot store/load/invalidate are serialised by the slot's busy bit (the kernel's page lock and
swap cache), so zswap itself only orders different slots.

Every function here that takes the arena ``a`` is inlined into its caller at numba's IR level: a
call that passes the arena's two dozen arrays costs about half a microsecond of reference counting,
more than the work of most steps.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.arena import (
    CS_DEPTH,
    SL_KEY,
    SL_LIVE,
    SL_VERSION,
)
from zswap_conc.compress import COMPRESS_FAIL, DECOMPRESS_TOKEN, compress, decompress
from zswap_conc.index import N_KEY, NIL, tree_erase, tree_insert, tree_search
from zswap_conc.jit import HOT
from zswap_conc.pages import page_build, page_same_filled, page_verify
from zswap_conc.params import P_ALLOCATOR, P_LOCK_KIND, P_POOL_LOCK0, P_REJECT_ABOVE, P_TREE_LOCK0
from zswap_conc.pool import pool_alloc, pool_free, pool_obj_read, pool_obj_write
from zswap_conc.strategies import pool_for, tree_for
from zswap_conc.sync import cycles, spin_trylock_step, spin_unlock

# step results
PROGRESS = 0
BLOCKED = 1
DONE = 2

OP_STORE = 0
OP_LOAD = 1
OP_INVALIDATE = 2
OP_NAMES = ("store", "load", "invalidate")

# columns of nodes[e, :] owned by the entry (0..4 belong to the tree)
E_STATE = 5  # ENTRY_FREE / NEW / LIVE / DEAD
E_HANDLE = 6  # pool handle, -1 for a same-filled page
E_LENGTH = 7  # compressed length in bytes
E_VALUE = 8  # the word of a same-filled page
E_VERSION = 9  # version of the data it holds
E_REFCOUNT = 10  # the tree's reference plus one per load in flight
E_SLOT = 11  # working-set slot index
E_POOL = 12  # pool shard holding its object

ENTRY_FREE = 0  # on no list, may be allocated
ENTRY_NEW = 1  # allocated, not yet in a tree
ENTRY_LIVE = 2  # linked into its tree
ENTRY_DEAD = 3  # erased from the tree, references still held

# columns of frames[cpu, depth, :]
F_OP = 0  # OP_*
F_PC = 1  # next step (PC_*)
F_SLOT = 2  # working-set slot index
F_KEY = 3  # (swap type << 40) | offset
F_TREE = 4  # tree id (tree_for)
F_POOL = 5  # pool shard (pool_for)
F_ENTRY = 6  # the entry being stored or loaded
F_OLD = 7  # an entry whose last reference this operation dropped: to free
F_LEN = 8  # compressed length
F_VERSION = 9  # version being stored
F_PHASE = 10  # counter phase the operation started in
F_SAME = 11  # 1 if the page is same-filled
F_VALUE = 12  # the same-filled word
F_HANDLE = 13  # pool handle allocated by a store
F_RESULT = 14  # RES_*

RES_OK = 0
RES_MISS = 1  # load / invalidate found no entry
RES_REJECTED = 2  # store went to the swap device
RES_MISMATCH = 3  # load returned wrong data

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
PC_NAMES = (
    "store: compress", "store: pool_lock", "store: pool_alloc", "store: copy to pool",
    "store: tree_lock", "store: tree_insert", "store: tree_lock (drop stale)",
    "store: erase stale entry", "load: tree_lock", "load: search + get", "load: decompress",
    "load: tree_lock (put)", "load: put", "invalidate: tree_lock", "invalidate: erase + put",
    "free: pool_lock", "free: pool_free",
)  # fmt: skip

# columns of cnt[phase, cpu, :]: zswap's outcome counters, per CPU
C_OPS = 0  # operations completed
C_STORES = 1  # store operations
C_LOADS = 2  # load operations
C_INVALIDATES = 3  # invalidate operations
C_STORED = 4  # stores that ended with the page in the pool
C_SAME_FILLED = 5  # of those, same-filled pages (no compression, no pool memory)
C_REJECT_POOR = 6  # reject_compress_poor: compressed size above the threshold
C_REJECT_ALLOC = 7  # reject_alloc_fail: the pool had no memory
C_REJECT_COMPRESS_FAIL = 8  # reject_compress_fail: the compressor returned an error
C_DUPLICATE = 9  # duplicate_entry: a store replaced a live entry of its slot
C_LOAD_HIT = 10  # loads served from the pool
C_LOAD_MISS = 11  # loads that found no entry (the data is on the swap device)
C_INVAL_HIT = 12  # invalidates that erased an entry
C_INVAL_MISS = 13  # invalidates that found no entry
C_MISMATCH = 14  # loads that got stale or wrong data, or found presence wrong: must stay 0
C_SLOT_BUSY = 15  # operations skipped because another CPU held the slot
C_BYTES_IN = 16  # uncompressed bytes given to the compressor
C_BYTES_OUT = 17  # compressed bytes it produced
C_COMPRESS_CYCLES = 18  # cycles spent compressing
C_DECOMPRESS_CYCLES = 19  # cycles spent decompressing
C_BLOCKED_STEPS = 20  # steps that found their lock busy
C_ENTRY_FAIL = 21  # no free entry for the slot: must stay 0
COUNTER_NAMES = (
    "ops", "stores", "loads", "invalidates", "stored_pages_added", "same_filled_added",
    "reject_compress_poor", "reject_alloc_fail", "reject_compress_fail", "duplicate_entry",
    "load_hit", "load_miss", "invalidate_hit", "invalidate_miss", "load_mismatch", "slot_busy",
    "bytes_in", "bytes_out", "compress_cycles", "decompress_cycles", "blocked_steps", "entry_fail",
)  # fmt: skip


@njit(**HOT, inline="always")
def _tree_lock_id(a, t):
    return a.params[P_TREE_LOCK0] + t


@njit(**HOT, inline="always")
def _pool_lock_id(a, pl):
    return a.params[P_POOL_LOCK0] + pl


@njit(**HOT, inline="always")
def _lock_step(a, lk, cpu, ph):
    return spin_trylock_step(a.locks, a.pend, a.held, a.lstat, a.params[P_LOCK_KIND], ph, lk, cpu)


@njit(**HOT, inline="always")
def _unlock(a, lk, cpu, ph):
    spin_unlock(a.locks, a.held, a.lstat, a.params[P_LOCK_KIND], ph, lk, cpu)


@njit(**HOT, inline="always")
def entry_alloc(a, slot) -> int:
    """A free entry for ``slot``: each slot owns two, enough for its old and new data."""
    for e in (2 * slot, 2 * slot + 1):
        if a.nodes[e, E_STATE] == ENTRY_FREE:
            a.nodes[e, E_STATE] = ENTRY_NEW
            return e
    return NIL


@njit(**HOT, inline="always")
def entry_free(a, e) -> None:
    a.nodes[e, E_STATE] = ENTRY_FREE
    a.nodes[e, E_HANDLE] = -1
    a.nodes[e, E_REFCOUNT] = 0


@njit(**HOT, inline="always")
def op_begin(a, cpu, op, slot, phase) -> None:
    """Push an operation on ``cpu``'s frame stack; the caller holds the slot's busy bit."""
    d = a.cpu_state[cpu, CS_DEPTH]
    f = a.frames[cpu, d]
    f[:] = 0
    key = a.slots[slot, SL_KEY]
    swap_type = key >> 40
    offset = key & ((1 << 40) - 1)
    f[F_OP] = op
    f[F_SLOT] = slot
    f[F_KEY] = key
    f[F_TREE] = tree_for(a.params, swap_type, offset)
    f[F_POOL] = pool_for(a.params, swap_type, offset)
    f[F_ENTRY] = NIL
    f[F_OLD] = NIL
    f[F_HANDLE] = -1
    f[F_PHASE] = phase
    if op == OP_STORE:
        f[F_PC] = PC_ST_COMPRESS
    elif op == OP_LOAD:
        f[F_PC] = PC_LD_LOCK
    else:
        f[F_PC] = PC_IV_LOCK
    a.cpu_state[cpu, CS_DEPTH] = d + 1


@njit(**HOT, inline="always")
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


@njit(**HOT, inline="always")
def _done(a, cpu, f) -> int:
    a.cpu_state[cpu, CS_DEPTH] -= 1
    return DONE


@njit(**HOT, inline="always")
def _after_put(a, cpu, f, e) -> int:
    """Drop one reference to ``e`` (tree_lock held); remember it for freeing if it was the last."""
    a.nodes[e, E_REFCOUNT] -= 1
    if a.nodes[e, E_REFCOUNT] == 0:
        f[F_OLD] = e
        return PC_FREE_LOCK
    return -1


@njit(**HOT, inline="always")
def op_step(a, cpu) -> int:
    """Execute one step of ``cpu``'s innermost operation."""
    f = a.frames[cpu, a.cpu_state[cpu, CS_DEPTH] - 1]
    pc = f[F_PC]
    ph = f[F_PHASE]
    cnt = a.cnt[ph, cpu]
    n = a.nodes
    p = a.params
    slot = f[F_SLOT]

    # ---- store ---------------------------------------------------------------------------
    if pc == PC_ST_COMPRESS:
        cnt[C_STORES] += 1
        version = a.slots[slot, SL_VERSION] + 1
        f[F_VERSION] = version
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

    if pc == PC_ST_POOL_LOCK:
        if not _lock_step(a, _pool_lock_id(a, f[F_POOL]), cpu, ph):
            cnt[C_BLOCKED_STEPS] += 1
            return BLOCKED
        f[F_PC] = PC_ST_POOL_ALLOC
        return PROGRESS

    if pc == PC_ST_POOL_ALLOC:
        h = pool_alloc(p[P_ALLOCATOR], a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free,
                       f[F_POOL], f[F_LEN])
        _unlock(a, _pool_lock_id(a, f[F_POOL]), cpu, ph)
        if h < 0:
            cnt[C_REJECT_ALLOC] += 1
            f[F_PC] = PC_ST_DROP_LOCK
            return PROGRESS
        f[F_HANDLE] = h
        f[F_PC] = PC_ST_COPY
        return PROGRESS

    if pc == PC_ST_COPY:
        e = entry_alloc(a, slot)
        if e == NIL:
            cnt[C_ENTRY_FAIL] += 1
            f[F_OLD] = NIL
            if f[F_HANDLE] >= 0:  # give the object back through an entry-less free
                f[F_PC] = PC_ST_DROP_LOCK
            return _done(a, cpu, f) if f[F_HANDLE] < 0 else PROGRESS
        if f[F_HANDLE] >= 0:
            pool_obj_write(p[P_ALLOCATOR], a.frame_meta, a.pool_data, f[F_HANDLE], a.cpu_cbuf[cpu],
                           f[F_LEN])
        n[e, N_KEY] = f[F_KEY]
        n[e, E_HANDLE] = f[F_HANDLE]
        n[e, E_LENGTH] = f[F_LEN]
        n[e, E_VALUE] = f[F_VALUE]
        n[e, E_VERSION] = f[F_VERSION]
        n[e, E_REFCOUNT] = 1
        n[e, E_SLOT] = slot
        n[e, E_POOL] = f[F_POOL]
        f[F_ENTRY] = e
        f[F_PC] = PC_ST_TREE_LOCK
        return PROGRESS

    if pc == PC_ST_TREE_LOCK or pc == PC_ST_DROP_LOCK or pc == PC_LD_LOCK or pc == PC_IV_LOCK \
            or pc == PC_LD_PUT_LOCK:
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
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        cnt[C_STORED] += 1
        if f[F_SAME] != 0:
            cnt[C_SAME_FILLED] += 1
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
        return _done(a, cpu, f)

    if pc == PC_ST_DROP:
        # the new data went to the swap device: the pool's copy of the slot is stale
        t = f[F_TREE]
        old = tree_search(a.roots, n, t, f[F_KEY])
        nxt = -1
        if old != NIL:
            tree_erase(a.roots, n, t, old)
            n[old, E_STATE] = ENTRY_DEAD
            nxt = _after_put(a, cpu, f, old)
        a.slots[slot, SL_VERSION] = f[F_VERSION]
        a.slots[slot, SL_LIVE] = 0
        f[F_RESULT] = RES_REJECTED
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        if f[F_HANDLE] >= 0 and f[F_ENTRY] == NIL:
            # an allocated object that found no entry: free it like an entry's
            f[F_PC] = PC_FREE_LOCK
            return PROGRESS
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
        return _done(a, cpu, f)

    # ---- load ----------------------------------------------------------------------------
    if pc == PC_LD_SEARCH:
        cnt[C_LOADS] += 1
        e = tree_search(a.roots, n, f[F_TREE], f[F_KEY])
        if e == NIL:
            _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
            cnt[C_LOAD_MISS] += 1
            if a.slots[slot, SL_LIVE] != 0:
                cnt[C_MISMATCH] += 1
                f[F_RESULT] = RES_MISMATCH
            else:
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
        t0 = cycles()
        ok = _entry_read(a, cpu, e, out)
        cnt[C_DECOMPRESS_CYCLES] += cycles() - t0
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
        _unlock(a, _tree_lock_id(a, f[F_TREE]), cpu, ph)
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
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
        _unlock(a, _tree_lock_id(a, t), cpu, ph)
        if nxt >= 0:
            f[F_PC] = nxt
            return PROGRESS
        return _done(a, cpu, f)

    # ---- free an entry whose last reference was dropped ----------------------------------
    if pc == PC_FREE_LOCK:
        old = f[F_OLD]
        h = f[F_HANDLE] if old == NIL else n[old, E_HANDLE]
        if h < 0:  # same-filled: no pool memory to give back
            if old != NIL:
                entry_free(a, old)
            return _done(a, cpu, f)
        pl = f[F_POOL] if old == NIL else n[old, E_POOL]
        if not _lock_step(a, _pool_lock_id(a, pl), cpu, ph):
            cnt[C_BLOCKED_STEPS] += 1
            return BLOCKED
        f[F_PC] = PC_FREE
        return PROGRESS

    if pc == PC_FREE:
        old = f[F_OLD]
        h = f[F_HANDLE] if old == NIL else n[old, E_HANDLE]
        pl = f[F_POOL] if old == NIL else n[old, E_POOL]
        size = f[F_LEN] if old == NIL else n[old, E_LENGTH]
        pool_free(p[P_ALLOCATOR], a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl, h, size)
        _unlock(a, _pool_lock_id(a, pl), cpu, ph)
        if old != NIL:
            entry_free(a, old)
        return _done(a, cpu, f)

    return _done(a, cpu, f)  # unreachable: an unknown pc ends the operation
