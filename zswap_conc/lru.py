"""Reclaim order: a per-object LRU (zswap 2023+) and a per-pageframe LRU (zbud 2013), per pool.

Both lists are always kept, whichever policy picks victims, so a run can measure what the other
policy would have seen: the object LRU's tail is the oldest compressed page, which is how LRU
inversion (a younger page written back while an older one stays) is counted under the pageframe
policy.  An owner map from each object slot to its entry lets the pageframe policy find every
object in a frame, as zbud's eviction found both buddies.

LOCKING: every list, link and owner-map word of pool ``p`` is protected by pool ``p``'s pool_lock.
An entry's LRU columns are written only under that lock; its key (``N_KEY``) never changes for a
given entry row, so a writeback may read it under the pool lock and look the entry up again by key
under the tree_lock, as the kernel's eviction read the swap offset from the object's header.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.index import NIL
from zswap_conc.jit import HOT
from zswap_conc.pool import ALLOC_ZBUD, pool_handle_frame

LRU_OBJECT = 0  # write back the least recently stored object (zswap 2023, f999f38b4e6f)
LRU_PAGEFRAME = 1  # write back every object of the least recently filled frame (zbud 2013)
LRU_POLICIES = {"object": LRU_OBJECT, "pageframe": LRU_PAGEFRAME}

# entry columns owned by the LRU (nodes[e, :]; 0..4 tree, 5..12 entry)
E_LRU_PREV = 13  # older neighbour on the object LRU, NIL at the tail; OFF_LIST when not listed
E_LRU_NEXT = 14  # younger neighbour, NIL at the head
E_TS = 15  # cycle counter when it was stored: its age
OFF_LIST = -2

# pool_meta columns owned by the LRU (the allocator leaves 8..15 free)
PM_OLRU_HEAD = 8  # youngest entry on the object LRU
PM_OLRU_TAIL = 9  # oldest entry
PM_FLRU_HEAD = 10  # frame (or span's first frame) most recently allocated into
PM_FLRU_TAIL = 11  # frame least recently allocated into
PM_OLRU_LEN = 12  # entries on the object LRU
PM_FLRU_LEN = 13  # frames on the frame LRU

# frame_lru[f, :]
FL_PREV = 0  # older neighbour on the frame LRU (toward the tail), NIL at the tail; OFF_LIST off
FL_NEXT = 1  # younger neighbour, NIL at the head

OBJS_PER_FRAME = 128  # owner-map words per frame: a zsmalloc span holds at most 128 objects


def lru_init(pool_meta, frame_lru, nodes) -> None:
    pool_meta[:, PM_OLRU_HEAD:PM_FLRU_TAIL + 1] = NIL
    pool_meta[:, PM_OLRU_LEN:PM_FLRU_LEN + 1] = 0
    frame_lru[:] = OFF_LIST
    nodes[:, E_LRU_PREV:E_LRU_NEXT + 1] = OFF_LIST


@njit(**HOT)
def owner_index(alloc, handle) -> int:
    """The owner-map word of an object."""
    if alloc == ALLOC_ZBUD:
        return handle  # frame * 2 + buddy
    return (handle >> 9) * OBJS_PER_FRAME + (handle & 511)


@njit(**HOT)
def _dl_push(links, prev_col, next_col, pm, pl, head_col, tail_col, len_col, x):
    """Push ``x`` at the head (youngest end) of a doubly linked list kept in ``links``."""
    head = pm[pl, head_col]
    links[x, prev_col] = head
    links[x, next_col] = NIL
    if head != NIL:
        links[head, next_col] = x
    else:
        pm[pl, tail_col] = x
    pm[pl, head_col] = x
    pm[pl, len_col] += 1


@njit(**HOT)
def _dl_unlink(links, prev_col, next_col, pm, pl, head_col, tail_col, len_col, x):
    """Take ``x`` off its list; a no-op if it is on none (prev == OFF_LIST)."""
    if links[x, prev_col] == OFF_LIST:
        return
    p, n = links[x, prev_col], links[x, next_col]
    if p != NIL:
        links[p, next_col] = n
    else:
        pm[pl, tail_col] = n
    if n != NIL:
        links[n, prev_col] = p
    else:
        pm[pl, head_col] = p
    links[x, prev_col] = OFF_LIST
    links[x, next_col] = OFF_LIST
    pm[pl, len_col] -= 1


@njit(**HOT)
def _obj_push(pm, nodes, pl, e):
    _dl_push(nodes, E_LRU_PREV, E_LRU_NEXT, pm, pl, PM_OLRU_HEAD, PM_OLRU_TAIL, PM_OLRU_LEN, e)


@njit(**HOT)
def _obj_unlink(pm, nodes, pl, e):
    _dl_unlink(nodes, E_LRU_PREV, E_LRU_NEXT, pm, pl, PM_OLRU_HEAD, PM_OLRU_TAIL, PM_OLRU_LEN, e)


@njit(**HOT)
def _frame_push(pm, fl, pl, f):
    _dl_push(fl, FL_PREV, FL_NEXT, pm, pl, PM_FLRU_HEAD, PM_FLRU_TAIL, PM_FLRU_LEN, f)


@njit(**HOT)
def _frame_unlink(pm, fl, pl, f):
    _dl_unlink(fl, FL_PREV, FL_NEXT, pm, pl, PM_FLRU_HEAD, PM_FLRU_TAIL, PM_FLRU_LEN, f)


@njit(**HOT)
def lru_add(pm, fl, owner, nodes, alloc, pl, e, handle, now) -> None:
    """A new object (pool_lock held): youngest on the object LRU; its frame moves to the frame
    LRU's head, as zbud_alloc did."""
    nodes[e, E_TS] = now
    _obj_push(pm, nodes, pl, e)
    f = pool_handle_frame(alloc, handle)
    _frame_unlink(pm, fl, pl, f)
    _frame_push(pm, fl, pl, f)
    owner[owner_index(alloc, handle)] = e + 1


@njit(**HOT)
def lru_del(pm, fl, owner, nodes, alloc, pl, e, handle, frame_freed) -> None:
    """An object freed (pool_lock held); ``frame_freed``: its frame went back to the pool."""
    _obj_unlink(pm, nodes, pl, e)
    owner[owner_index(alloc, handle)] = 0
    if frame_freed:
        _frame_unlink(pm, fl, pl, pool_handle_frame(alloc, handle))


@njit(**HOT)
def lru_rotate(pm, nodes, pl, e) -> None:
    """Move a picked victim to the head, so a concurrent reclaimer picks another (zswap 2023)."""
    if nodes[e, E_LRU_PREV] != OFF_LIST:
        _obj_unlink(pm, nodes, pl, e)
        _obj_push(pm, nodes, pl, e)


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
def lru_victim(pm, fl, owner, nodes, alloc, policy, pl, frame_hint) -> int:
    """The next entry to write back (pool_lock held), or NIL if the pool holds none.

    pageframe: an object of ``frame_hint`` if it still has one (finish the frame being
    evicted), else of the frame LRU's tail."""
    if policy == LRU_OBJECT:
        return pm[pl, PM_OLRU_TAIL]
    if frame_hint >= 0:
        e = frame_first_object(owner, alloc, frame_hint)
        if e != NIL:
            return e
    f = pm[pl, PM_FLRU_TAIL]
    if f == NIL:
        return NIL
    return frame_first_object(owner, alloc, f)


@njit(**HOT)
def lru_oldest_ts(pm, nodes, pl) -> int:
    t = pm[pl, PM_OLRU_TAIL]
    return nodes[t, E_TS] if t != NIL else -1


@njit(cache=True)
def lru_check(pm, fl, owner, nodes, alloc, pl) -> int:
    """0 if both lists are sound doubly linked lists of the advertised length, else negative."""
    n, prev, e = 0, NIL, pm[pl, PM_OLRU_TAIL]
    while e != NIL:
        if nodes[e, E_LRU_PREV] != prev or n > nodes.shape[0]:
            return -1
        prev, e = e, nodes[e, E_LRU_NEXT]
        n += 1
    if prev != pm[pl, PM_OLRU_HEAD] or n != pm[pl, PM_OLRU_LEN]:
        return -2
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
