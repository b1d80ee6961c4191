"""writeback: move one victim (or, with the pageframe LRU, one frame's objects) from the pool to the
swap device (zswap_writeback_entry; zswap_flush_entry in 2012).

Steps of the correct protocol:

  LOCK           pool_lock (after WB_MAX_TRIES skipped victims: give up)
  PICK           the victim by LRU policy (object LRU: rotate it to the head), read its key, unlock
  CLAIM          claim the victim slot's busy bit (the kernel's swap-cache page); busy -> skip it
  TREE_LOCK      tree_lock
  SEARCH         tree_search by key, get a reference, unlock; gone -> release the slot, skip it
  DECOMPRESS     decompress the entry into a page, then by --writeback:
                   recursive   re-enter store with the page (the 2012 bug) -> AFTER_RESTORE
                   denial-map  set the slot's deny bit (zcache): the re-store refuses -> DEV_WRITE
                   direct, deferred   __swap_writepage -> DEV_WRITE
  AFTER_RESTORE  count what the re-entered store did -> RECHECK_LOCK
  DEV_WRITE      write the page to the swap device
  RECHECK_LOCK   tree_lock
  RECHECK        the tree still holds *this* entry (04fc7816089c)? erase it, put the tree's
                 reference; else count an abort.  Put ours, unlock -> the free steps if last
  FINISH         release the slot; the pageframe LRU goes on with the frame's next object, the
                 deferred shrinker until the pool is below its accept threshold

The known-buggy protocols (PROTOCOL_*) are the kernel's earlier step orders, kept for the race
hunter: they look the entry up (TREE_LOCK, SEARCH) before they CLAIM the slot.

LOCKING: pool_lock for PICK; tree_lock for SEARCH and RECHECK; never nested.  The victim's key is
read under the pool_lock (an entry row's key never changes while it is on the LRU); everything
else is read again under the tree_lock after the slot is claimed.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import (
    FRAME_DEPTH,
    G_FRAMES_USED,
    SL_BUSY,
    SL_DENY,
    SL_LIVE,
    SL_ON_DEVICE,
    WRITEBACK_DEFERRED,
    WRITEBACK_DENIAL,
    WRITEBACK_RECURSIVE,
)
from zswap_conc.index import N_KEY, NIL, tree_erase, tree_search
from zswap_conc.jit import STEP
from zswap_conc.lru import E_TS, LRU_OBJECT, frame_first_object, lru_oldest_ts, lru_rotate, lru_victim
from zswap_conc.ops.counters import (
    C_DEV_WRITES,
    C_LRU_INVERSION,
    C_MISMATCH,
    C_WB_DENIED,
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
    ENTRY_DEAD,
    device_write,
    entry_decompress,
    entry_put,
)
from zswap_conc.ops.frame import (
    BLOCKED,
    F_AFTER_FREE,
    F_ENTRY,
    F_FRAME,
    F_KEY,
    F_PC,
    F_PHASE,
    F_POOL,
    F_RESTORE,
    F_RESULT,
    F_SLOT,
    F_TREE,
    F_TRIES,
    F_VICTIM,
    F_WB_COUNT,
    OP_STORE,
    PROGRESS,
    RES_FAIL,
    RES_OK,
    op_begin,
    op_done,
)
from zswap_conc.ops.locking import lock_step, pool_lock_id, tree_lock_id, unlock
from zswap_conc.pages import page_verify
from zswap_conc.params import P_ACCEPT_FRAMES, P_ALLOCATOR, P_LRU, P_PROTOCOL, P_WRITEBACK
from zswap_conc.pool import pool_handle_frame
from zswap_conc.strategies import tree_for_key
from zswap_conc.sync import atomic_cas, load_acquire, store_release

WB_LOCK = 0
WB_PICK = 1
WB_CLAIM = 2
WB_TREE_LOCK = 3
WB_SEARCH = 4
WB_DECOMPRESS = 5
WB_AFTER_RESTORE = 6
WB_DEV_WRITE = 7
WB_RECHECK_LOCK = 8
WB_RECHECK = 9
WB_FINISH = 10
WRITEBACK_STEP_NAMES = (
    "writeback: pool_lock", "writeback: pick LRU victim", "writeback: claim victim slot", "writeback: tree_lock",
    "writeback: search + get", "writeback: decompress", "writeback: after re-entered store",
    "writeback: write to swap device", "writeback: tree_lock (recheck)", "writeback: recheck + erase",
    "writeback: finish",
)  # fmt: skip

# F_VICTIM: how the victim's page leaves the pool
VICTIM_DIRECT = 0  # this writeback writes it to the device itself
VICTIM_RESTORED = 1  # it went through a store re-entered by a recursive writeback
VICTIM_GIVE_UP = 2  # buggy protocols: our own store holds its slot; drop the reference, pick another

# writeback protocols (config.PROTOCOL_NAMES): the race hunter's known-buggy variants
PROTOCOL_CORRECT = 0  # claim the slot, then look the entry up; re-check before erasing
PROTOCOL_NO_REFCOUNT = 1  # 2013: entry looked up first; -ENOENT at the claim returns without a put
PROTOCOL_NO_RECHECK = 2  # 2023 (before 04fc7816089c): no re-check; erases whatever the tree holds

WB_MAX_TRIES = 8  # victims a writeback skips (busy or gone) before it gives up
WB_FRAME_MAX = 128  # pageframe LRU: objects written back to empty one frame, at most
SHRINK_BATCH = 64  # deferred: pages one shrinker run writes back, at most


@njit(**STEP)
def _end(a, cpu, f) -> int:
    f[F_RESULT] = RES_OK if f[F_WB_COUNT] > 0 else RES_FAIL
    return op_done(a, cpu, f)


@njit(**STEP)
def _retry(a, cpu, f) -> int:
    """Skip this victim: pick another, unless WB_MAX_TRIES were skipped already."""
    f[F_TRIES] += 1
    if f[F_TRIES] >= WB_MAX_TRIES:
        return _end(a, cpu, f)
    f[F_FRAME] = -1
    f[F_PC] = WB_LOCK
    return PROGRESS


@njit(**STEP)
def _pick_step(a, cpu, f, cnt) -> int:
    n = a.nodes
    p = a.params
    pl = f[F_POOL]
    alloc = p[P_ALLOCATOR]
    victim = lru_victim(a.pool_meta, a.frame_lru, a.obj_owner, n, alloc, p[P_LRU], pl, f[F_FRAME])
    if victim == NIL:
        unlock(a, pool_lock_id(a, pl), cpu, f[F_PHASE])
        return _end(a, cpu, f)
    if n[victim, E_TS] > lru_oldest_ts(a.pool_meta, n, pl):
        cnt[C_LRU_INVERSION] += 1
    if p[P_LRU] == LRU_OBJECT:
        lru_rotate(a.pool_meta, n, pl, victim)
    f[F_FRAME] = pool_handle_frame(alloc, n[victim, E_HANDLE])
    key = n[victim, N_KEY]
    f[F_SLOT] = n[victim, E_SLOT]
    unlock(a, pool_lock_id(a, pl), cpu, f[F_PHASE])
    f[F_KEY] = key
    f[F_TREE] = tree_for_key(p, key)
    # the kernel before 2024 took its reference first and secured the swap-cache page after
    f[F_PC] = WB_CLAIM if p[P_PROTOCOL] == PROTOCOL_CORRECT else WB_TREE_LOCK
    return PROGRESS


@njit(**STEP)
def _claim_step(a, cpu, f, cnt) -> int:
    slot = f[F_SLOT]
    protocol = a.params[P_PROTOCOL]
    if atomic_cas(a.slots[slot], SL_BUSY, 0, cpu + 1) != 0:
        if protocol != PROTOCOL_CORRECT:
            if a.slots[slot, SL_BUSY] == cpu + 1:
                # our own store holds the page (-EEXIST): drop the reference, try another victim
                f[F_VICTIM] = VICTIM_GIVE_UP
                f[F_PC] = WB_RECHECK_LOCK
                return PROGRESS
            return BLOCKED  # holding a reference: wait for the swap-cache page
        cnt[C_WB_SLOT_BUSY] += 1
        return _retry(a, cpu, f)
    if protocol == PROTOCOL_CORRECT:
        f[F_PC] = WB_TREE_LOCK
        return PROGRESS
    if protocol == PROTOCOL_NO_REFCOUNT and a.slots[slot, SL_LIVE] == 0 and a.slots[slot, SL_ON_DEVICE] == 0:
        # the slot was freed meanwhile: swapcache_prepare() -ENOENT; 2013 returned without
        # dropping its reference, so the entry and its object leak
        store_release(a.slots[slot], SL_BUSY, 0)
        return _end(a, cpu, f)
    f[F_PC] = WB_DECOMPRESS
    return PROGRESS


@njit(**STEP)
def _search_step(a, cpu, f) -> int:
    correct = a.params[P_PROTOCOL] == PROTOCOL_CORRECT
    e = tree_search(a.roots, a.nodes, f[F_TREE], f[F_KEY])
    if e == NIL:  # invalidated between the pick and the claim
        unlock(a, tree_lock_id(a, f[F_TREE]), cpu, f[F_PHASE])
        if correct:
            store_release(a.slots[f[F_SLOT]], SL_BUSY, 0)
        return _retry(a, cpu, f)
    a.nodes[e, E_REFCOUNT] += 1
    unlock(a, tree_lock_id(a, f[F_TREE]), cpu, f[F_PHASE])
    f[F_ENTRY] = e
    f[F_PC] = WB_DECOMPRESS if correct else WB_CLAIM
    return PROGRESS


@njit(**STEP)
def _decompress_step(a, cpu, f, depth, cnt) -> int:
    slot = f[F_SLOT]
    e = f[F_ENTRY]
    ok = entry_decompress(a, cpu, e, cnt)
    if not ok or not page_verify(a.corpus, a.params, f[F_KEY], a.nodes[e, E_VERSION], a.cpu_out[cpu]):
        cnt[C_MISMATCH] += 1  # the entry's own data is damaged (it may be stale: that is legal)
    wb = a.params[P_WRITEBACK]
    if wb == WRITEBACK_RECURSIVE:
        # swap_writepage -> frontswap_store -> zswap's store again, with the page just decompressed
        if depth >= FRAME_DEPTH:
            cnt[C_WB_OVERFLOW] += 1
            f[F_PC] = WB_DEV_WRITE
            return PROGRESS
        cnt[C_WB_RESTORES] += 1
        f[F_VICTIM] = VICTIM_RESTORED
        f[F_PC] = WB_AFTER_RESTORE
        op_begin(a, cpu, OP_STORE, slot, f[F_PHASE])
        a.frames[cpu, depth, F_RESTORE] = 1
        return PROGRESS
    if wb == WRITEBACK_DENIAL:
        # swap_writepage -> frontswap_store finds the deny bit and refuses: the page goes to disk
        a.slots[slot, SL_DENY] = 1
        cnt[C_WB_DENIED] += 1
    f[F_PC] = WB_DEV_WRITE
    return PROGRESS


@njit(**STEP)
def _after_restore_step(a, cpu, f, depth, cnt) -> int:
    if a.frames[cpu, depth, F_RESULT] == RES_OK:
        cnt[C_WB_NO_PROGRESS] += 1  # re-compressed into the pool: nothing reclaimed
    else:
        cnt[C_WRITTEN_BACK] += 1  # the re-entered store was rejected and wrote the device
    f[F_PC] = WB_RECHECK_LOCK
    return PROGRESS


@njit(**STEP)
def _dev_write_step(a, cpu, f, cnt) -> int:
    device_write(a, f[F_SLOT], a.cpu_out[cpu])
    cnt[C_DEV_WRITES] += 1
    f[F_PC] = WB_RECHECK_LOCK
    return PROGRESS


@njit(**STEP)
def _put_ours_and_unlock(a, cpu, f, then) -> int:
    """Put this writeback's reference (tree_lock held) and unlock; on to ``then``, through the free
    steps if it was the last reference."""
    nxt = entry_put(a, f, f[F_ENTRY])
    f[F_ENTRY] = NIL  # no reference held from here on
    unlock(a, tree_lock_id(a, f[F_TREE]), cpu, f[F_PHASE])
    f[F_AFTER_FREE] = then
    f[F_PC] = nxt if nxt >= 0 else then
    return PROGRESS


@njit(**STEP)
def _give_up_step(a, cpu, f) -> int:
    """RECHECK of a buggy protocol giving up a victim it holds a reference to."""
    f[F_VICTIM] = VICTIM_DIRECT
    f[F_TRIES] += 1
    return _put_ours_and_unlock(a, cpu, f, WB_LOCK)


@njit(**STEP)
def _recheck_step(a, cpu, f, cnt) -> int:
    n = a.nodes
    slot = f[F_SLOT]
    e = f[F_ENTRY]
    t = f[F_TREE]
    cur = tree_search(a.roots, n, t, f[F_KEY])
    if cur == e or (cur != NIL and a.params[P_PROTOCOL] == PROTOCOL_NO_RECHECK):
        tree_erase(a.roots, n, t, cur)
        n[cur, E_STATE] = ENTRY_DEAD
        if cur == e:
            entry_put(a, f, e)  # the tree's reference
        else:  # 2023 bug: the slot's new entry is dropped and stale data left on the device
            n[cur, E_REFCOUNT] -= 1
        a.slots[slot, SL_LIVE] = 0
        a.slots[slot, SL_ON_DEVICE] = 1
        cnt[C_WRITTEN_BACK] += 1
    elif f[F_VICTIM] == VICTIM_DIRECT:
        cnt[C_WB_RECHECK_ABORT] += 1
    return _put_ours_and_unlock(a, cpu, f, WB_FINISH)


@njit(**STEP)
def _finish_step(a, cpu, f, depth) -> int:
    p = a.params
    slot = f[F_SLOT]
    a.slots[slot, SL_DENY] = 0
    store_release(a.slots[slot], SL_BUSY, 0)
    f[F_WB_COUNT] += 1
    f[F_AFTER_FREE] = -1
    f[F_ENTRY] = NIL
    f[F_VICTIM] = VICTIM_DIRECT
    f[F_TRIES] = 0
    if p[P_LRU] != LRU_OBJECT and f[F_WB_COUNT] < WB_FRAME_MAX and \
            frame_first_object(a.obj_owner, p[P_ALLOCATOR], f[F_FRAME]) != NIL:
        f[F_PC] = WB_LOCK  # pageframe LRU: empty the whole frame
        return PROGRESS
    if depth == 1 and p[P_WRITEBACK] == WRITEBACK_DEFERRED and f[F_WB_COUNT] < SHRINK_BATCH and \
            load_acquire(a.ctl[2], G_FRAMES_USED) >= p[P_ACCEPT_FRAMES]:
        f[F_FRAME] = -1
        f[F_PC] = WB_LOCK  # the shrinker works until the pool is below its accept threshold
        return PROGRESS
    return _end(a, cpu, f)


@njit(**STEP)
def writeback_step(a, cpu, f, depth) -> int:
    """One step of the writeback in frame ``f`` (``depth`` frames on ``cpu``'s stack)."""
    pc = f[F_PC]
    cnt = a.cnt[f[F_PHASE], cpu]
    if pc == WB_LOCK:
        if f[F_TRIES] >= WB_MAX_TRIES:
            return _end(a, cpu, f)
        return lock_step(a, cpu, f, pool_lock_id(a, f[F_POOL]), WB_PICK)
    if pc == WB_PICK:
        return _pick_step(a, cpu, f, cnt)
    if pc == WB_CLAIM:
        return _claim_step(a, cpu, f, cnt)
    if pc == WB_TREE_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), WB_SEARCH)
    if pc == WB_SEARCH:
        return _search_step(a, cpu, f)
    if pc == WB_DECOMPRESS:
        return _decompress_step(a, cpu, f, depth, cnt)
    if pc == WB_AFTER_RESTORE:
        return _after_restore_step(a, cpu, f, depth, cnt)
    if pc == WB_DEV_WRITE:
        return _dev_write_step(a, cpu, f, cnt)
    if pc == WB_RECHECK_LOCK:
        return lock_step(a, cpu, f, tree_lock_id(a, f[F_TREE]), WB_RECHECK)
    if pc == WB_RECHECK:
        if f[F_VICTIM] == VICTIM_GIVE_UP:
            return _give_up_step(a, cpu, f)
        return _recheck_step(a, cpu, f, cnt)
    if pc == WB_FINISH:
        return _finish_step(a, cpu, f, depth)
    return op_done(a, cpu, f)  # unreachable: an unknown step ends the operation
