"""store: put one page into the pool (zswap_store; frontswap_store before 5.19).

Steps (the frame's F_PC; each line is one atomic step):

  [swap path: si->lock for the slot, then the page into the swap cache, where the profile takes them]
  COMPRESS     [pool at its limit: by --writeback, push a writeback frame and come back here, or
               queue the shrinker and give up (deferred: until the pool is below its accept
               threshold, 45190f01dd40)] build the page; same-filled -> COPY; compress;
               compressor error or compress-poor -> DROP_LOCK
  POOL_LOCK    the allocator's lock (the pool's, or the size class's)
  POOL_ALLOC   entry_alloc + pool_alloc (an allocator LRU: add), unlock; no pool memory -> DROP_LOCK
  COPY         copy the object into the pool, fill the entry (a same-filled page allocates it here)
  TREE_LOCK    tree_lock
  INSERT       index_replace (a duplicate is erased and its reference put); a per-tree LRU: add.
               own LRU: under tree_lock (rb-tree) -> LRU_LOCK, else after it (xarray) -> LRU_LOCK
  LRU_LOCK     lru_lock
  LRU_ADD      add to the own LRU, unlock (and tree_lock if still held)
  DROP_LOCK    tree_lock                           (the page goes to the swap device instead:
  DROP         erase the slot's stale entry, unlock   its pool copy is stale)
  DEV_WRITE    write the page to the swap device
  [swap path: the page out of the swap cache]
An entry whose last reference an INSERT or DROP dropped is freed on the way (ops/entry.py).

The store writes back in its own path unless the pool's writeback is deferred.  A store re-entered
by a recursive writeback (F_RESTORE) stores the slot's current data again, at the same version.

LOCKING: tree_lock for INSERT and DROP; the allocator's lock for POOL_ALLOC; an own LRU's lock for
LRU_ADD, nested inside tree_lock with the rb-tree.  The slot's busy bit (held by the caller) covers
the slot row and the new entry until it is linked.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import (
    G_FRAMES_USED,
    G_REACHED_FULL,
    G_SHRINK,
    SL_LIVE,
    SL_ON_DEVICE,
    SL_VERSION,
    WRITEBACK_DEFERRED,
)
from zswap_conc.checked import (
    FP_GLOBAL,
    FP_SLOT,
    W_DEVICE,
    W_LRU,
    W_POOL,
    W_SLOT,
    chk_held,
    chk_slot,
    chk_touch,
    chk_tree,
)
from zswap_conc.compress import COMPRESS_FAIL, compress
from zswap_conc.index import INDEX_XARRAY, NIL, index_replace, index_search
from zswap_conc.index.xarray import XA_FULL
from zswap_conc.jit import HOT, STEP
from zswap_conc.lru import LRU_LOCK_ALLOC, LRU_LOCK_OWN, LRU_LOCK_TREE, frame_lru_add, obj_lru_add, obj_lru_del
from zswap_conc.ops.counters import (
    C_BYTES_IN,
    C_BYTES_OUT,
    C_COMPRESS_CYCLES,
    C_DEV_WRITES,
    C_DUPLICATE,
    C_ENTRY_FAIL,
    C_POOL_LIMIT_HIT,
    C_REJECT_ALLOC,
    C_REJECT_COMPRESS_FAIL,
    C_REJECT_POOR,
    C_REJECT_RECLAIM_FAIL,
    C_SAME_FILLED,
    C_STORED,
    C_STORES,
    C_WB_OVERFLOW,
)
from zswap_conc.ops.entry import (
    E_HANDLE,
    E_LENGTH,
    E_POOL,
    E_REFCOUNT,
    E_STATE,
    E_VALUE,
    E_VERSION,
    ENTRY_DEAD,
    ENTRY_LIVE,
    cs_end,
    device_write,
    entry_alloc,
    entry_erase,
    entry_free,
    entry_put,
    pool_is_full,
)
from zswap_conc.ops.frame import (
    F_ENTRY,
    F_HANDLE,
    F_KEY,
    F_LEN,
    F_LIMIT,
    F_LIMIT_STATE,
    F_PC,
    F_PHASE,
    F_POOL,
    F_RESTORE,
    F_RESULT,
    F_SAME,
    F_SLOT,
    F_TREE,
    F_VALUE,
    F_VERSION,
    PROGRESS,
    RES_OK,
    RES_REJECTED,
    lock_step,
    op_begin_writeback,
    op_done,
)
from zswap_conc.ops.locking import lru_lock_id, pool_lock_id, tree_lock_id, unlock
from zswap_conc.pages import page_build, page_same_filled
from zswap_conc.params import (
    FREE_ALL,
    FREE_INVALIDATE,
    P_ACCEPT_FRAMES,
    P_ALLOCATOR,
    P_FRAME_DEPTH,
    P_FREE_UNDER_TREE,
    P_INDEX,
    P_LRU_LOCK,
    P_REJECT_ABOVE,
    P_WRITEBACK,
)
from zswap_conc.pool import pool_alloc, pool_obj_write
from zswap_conc.sync import atomic_cas, cycles, fetch_add, load_acquire, store_release

ST_COMPRESS = 0
ST_POOL_LOCK = 1
ST_POOL_ALLOC = 2
ST_COPY = 3
ST_TREE_LOCK = 4
ST_INSERT = 5
ST_DROP_LOCK = 6
ST_DROP = 7
ST_DEV_WRITE = 8
ST_LRU_LOCK = 9
ST_LRU_ADD = 10
STORE_STEP_NAMES = (
    "store: compress", "store: pool_lock", "store: pool_alloc", "store: copy to pool", "store: tree_lock",
    "store: tree_insert", "store: tree_lock (drop stale)", "store: erase stale entry",
    "store: write to swap device", "store: lru_lock", "store: lru add",
)  # fmt: skip

# F_LIMIT_STATE: where the store stands with the pool limit
LIMIT_UNCHECKED = 0  # the limit has not been looked at yet
LIMIT_WRITING_BACK = 1  # a writeback frame was pushed; its result decides
LIMIT_PASSED = 2  # there is room (or writeback made some): compress and store


@njit(**HOT)
def _to_device(f, cnt, reason) -> int:
    """The page goes to the swap device instead of the pool; ``reason`` is the counter to bump."""
    cnt[reason] += 1
    f[F_PC] = ST_DROP_LOCK
    return PROGRESS


@njit(**HOT)
def _deferred_full(a) -> bool:
    """Deferred writeback's hysteresis (45190f01dd40): once the pool hit its limit, stores are refused
    until it drops below the accept threshold (accept_threshold_percent)."""
    g = a.ctl[2]
    if load_acquire(g, G_FRAMES_USED) >= a.params[P_ACCEPT_FRAMES]:
        return load_acquire(g, G_REACHED_FULL) != 0
    if load_acquire(g, G_REACHED_FULL) != 0:
        store_release(g, G_REACHED_FULL, 0)
    return False


@njit(**STEP)
def _limit_check(a, cpu, f, depth, cnt) -> int:
    """The pool-limit part of COMPRESS: -1 to go on compressing, else the step's result."""
    state = f[F_LIMIT_STATE]
    if state == LIMIT_UNCHECKED:
        chk_touch(a, cpu, FP_GLOBAL)
        chk_touch(a, cpu, FP_SLOT + f[F_SLOT])
        if f[F_RESTORE] == 0:
            cnt[C_STORES] += 1
        f[F_VERSION] = a.slots[f[F_SLOT], SL_VERSION] + (0 if f[F_RESTORE] != 0 else 1)
        deferred = a.params[P_WRITEBACK] == WRITEBACK_DEFERRED
        full = pool_is_full(a)
        if full or (deferred and _deferred_full(a)):
            if full:
                cnt[C_POOL_LIMIT_HIT] += 1
            f[F_LIMIT] = 1
            if deferred:
                # 5.6+: the store never writes back; it queues the shrinker and goes to the device
                store_release(a.ctl[2], G_REACHED_FULL, 1)
                if load_acquire(a.ctl[2], G_SHRINK) == 0:
                    atomic_cas(a.ctl[2], G_SHRINK, 0, 1)
                return _to_device(f, cnt, C_REJECT_RECLAIM_FAIL)
            if depth >= a.params[P_FRAME_DEPTH]:
                return _to_device(f, cnt, C_WB_OVERFLOW)
            f[F_LIMIT_STATE] = LIMIT_WRITING_BACK
            lru = f[F_TREE] if a.params[P_LRU_LOCK] == LRU_LOCK_TREE else (
                f[F_POOL] if a.params[P_LRU_LOCK] == LRU_LOCK_ALLOC else 0)
            op_begin_writeback(a, cpu, lru, f[F_PHASE])
            return PROGRESS
        f[F_LIMIT_STATE] = LIMIT_PASSED
    elif state == LIMIT_WRITING_BACK:
        f[F_LIMIT_STATE] = LIMIT_PASSED
        if a.frames[cpu, depth, F_RESULT] != RES_OK:  # the writeback we pushed freed nothing
            return _to_device(f, cnt, C_REJECT_RECLAIM_FAIL)
    return -1


@njit(**STEP)
def _compress_step(a, cpu, f, depth, cnt) -> int:
    r = _limit_check(a, cpu, f, depth, cnt)
    if r >= 0:
        return r
    p = a.params
    version = f[F_VERSION]
    page = a.cpu_page[cpu]
    idx = page_build(a.corpus, p, f[F_KEY], version, page)
    same, value = page_same_filled(page)
    if same:
        f[F_SAME] = 1
        f[F_VALUE] = value
        f[F_PC] = ST_COPY
        return PROGRESS
    t0 = cycles()
    length = compress(p, a.cpu_zctx[cpu, 0], page, a.cpu_cbuf[cpu], f[F_KEY], version, idx, a.corpus_clen[idx])
    cnt[C_COMPRESS_CYCLES] += cycles() - t0
    if length == COMPRESS_FAIL:
        return _to_device(f, cnt, C_REJECT_COMPRESS_FAIL)
    if length > p[P_REJECT_ABOVE]:
        return _to_device(f, cnt, C_REJECT_POOR)
    cnt[C_BYTES_IN] += page.shape[0]
    cnt[C_BYTES_OUT] += length
    f[F_LEN] = length
    f[F_PC] = ST_POOL_LOCK
    return PROGRESS


@njit(**STEP)
def _pool_alloc_step(a, cpu, f, cnt) -> int:
    n = a.nodes
    ph = f[F_PHASE]
    pl = f[F_POOL]
    lk = pool_lock_id(a, pl, f[F_LEN])
    alloc = a.params[P_ALLOCATOR]
    e = entry_alloc(a, f[F_SLOT])
    if e == NIL:
        unlock(a, lk, cpu, ph)
        return _to_device(f, cnt, C_ENTRY_FAIL)
    chk_held(a, cpu, lk, W_POOL)
    h, grown = pool_alloc(alloc, a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl, f[F_LEN])
    if h < 0:
        entry_free(a, e)
        unlock(a, lk, cpu, ph)
        return _to_device(f, cnt, C_REJECT_ALLOC)
    n[e, E_HANDLE] = h
    n[e, E_POOL] = pl
    if a.params[P_LRU_LOCK] == LRU_LOCK_ALLOC:  # the allocator's LRUs, under its own lock
        now = cycles()
        obj_lru_add(a.lru_meta, n, pl, e, now)
        frame_lru_add(a.pool_meta, a.frame_lru, a.obj_owner, alloc, pl, e, h)
    unlock(a, lk, cpu, ph)
    if grown != 0:
        chk_touch(a, cpu, FP_GLOBAL)
        fetch_add(a.ctl[2], G_FRAMES_USED, grown)
    f[F_ENTRY] = e
    f[F_HANDLE] = h
    f[F_PC] = ST_COPY
    return PROGRESS


@njit(**STEP)
def _copy_step(a, cpu, f, cnt) -> int:
    n = a.nodes
    e = f[F_ENTRY]
    if e == NIL:  # same-filled: no pool object, so the entry is allocated here
        e = entry_alloc(a, f[F_SLOT])
        if e == NIL:
            return _to_device(f, cnt, C_ENTRY_FAIL)
        n[e, E_POOL] = f[F_POOL]
    if f[F_HANDLE] >= 0:
        pool_obj_write(a.params[P_ALLOCATOR], a.frame_meta, a.pool_data, f[F_HANDLE], a.cpu_cbuf[cpu], f[F_LEN])
    n[e, E_LENGTH] = f[F_LEN]
    n[e, E_VALUE] = f[F_VALUE]
    n[e, E_VERSION] = f[F_VERSION]
    n[e, E_REFCOUNT] = 1
    f[F_ENTRY] = e
    f[F_PC] = ST_TREE_LOCK
    return PROGRESS


@njit(**STEP)
def _insert_step(a, cpu, f, cnt) -> int:
    p = a.params
    n = a.nodes
    slot = f[F_SLOT]
    e = f[F_ENTRY]
    t = f[F_TREE]
    chk_tree(a, cpu, t, True)
    chk_slot(a, cpu, slot, W_SLOT)
    dup = index_replace(p, a.roots, n, a.xa, t, e)
    if dup == XA_FULL:  # cannot happen while the node pool is sized for the working set
        cnt[C_ENTRY_FAIL] += 1
        dup = NIL
    if dup != NIL:  # already unlinked by index_replace
        cnt[C_DUPLICATE] += 1
        n[dup, E_STATE] = ENTRY_DEAD
        if p[P_LRU_LOCK] == LRU_LOCK_TREE:
            obj_lru_del(a.lru_meta, n, t, dup)
        entry_put(a, cpu, f, dup)
    n[e, E_STATE] = ENTRY_LIVE
    a.slots[slot, SL_VERSION] = f[F_VERSION]
    a.slots[slot, SL_LIVE] = 1
    a.slots[slot, SL_ON_DEVICE] = 0
    cnt[C_STORED] += 1
    if f[F_SAME] != 0:
        cnt[C_SAME_FILLED] += 1
    on_lru = n[e, E_HANDLE] >= 0  # same-filled entries are never on an LRU
    if on_lru and p[P_LRU_LOCK] == LRU_LOCK_TREE:
        obj_lru_add(a.lru_meta, n, t, e, cycles())
    if on_lru and p[P_LRU_LOCK] == LRU_LOCK_OWN:
        if p[P_INDEX] != INDEX_XARRAY:
            f[F_PC] = ST_LRU_LOCK  # 6.5-6.9: the LRU add nests inside tree_lock
            return PROGRESS
        return cs_end(a, cpu, f, tree_lock_id(a, t), ST_LRU_LOCK, p[P_FREE_UNDER_TREE] != 0)
    return cs_end(a, cpu, f, tree_lock_id(a, t), -1, p[P_FREE_UNDER_TREE] != 0)


@njit(**STEP)
def _lru_add_step(a, cpu, f) -> int:
    e = f[F_ENTRY]
    chk_held(a, cpu, lru_lock_id(a, 0), W_LRU)
    obj_lru_add(a.lru_meta, a.nodes, 0, e, cycles())
    unlock(a, lru_lock_id(a, 0), cpu, f[F_PHASE])
    if a.params[P_INDEX] != INDEX_XARRAY:  # the tree_lock the LRU add nested in
        return cs_end(a, cpu, f, tree_lock_id(a, f[F_TREE]), -1, a.params[P_FREE_UNDER_TREE] != 0)
    return op_done(a, cpu, f)


@njit(**STEP)
def _drop_step(a, cpu, f) -> int:
    """The new data goes to the swap device: the pool's copy of the slot is stale."""
    p = a.params
    slot = f[F_SLOT]
    t = f[F_TREE]
    chk_tree(a, cpu, t, True)
    chk_slot(a, cpu, slot, W_SLOT)
    old = index_search(p, a.roots, a.nodes, a.xa, t, f[F_KEY])
    if old != NIL:
        entry_erase(a, cpu, t, old)
        entry_put(a, cpu, f, old)
    a.slots[slot, SL_VERSION] = f[F_VERSION]
    a.slots[slot, SL_LIVE] = 0
    a.slots[slot, SL_ON_DEVICE] = 1
    f[F_RESULT] = RES_REJECTED
    fut = p[P_FREE_UNDER_TREE]
    return cs_end(a, cpu, f, tree_lock_id(a, t), ST_DEV_WRITE, fut == FREE_ALL or fut == FREE_INVALIDATE)


@njit(**STEP)
def _dev_write_step(a, cpu, f, cnt) -> int:
    page = a.cpu_page[cpu]
    page_build(a.corpus, a.params, f[F_KEY], f[F_VERSION], page)
    chk_slot(a, cpu, f[F_SLOT], W_DEVICE)
    device_write(a, f[F_SLOT], page)
    cnt[C_DEV_WRITES] += 1
    return op_done(a, cpu, f)


@njit(**STEP)
def store_step(a, cpu, f, depth) -> int:
    """One step of the store in frame ``f`` (``depth`` frames on ``cpu``'s stack)."""
    pc = f[F_PC]
    cnt = a.cnt[f[F_PHASE], cpu]
    if pc == ST_COMPRESS:
        return _compress_step(a, cpu, f, depth, cnt)
    if pc == ST_POOL_LOCK:
        return lock_step(a, cpu, f, pool_lock_id(a, f[F_POOL], f[F_LEN]), ST_POOL_ALLOC)
    if pc == ST_POOL_ALLOC:
        return _pool_alloc_step(a, cpu, f, cnt)
    if pc == ST_COPY:
        return _copy_step(a, cpu, f, cnt)
    if pc == ST_TREE_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), ST_INSERT)
    if pc == ST_INSERT:
        return _insert_step(a, cpu, f, cnt)
    if pc == ST_LRU_LOCK:
        return lock_step(a, cpu, f, lru_lock_id(a, 0), ST_LRU_ADD)
    if pc == ST_LRU_ADD:
        return _lru_add_step(a, cpu, f)
    if pc == ST_DROP_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), ST_DROP)
    if pc == ST_DROP:
        return _drop_step(a, cpu, f)
    if pc == ST_DEV_WRITE:
        return _dev_write_step(a, cpu, f, cnt)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
