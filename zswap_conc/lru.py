"""Reclaim order: object LRUs of entries, and the allocator's per-pageframe LRU.

An object LRU (``lru_meta[l]``) lists entries in store order; which lock protects it, and so how
many there are, is the kernel release's choice (``lru_lock``):
  tree    one per tree, under its tree_lock (2012: ``tree->lru``)
  alloc   one per pool, inside the allocator under its pool lock (zbud 2013, zsmalloc 6.2)
  own     one for the whole pool, under its own lru_lock (zswap 6.5+: pool->lru_lock, list_lru)
The pageframe LRU (``pool_meta`` columns, ``frame_lru``) is the allocator's own (zbud's page LRU,
zsmalloc's zspage LRU) and exists only with ``alloc``; so does the owner map from each object slot
to its entry, which lets the pageframe policy find every object in a frame, as zbud's eviction
found both buddies.  With ``alloc`` both lists are kept under the same pool lock, so a run can
measure what the other policy would have seen: the object LRU's tail is the oldest compressed page,
which is how LRU inversion (a younger page written back while an older one stays) is counted under
the pageframe policy.

LOCKING: ``lru_meta[l]`` and the LRU columns of its entries: the lock above.  ``frame_lru``,
``obj_owner`` and the frame-LRU columns of ``pool_meta[p]``: pool p's lock.  An entry row's key
(``N_KEY``) and slot never change, so a writeback may read them under the LRU's lock and look the
entry up again under the tree_lock.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.index import NIL
from zswap_conc.jit import HOT
from zswap_conc.pool import ALLOC_ZBUD, pool_handle_frame

LRU_OBJECT = 0  # write back the least recently stored object (zswap 2023, f999f38b4e6f)
LRU_PAGEFRAME = 1  # write back every object of the least recently filled frame (zbud 2013)
LRU_POLICIES = {"object": LRU_OBJECT, "pageframe": LRU_PAGEFRAME}

LRU_LOCK_TREE = 0  # per tree, under tree_lock
LRU_LOCK_ALLOC = 1  # per pool, under its pool lock
LRU_LOCK_OWN = 2  # one LRU, under lru_lock
LRU_LOCKS = {"tree": LRU_LOCK_TREE, "alloc": LRU_LOCK_ALLOC, "own": LRU_LOCK_OWN}

# entry columns owned by the LRU (nodes[e, :]; 0..4 tree, 5..12 entry)
E_LRU_PREV = 13  # older neighbour on the object LRU, NIL at the tail; OFF_LIST when not listed
E_LRU_NEXT = 14  # younger neighbour, NIL at the head
E_TS = 15  # cycle counter when it was stored: its age
OFF_LIST = -2

# lru_meta[l, :]: one object LRU
LM_HEAD = 0  # youngest entry
LM_TAIL = 1  # oldest entry
LM_LEN = 2  # entries listed
LM_WIDTH = 8  # one LRU per cache line

# pool_meta columns owned by the frame LRU (the allocator leaves 8..13 free)
PM_FLRU_HEAD = 10  # frame (or span's first frame) most recently allocated into
PM_FLRU_TAIL = 11  # frame least recently allocated into
PM_FLRU_LEN = 13  # frames on the frame LRU

# frame_lru[f, :]
FL_PREV = 0  # older neighbour on the frame LRU (toward the tail), NIL at the tail; OFF_LIST off
FL_NEXT = 1  # younger neighbour, NIL at the head

OBJS_PER_FRAME = 128  # owner-map words per frame: a zsmalloc span holds at most 128 objects


def lru_init(lru_meta, pool_meta, frame_lru, nodes) -> None:
    lru_meta[:, LM_HEAD] = NIL
    lru_meta[:, LM_TAIL] = NIL
    lru_meta[:, LM_LEN] = 0
    pool_meta[:, PM_FLRU_HEAD] = NIL
    pool_meta[:, PM_FLRU_TAIL] = NIL
    pool_meta[:, PM_FLRU_LEN] = 0
    frame_lru[:] = OFF_LIST
    nodes[:, E_LRU_PREV:E_LRU_NEXT + 1] = OFF_LIST


@njit(**HOT)
def owner_index(alloc, handle) -> int:
    """The owner-map word of an object."""
    if alloc == ALLOC_ZBUD:
        return handle  # frame * 2 + buddy
    return (handle >> 9) * OBJS_PER_FRAME + (handle & 511)


@njit(**HOT)
def _dl_push(links, prev_col, next_col, meta, row, head_col, tail_col, len_col, x):
    """Push ``x`` at the head (youngest end) of a doubly linked list kept in ``links``."""
    head = meta[row, head_col]
    links[x, prev_col] = head
    links[x, next_col] = NIL
    if head != NIL:
        links[head, next_col] = x
    else:
        meta[row, tail_col] = x
    meta[row, head_col] = x
    meta[row, len_col] += 1


@njit(**HOT)
def _dl_unlink(links, prev_col, next_col, meta, row, head_col, tail_col, len_col, x):
    """Take ``x`` off its list; a no-op if it is on none (prev == OFF_LIST)."""
    if links[x, prev_col] == OFF_LIST:
        return
    p, n = links[x, prev_col], links[x, next_col]
    if p != NIL:
        links[p, next_col] = n
    else:
        meta[row, tail_col] = n
    if n != NIL:
        links[n, prev_col] = p
    else:
        meta[row, head_col] = p
    links[x, prev_col] = OFF_LIST
    links[x, next_col] = OFF_LIST
    meta[row, len_col] -= 1


@njit(**HOT)
def obj_lru_add(lm, nodes, lru, e, now) -> None:
    """Entry ``e`` becomes the youngest on object LRU ``lru`` (its lock held)."""
    nodes[e, E_TS] = now
    _dl_push(nodes, E_LRU_PREV, E_LRU_NEXT, lm, lru, LM_HEAD, LM_TAIL, LM_LEN, e)


@njit(**HOT)
def obj_lru_del(lm, nodes, lru, e) -> None:
    """Take ``e`` off object LRU ``lru`` (its lock held); a no-op if it is on none."""
    _dl_unlink(nodes, E_LRU_PREV, E_LRU_NEXT, lm, lru, LM_HEAD, LM_TAIL, LM_LEN, e)


@njit(**HOT)
def obj_lru_rotate(lm, nodes, lru, e) -> None:
    """Move a picked victim to the head, so a concurrent reclaimer picks another (zswap 2023)."""
    if nodes[e, E_LRU_PREV] != OFF_LIST:
        obj_lru_del(lm, nodes, lru, e)
        _dl_push(nodes, E_LRU_PREV, E_LRU_NEXT, lm, lru, LM_HEAD, LM_TAIL, LM_LEN, e)


@njit(**HOT)
def obj_lru_oldest_ts(lm, nodes, lru) -> int:
    t = lm[lru, LM_TAIL]
    return nodes[t, E_TS] if t != NIL else -1


@njit(**HOT)
def frame_lru_add(pm, fl, owner, alloc, pl, e, handle) -> None:
    """A new object (pool_lock held): its frame moves to the frame LRU's head, as zbud_alloc did."""
    f = pool_handle_frame(alloc, handle)
    _dl_unlink(fl, FL_PREV, FL_NEXT, pm, pl, PM_FLRU_HEAD, PM_FLRU_TAIL, PM_FLRU_LEN, f)
    _dl_push(fl, FL_PREV, FL_NEXT, pm, pl, PM_FLRU_HEAD, PM_FLRU_TAIL, PM_FLRU_LEN, f)
    owner[owner_index(alloc, handle)] = e + 1


@njit(**HOT)
def frame_lru_del(pm, fl, owner, alloc, pl, handle, frame_freed) -> None:
    """An object freed (pool_lock held); ``frame_freed``: its frame went back to the pool."""
    owner[owner_index(alloc, handle)] = 0
    if frame_freed:
        _dl_unlink(fl, FL_PREV, FL_NEXT, pm, pl, PM_FLRU_HEAD, PM_FLRU_TAIL, PM_FLRU_LEN,
                   pool_handle_frame(alloc, handle))


@njit(**HOT)
def frame_first_object(owner, alloc, f) -> int:
    """Any live object's entry in frame (or span) ``f``, or NIL."""
    n = 2 if alloc == ALLOC_ZBUD else OBJS_PER_FRAME
    base = f * 2 if alloc == ALLOC_ZBUD else f * OBJS_PER_FRAME
    for i in range(n):
        if owner[base + i] != 0:
            return owner[base + i] - 1
    return NIL


@njit(**HOT)
def lru_victim(lm, pm, fl, owner, alloc, policy, lru, frame_hint) -> int:
    """The next entry to write back from LRU ``lru`` (its lock held), or NIL if it holds none.

    pageframe (``lru`` is then the pool): an object of ``frame_hint`` if it still has one (finish
    the frame being evicted), else of the frame LRU's tail."""
    if policy == LRU_OBJECT:
        return lm[lru, LM_TAIL]
    if frame_hint >= 0:
        e = frame_first_object(owner, alloc, frame_hint)
        if e != NIL:
            return e
    f = pm[lru, PM_FLRU_TAIL]
    if f == NIL:
        return NIL
    return frame_first_object(owner, alloc, f)


@njit(cache=True)
def lru_check(lm, nodes, lru) -> int:
    """0 if object LRU ``lru`` is a sound doubly linked list of the advertised length, else < 0."""
    n, prev, e = 0, NIL, lm[lru, LM_TAIL]
    while e != NIL:
        if nodes[e, E_LRU_PREV] != prev or n > nodes.shape[0]:
            return -1
        prev, e = e, nodes[e, E_LRU_NEXT]
        n += 1
    if prev != lm[lru, LM_HEAD] or n != lm[lru, LM_LEN]:
        return -2
    return 0


@njit(cache=True)
def frame_lru_check(pm, fl, owner, alloc, pl) -> int:
    """0 if pool ``pl``'s frame LRU is sound and lists only frames holding objects, else < 0."""
    n, prev, f = 0, NIL, pm[pl, PM_FLRU_TAIL]
    while f != NIL:
        if fl[f, FL_PREV] != prev or n > fl.shape[0]:
            return -3
        if frame_first_object(owner, alloc, f) == NIL:
            return -4  # an empty frame still listed
        prev, f = f, fl[f, FL_NEXT]
        n += 1
    if prev != pm[pl, PM_FLRU_HEAD] or n != pm[pl, PM_FLRU_LEN]:
        return -5
    return 0
