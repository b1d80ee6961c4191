"""writeback: move one victim (or, with the pageframe LRU, one frame's objects) from the pool to the
swap device (zswap_writeback_entry; zswap_flush_entry in 2012).

Steps, in the kernel's order for the profile's ``wb_order``:

  LRU_LOCK     the LRU's lock (after WB_MAX_TRIES skipped victims: give up)
  PICK         the victim by LRU policy (object LRU: rotate it to the head); its key.  A per-tree LRU
               (2012, pin-first) takes it off and pins it here, under that same tree_lock.  Unlock
  GET_LOCK     tree_lock                              (pin-first: 6.5-6.8; lookup-first: 3.11-6.4)
  GET          pin-first: the tree still holds the picked entry, else skip it (-EAGAIN);
               lookup-first: the slot's entry by key, else skip.  Take a reference; unlock
  CLAIM        the slot's swap-cache page: its busy bit (busy: -EEXIST; the slot freed meanwhile:
               -ENOENT; either way drop the reference and skip, the tree untouched);
               then [swap path: the folio into the swap cache]
  RECHECK_LOCK tree_lock
  RECHECK      the tree still holds *this* entry (04fc7816089c)?  claim-first (6.9+, no refcount):
               erase it now.  If not: abort, drop the reference, release the page, pick another
  DECOMPRESS   decompress the entry; claim-first frees it now (after the lock).  Then by --writeback:
                 recursive   RESTORE: re-enter store with the page (the review's hypothetical)
                 denial-map  set the slot's deny bit (zcache): the re-store refuses -> DEV_WRITE
                 direct, deferred   __swap_writepage -> DEV_WRITE
  RESTORE      push the re-entered store -> AFTER_RESTORE: count what it did
  DEV_WRITE    write the page to the swap device
  DONE_LOCK    tree_lock (refcount)
  DONE         erase the entry, put the tree's reference and ours, unlock -> free if last
  FINISH       [swap path: the folio out of the swap cache] release the page; the pageframe LRU goes
               on with the frame's next object, the deferred shrinker until the pool is below its
               accept threshold
Every profile takes the RECHECK, also those before 6.4 whose kernels raced there (kernels.DEVIATIONS).

The known-buggy protocols (PROTOCOL_*) are kept for the race hunter: no-refcount-2013 leaks the
entry when the claim finds the slot freed; no-recheck-2023 skips RECHECK and erases whatever the
tree holds at DONE.

LOCKING: the LRU's lock for PICK; tree_lock for GET, RECHECK and DONE; never nested.  The picked
entry's key and slot are read under the LRU's lock (an entry row's key never changes); everything
else is read under tree_lock after a reference or the slot's page secures the entry.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import (
    G_FRAMES_USED,
    SL_BUSY,
    SL_DENY,
    SL_LIVE,
    SL_ON_DEVICE,
    WRITEBACK_DEFERRED,
    WRITEBACK_DENIAL,
    WRITEBACK_RECURSIVE,
)
from zswap_conc.checked import (
    FP_GLOBAL,
    FP_SLOT,
    M_CLAIM_SKIPPED,
    M_RECHECK_REMOVED,
    W_DEVICE,
    W_LRU,
    W_SLOT,
    chk_held,
    chk_refcount,
    chk_slot,
    chk_touch,
    chk_tree,
    mutant,
)
from zswap_conc.index import N_KEY, NIL, index_search
from zswap_conc.jit import HOT, STEP
from zswap_conc.lru import (
    E_LRU_PREV,
    E_TS,
    LRU_LOCK_ALLOC,
    LRU_LOCK_TREE,
    LRU_OBJECT,
    OFF_LIST,
    frame_first_object,
    lru_victim,
    obj_lru_add,
    obj_lru_del,
    obj_lru_oldest_ts,
    obj_lru_rotate,
)
from zswap_conc.ops.counters import (
    C_DEV_WRITES,
    C_LRU_INVERSION,
    C_MISMATCH,
    C_WB_DENIED,
    C_WB_GONE,
    C_WB_NO_PROGRESS,
    C_WB_OVERFLOW,
    C_WB_RECHECK_ABORT,
    C_WB_RESTORES,
    C_WB_SLOT_BUSY,
    C_WRITTEN_BACK,
)
from zswap_conc.ops.entry import (
    E_HANDLE,
    E_REFCOUNT,
    E_SLOT,
    E_STATE,
    E_VERSION,
    ENTRY_LIVE,
    cs_end,
    device_write,
    entry_decompress,
    entry_erase,
    entry_put,
    free_then,
)
from zswap_conc.ops.frame import (
    F_ENTRY,
    F_FRAME,
    F_KEY,
    F_LRU,
    F_PC,
    F_PHASE,
    F_PICK,
    F_RESULT,
    F_SLOT,
    F_TREE,
    F_TRIES,
    F_VICTIM,
    F_WB_COUNT,
    PROGRESS,
    RES_FAIL,
    RES_OK,
    lock_step,
    op_begin_restore,
    op_done,
    sp_begin,
)
from zswap_conc.ops.locking import lru_lock_id, swap_cache_lock_id, tree_lock_id, unlock
from zswap_conc.pages import page_verify
from zswap_conc.params import (
    FREE_ALL,
    P_ACCEPT_FRAMES,
    P_ALLOCATOR,
    P_FRAME_DEPTH,
    P_FREE_UNDER_TREE,
    P_LRU,
    P_LRU_LOCK,
    P_PROTOCOL,
    P_WB_ORDER,
    P_WRITEBACK,
    WB_CLAIM_FIRST,
    WB_PIN_FIRST,
)
from zswap_conc.pool import pool_handle_frame
from zswap_conc.strategies import tree_for_key
from zswap_conc.sync import atomic_cas, load_acquire, store_release

WB_LRU_LOCK = 0
WB_PICK = 1
WB_GET_LOCK = 2
WB_GET = 3
WB_CLAIM = 4
WB_RECHECK_LOCK = 5
WB_RECHECK = 6
WB_DECOMPRESS = 7
WB_RESTORE = 8
WB_AFTER_RESTORE = 9
WB_DEV_WRITE = 10
WB_DONE_LOCK = 11
WB_DONE = 12
WB_FINISH = 13
WB_PUT_LOCK = 14
WB_PUT = 15
WB_UNCLAIM = 16
WRITEBACK_STEP_NAMES = (
    "writeback: lru lock", "writeback: pick LRU victim", "writeback: tree_lock (get)", "writeback: search + get",
    "writeback: claim victim slot", "writeback: tree_lock (recheck)", "writeback: recheck",
    "writeback: decompress", "writeback: re-enter store", "writeback: after re-entered store",
    "writeback: write to swap device", "writeback: tree_lock (done)", "writeback: erase + put",
    "writeback: finish", "writeback: tree_lock (put)", "writeback: put, skip victim", "writeback: release, skip victim",
)  # fmt: skip

# F_VICTIM: how the victim's page leaves the pool
VICTIM_DIRECT = 0  # this writeback writes it to the device itself
VICTIM_RESTORED = 1  # it went through a store re-entered by a recursive writeback

# writeback protocols (config.PROTOCOL_NAMES): the race hunter's known-buggy variants
PROTOCOL_CORRECT = 0
PROTOCOL_NO_REFCOUNT = 1  # 2013: -ENOENT at the claim returns without putting the reference
PROTOCOL_NO_RECHECK = 2  # 2023 (before 04fc7816089c): no re-check; erases whatever the tree holds

WB_MAX_TRIES = 8  # victims a writeback skips (busy or gone) before it gives up
WB_FRAME_MAX = 128  # pageframe LRU: objects written back to empty one frame, at most
SHRINK_BATCH = 64  # deferred: pages one shrinker run writes back, at most


@njit(**HOT)
def _end(a, cpu, f) -> int:
    f[F_RESULT] = RES_OK if f[F_WB_COUNT] > 0 else RES_FAIL
    return op_done(a, cpu, f)


@njit(**HOT)
def _retry_then(f) -> int:
    """Skip this victim: the step to go to next, LRU_LOCK, or -1 once WB_MAX_TRIES were skipped."""
    f[F_TRIES] += 1
    f[F_FRAME] = -1
    f[F_PICK] = NIL
    if f[F_TRIES] >= WB_MAX_TRIES:
        f[F_RESULT] = RES_OK if f[F_WB_COUNT] > 0 else RES_FAIL
        return -1
    return WB_LRU_LOCK


@njit(**HOT)
def _retry(a, cpu, f) -> int:
    then = _retry_then(f)
    if then < 0:
        return op_done(a, cpu, f)
    f[F_PC] = then
    return PROGRESS


@njit(**STEP)
def _pick_step(a, cpu, f, cnt) -> int:
    p = a.params
    n = a.nodes
    lru = f[F_LRU]
    lk = lru_lock_id(a, lru)
    alloc = p[P_ALLOCATOR]
    chk_held(a, cpu, lk, W_LRU)
    victim = lru_victim(a.lru_meta, a.pool_meta, a.frame_lru, a.obj_owner, alloc, p[P_LRU], lru, f[F_FRAME])
    if victim == NIL:
        unlock(a, lk, cpu, f[F_PHASE])
        return _end(a, cpu, f)
    if p[P_LRU_LOCK] == LRU_LOCK_ALLOC and n[victim, E_TS] > obj_lru_oldest_ts(a.lru_meta, n, lru):
        cnt[C_LRU_INVERSION] += 1  # both LRUs are kept under this lock: what the object LRU would pick
    if p[P_LRU] == LRU_OBJECT:
        if p[P_LRU_LOCK] == LRU_LOCK_TREE:
            obj_lru_del(a.lru_meta, n, lru, victim)  # 2012: list_del, then pin it
        else:
            obj_lru_rotate(a.lru_meta, n, lru, victim)
    f[F_FRAME] = pool_handle_frame(alloc, n[victim, E_HANDLE])
    key = n[victim, N_KEY]
    f[F_PICK] = victim
    f[F_SLOT] = n[victim, E_SLOT]
    f[F_KEY] = key
    f[F_TREE] = tree_for_key(p, key)
    chk_touch(a, cpu, FP_SLOT + f[F_SLOT])
    if p[P_LRU_LOCK] == LRU_LOCK_TREE:  # the LRU's lock is the tree's: pin it right here
        chk_refcount(a, cpu, victim)
        n[victim, E_REFCOUNT] += 1
        f[F_ENTRY] = victim
        unlock(a, lk, cpu, f[F_PHASE])
        f[F_PC] = WB_CLAIM
        return PROGRESS
    unlock(a, lk, cpu, f[F_PHASE])
    f[F_PC] = WB_CLAIM if p[P_WB_ORDER] == WB_CLAIM_FIRST else WB_GET_LOCK
    return PROGRESS


@njit(**STEP)
def _get_step(a, cpu, f, cnt) -> int:
    p = a.params
    t = f[F_TREE]
    chk_tree(a, cpu, t, True)
    cur = index_search(p, a.roots, a.nodes, a.xa, t, f[F_KEY])
    if cur == NIL or (p[P_WB_ORDER] == WB_PIN_FIRST and cur != f[F_PICK]):
        unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
        cnt[C_WB_GONE] += 1  # invalidated (and maybe reused) since the pick
        return _retry(a, cpu, f)
    chk_refcount(a, cpu, cur)
    a.nodes[cur, E_REFCOUNT] += 1
    f[F_PICK] = cur
    f[F_ENTRY] = cur
    unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
    f[F_PC] = WB_CLAIM
    return PROGRESS


@njit(**STEP)
def _claim_step(a, cpu, f, cnt) -> int:
    p = a.params
    slot = f[F_SLOT]
    chk_touch(a, cpu, FP_SLOT + slot)
    # (the claim-skipped mutant goes on as if the busy bit were its own)
    if not mutant(a, M_CLAIM_SKIPPED) and atomic_cas(a.slots[slot], SL_BUSY, 0, cpu + 1) != 0:
        cnt[C_WB_SLOT_BUSY] += 1  # -EEXIST: the page is in the swap cache already
        if f[F_ENTRY] != NIL:
            f[F_PC] = WB_PUT_LOCK
            return PROGRESS
        return _retry(a, cpu, f)
    if a.slots[slot, SL_LIVE] == 0 and a.slots[slot, SL_ON_DEVICE] == 0:
        # the slot was freed meanwhile: swapcache_prepare() fails with -ENOENT, before the tree
        # is touched (after a swapoff it may be gone: 5878303c5353)
        store_release(a.slots[slot], SL_BUSY, 0)
        if p[P_PROTOCOL] == PROTOCOL_NO_REFCOUNT:
            return _end(a, cpu, f)  # 2013 returned without dropping its reference: entry and object leak
        cnt[C_WB_GONE] += 1
        if f[F_ENTRY] != NIL:
            f[F_PC] = WB_PUT_LOCK
            return PROGRESS
        return _retry(a, cpu, f)
    # neither 3.11 (2013) nor the 2023 bug re-checks: 04fc7816089c added it (6.4)
    skip = p[P_PROTOCOL] != PROTOCOL_CORRECT or (mutant(a, M_RECHECK_REMOVED) and p[P_WB_ORDER] != WB_CLAIM_FIRST)
    after = WB_DECOMPRESS if skip else WB_RECHECK_LOCK
    f[F_PC] = sp_begin(f, swap_cache_lock_id(a, f[F_KEY]), -1, 0, after)
    return PROGRESS


@njit(**STEP)
def _recheck_step(a, cpu, f, cnt) -> int:
    p = a.params
    t = f[F_TREE]
    e = f[F_PICK]
    chk_tree(a, cpu, t, True)
    cur = index_search(p, a.roots, a.nodes, a.xa, t, f[F_KEY])
    if cur == e:
        if p[P_WB_ORDER] == WB_CLAIM_FIRST:  # no refcount: the entry is ours once erased
            chk_slot(a, cpu, f[F_SLOT], W_SLOT)
            entry_erase(a, cpu, t, e)
            f[F_ENTRY] = e
            # the slot's data now lives in the folio we hold, and goes to the device before we let
            # it go: nobody can look in between (the slot is claimed)
            a.slots[f[F_SLOT], SL_LIVE] = 0
            a.slots[f[F_SLOT], SL_ON_DEVICE] = 1
        unlock(a, tree_lock_id(a, t), cpu, f[F_PHASE])
        f[F_PC] = WB_DECOMPRESS
        return PROGRESS
    cnt[C_WB_RECHECK_ABORT] += 1  # invalidated and maybe reused since the pick: write nothing
    then = sp_begin(f, swap_cache_lock_id(a, f[F_KEY]), -1, 0, WB_UNCLAIM)
    if f[F_ENTRY] != NIL:
        entry_put(a, cpu, f, f[F_ENTRY])
        f[F_ENTRY] = NIL
    return cs_end(a, cpu, f, tree_lock_id(a, t), then, p[P_FREE_UNDER_TREE] == FREE_ALL)


@njit(**STEP)
def _decompress_step(a, cpu, f, depth, cnt) -> int:
    p = a.params
    slot = f[F_SLOT]
    e = f[F_ENTRY]
    chk_slot(a, cpu, slot, W_SLOT)
    ok = entry_decompress(a, cpu, e, cnt)
    if not ok or not page_verify(a.corpus, p, f[F_KEY], a.nodes[e, E_VERSION], a.cpu_out[cpu]):
        cnt[C_MISMATCH] += 1  # the entry's own data is damaged (it may be stale: that is legal)
    wb = p[P_WRITEBACK]
    then = WB_DEV_WRITE
    if wb == WRITEBACK_RECURSIVE:
        # swap_writepage -> frontswap_store -> zswap's store again, with the page just decompressed
        if depth >= p[P_FRAME_DEPTH]:
            cnt[C_WB_OVERFLOW] += 1
        else:
            then = WB_RESTORE
    elif wb == WRITEBACK_DENIAL:
        # swap_writepage -> frontswap_store finds the deny bit and refuses: the page goes to disk
        a.slots[slot, SL_DENY] = 1
        cnt[C_WB_DENIED] += 1
    if p[P_WB_ORDER] != WB_CLAIM_FIRST:
        f[F_PC] = then
        return PROGRESS
    entry_put(a, cpu, f, e)  # erased at RECHECK: freed now, after the lock (6.9)
    f[F_ENTRY] = NIL
    return free_then(a, cpu, f, then)


@njit(**STEP)
def _after_restore_step(a, cpu, f, depth, cnt) -> int:
    if a.frames[cpu, depth, F_RESULT] == RES_OK:
        cnt[C_WB_NO_PROGRESS] += 1  # re-compressed into the pool: nothing reclaimed
    else:
        cnt[C_WRITTEN_BACK] += 1  # the re-entered store was rejected and wrote the device
    if a.params[P_WB_ORDER] == WB_CLAIM_FIRST:
        f[F_PC] = sp_begin(f, swap_cache_lock_id(a, f[F_KEY]), -1, 0, WB_FINISH)
    else:
        f[F_PC] = WB_DONE_LOCK
    return PROGRESS


@njit(**STEP)
def _dev_write_step(a, cpu, f, cnt) -> int:
    slot = f[F_SLOT]
    chk_slot(a, cpu, slot, W_DEVICE)
    device_write(a, slot, a.cpu_out[cpu])
    cnt[C_DEV_WRITES] += 1
    if a.params[P_WB_ORDER] == WB_CLAIM_FIRST:
        cnt[C_WRITTEN_BACK] += 1
        f[F_PC] = sp_begin(f, swap_cache_lock_id(a, f[F_KEY]), -1, 0, WB_FINISH)
    else:
        f[F_PC] = WB_DONE_LOCK
    return PROGRESS


@njit(**STEP)
def _done_step(a, cpu, f, cnt) -> int:
    p = a.params
    n = a.nodes
    slot = f[F_SLOT]
    e = f[F_ENTRY]
    t = f[F_TREE]
    chk_tree(a, cpu, t, True)
    chk_slot(a, cpu, slot, W_SLOT)
    cur = index_search(p, a.roots, n, a.xa, t, f[F_KEY])
    if cur == e or (cur != NIL and p[P_PROTOCOL] == PROTOCOL_NO_RECHECK):
        entry_erase(a, cpu, t, cur)
        if cur == e:
            entry_put(a, cpu, f, e)  # the tree's reference
        else:  # 2023 bug: the slot's new entry is dropped and stale data left on the device
            chk_refcount(a, cpu, cur)
            n[cur, E_REFCOUNT] -= 1
        a.slots[slot, SL_LIVE] = 0
        a.slots[slot, SL_ON_DEVICE] = 1
        cnt[C_WRITTEN_BACK] += 1
    elif f[F_VICTIM] == VICTIM_DIRECT:
        cnt[C_WB_RECHECK_ABORT] += 1
    entry_put(a, cpu, f, e)  # ours
    f[F_ENTRY] = NIL  # no reference held from here on
    then = sp_begin(f, swap_cache_lock_id(a, f[F_KEY]), -1, 0, WB_FINISH)
    return cs_end(a, cpu, f, tree_lock_id(a, t), then, p[P_FREE_UNDER_TREE] == FREE_ALL)


@njit(**STEP)
def _put_step(a, cpu, f) -> int:
    """Skip a victim we hold a reference to: put it back where a 2012 flush took it off, drop it."""
    p = a.params
    e = f[F_ENTRY]
    t = f[F_TREE]
    chk_tree(a, cpu, t, True)
    if p[P_LRU_LOCK] == LRU_LOCK_TREE and a.nodes[e, E_STATE] == ENTRY_LIVE and \
            a.nodes[e, E_LRU_PREV] == OFF_LIST:
        obj_lru_add(a.lru_meta, a.nodes, t, e, a.nodes[e, E_TS])
    entry_put(a, cpu, f, e)
    f[F_ENTRY] = NIL
    return cs_end(a, cpu, f, tree_lock_id(a, t), _retry_then(f), p[P_FREE_UNDER_TREE] == FREE_ALL)


@njit(**STEP)
def _finish_step(a, cpu, f, depth) -> int:
    p = a.params
    slot = f[F_SLOT]
    chk_slot(a, cpu, slot, W_SLOT)
    chk_touch(a, cpu, FP_GLOBAL)
    a.slots[slot, SL_DENY] = 0
    store_release(a.slots[slot], SL_BUSY, 0)
    f[F_WB_COUNT] += 1
    f[F_ENTRY] = NIL
    f[F_PICK] = NIL
    f[F_VICTIM] = VICTIM_DIRECT
    f[F_TRIES] = 0
    if p[P_LRU] != LRU_OBJECT and f[F_WB_COUNT] < WB_FRAME_MAX and \
            frame_first_object(a.obj_owner, p[P_ALLOCATOR], f[F_FRAME]) != NIL:
        f[F_PC] = WB_LRU_LOCK  # pageframe LRU: empty the whole frame
        return PROGRESS
    if depth == 1 and p[P_WRITEBACK] == WRITEBACK_DEFERRED and f[F_WB_COUNT] < SHRINK_BATCH and \
            load_acquire(a.ctl[2], G_FRAMES_USED) >= p[P_ACCEPT_FRAMES]:
        f[F_FRAME] = -1
        f[F_PC] = WB_LRU_LOCK  # the shrinker works until the pool is below its accept threshold
        return PROGRESS
    return _end(a, cpu, f)


@njit(**STEP)
def _unclaim_step(a, cpu, f) -> int:
    """RECHECK lost the race: release the slot's page and pick another victim."""
    slot = f[F_SLOT]
    chk_slot(a, cpu, slot, W_SLOT)
    a.slots[slot, SL_DENY] = 0
    store_release(a.slots[slot], SL_BUSY, 0)
    return _retry(a, cpu, f)


@njit(**STEP)
def writeback_step(a, cpu, f, depth) -> int:
    """One step of the writeback in frame ``f`` (``depth`` frames on ``cpu``'s stack)."""
    pc = f[F_PC]
    cnt = a.cnt[f[F_PHASE], cpu]
    if pc == WB_LRU_LOCK:
        if f[F_TRIES] >= WB_MAX_TRIES:
            return _end(a, cpu, f)
        return lock_step(a, cpu, f, lru_lock_id(a, f[F_LRU]), WB_PICK)
    if pc == WB_PICK:
        return _pick_step(a, cpu, f, cnt)
    if pc == WB_GET_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), WB_GET)
    if pc == WB_GET:
        return _get_step(a, cpu, f, cnt)
    if pc == WB_CLAIM:
        return _claim_step(a, cpu, f, cnt)
    if pc == WB_RECHECK_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), WB_RECHECK)
    if pc == WB_RECHECK:
        return _recheck_step(a, cpu, f, cnt)
    if pc == WB_DECOMPRESS:
        return _decompress_step(a, cpu, f, depth, cnt)
    if pc == WB_RESTORE:
        cnt[C_WB_RESTORES] += 1
        f[F_VICTIM] = VICTIM_RESTORED
        f[F_PC] = WB_AFTER_RESTORE
        op_begin_restore(a, cpu, f[F_SLOT], f[F_PHASE])
        return PROGRESS
    if pc == WB_AFTER_RESTORE:
        return _after_restore_step(a, cpu, f, depth, cnt)
    if pc == WB_DEV_WRITE:
        return _dev_write_step(a, cpu, f, cnt)
    if pc == WB_DONE_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), WB_DONE)
    if pc == WB_DONE:
        return _done_step(a, cpu, f, cnt)
    if pc == WB_FINISH:
        return _finish_step(a, cpu, f, depth)
    if pc == WB_PUT_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), WB_PUT)
    if pc == WB_PUT:
        return _put_step(a, cpu, f)
    if pc == WB_UNCLAIM:
        return _unclaim_step(a, cpu, f)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
