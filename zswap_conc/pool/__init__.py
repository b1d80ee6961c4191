"""Compressed-object pools over shared-memory frames: the zpool layer, with zbud and zsmalloc.

Every pool (a "pool shard") owns the frames ``[p*fpp, (p+1)*fpp)`` of the shared arrays and keeps
its free frames on a lock-free stack (the page allocator's part: it takes no pool lock).  The
allocator is picked at run time by an int id so one compiled caller serves both.  Nothing here
takes a lock: the caller holds the lock that covers what it changes (see LOCKING); object reads and
writes need only the handle.

Arrays (all int64 but ``data``):
  ``pool_meta[p, PM_*]``    per-pool header, columns below.
  ``pool_heads[p, i]``      list heads (zbud: unbuddied[free chunks]; zsmalloc: spans of class i
                            with a free object), -1 when empty.
  ``frame_meta[f, *]``      per-frame metadata; columns 2 and 3 are list links for both allocators,
                            the others are defined in ``zbud.py`` / ``zsmalloc.py``.  A free frame
                            has an all-zero row.
  ``frame_free[f]``         the next free frame after f on its pool's free stack (-1 at the bottom).
  ``data``                  uint8, the frames' bytes: frame f is ``data[f*4096:(f+1)*4096]``.

LOCKING
  pool_heads[p], frame_meta of pool p's frames   zbud: pool p's lock.  zsmalloc: the lock of the
                            size class (``alloc_lock`` class: zsmalloc's class->lock) or of the pool
                            (``pool``: its pool->lock, 6.2-6.10); a span belongs to one class.
  PM_FREE_HEAD, frame_free  lock-free: a tagged compare-and-swap stack
  PM_FRAMES_USED, PM_FREE_COUNT, PM_OBJECTS, PM_BYTES, PM_ALLOC_FAILS   atomics (the kernel's
                            atomic pages_allocated), so class locks need no pool-wide lock
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.jit import HOT
from zswap_conc.sync import atomic_cas, fetch_add, load_acquire

ALLOC_ZBUD = 0
ALLOC_ZSMALLOC = 1
ALLOCATORS = {"zbud": ALLOC_ZBUD, "zsmalloc": ALLOC_ZSMALLOC}
ALLOC_LOCK_POOL = 0  # one lock per pool (zbud; zsmalloc's pool->lock, 6.2-6.10)
ALLOC_LOCK_CLASS = 1  # one per size class (zsmalloc's class->lock, before 6.2 and from 6.11)
ALLOC_LOCKS = {"pool": ALLOC_LOCK_POOL, "class": ALLOC_LOCK_CLASS}

FRAME_SHIFT = 12
FRAME_SIZE = 1 << FRAME_SHIFT

# pool_meta columns
PM_FRAMES_USED = 0  # frames not on the free stack; pool_total_size = this * FRAME_SIZE
PM_OBJECTS = 1  # live objects
PM_BYTES = 2  # sum of live objects' sizes as requested (not rounded to chunk/class)
PM_FREE_COUNT = 3  # frames on the free stack
PM_FIRST_FRAME = 4  # first frame this pool owns
PM_NFRAMES = 5  # number of frames this pool owns
PM_ALLOC = 6  # allocator id the pool was initialised for
PM_ALLOC_FAILS = 7  # pool_alloc calls refused for want of free frames
PM_FREE_HEAD = 14  # free stack's top: (tag << 32) | (frame + 1), 0 when empty; the tag defeats ABA
PM_NCOLS = 16
FREE_TAG = 1 << 32

# frame_meta list-link columns, shared so one list implementation serves both allocators
FM_PREV = 2  # previous frame/span on the same list, -1 at the head
FM_NEXT = 3  # next frame/span on the same list, -1 at the tail
FM_NCOLS = 16

NHEADS = 256

# pool_check results
CHECK_OK = 0
CHECK_HEADER = -1  # PM_FIRST_FRAME/PM_NFRAMES/PM_ALLOC disagree with the pool id or allocator
CHECK_FREE_STACK = -2  # free stack depth out of range, or an entry outside the pool or repeated
CHECK_FRAMES_USED = -3  # PM_FRAMES_USED != frames owned - frames on the free stack
CHECK_FREE_DIRTY = -4  # a frame on the free stack has metadata (free and in use at once)
CHECK_LIST = -5  # list links broken: out of range, prev/next mismatch, cycle, frame listed twice
CHECK_LIST_STATE = -6  # a listed frame/span does not belong on that list (free count/class/full)
CHECK_UNLISTED = -7  # a frame/span with room for an object is on no list
CHECK_FRAME_STATE = -8  # impossible in-use frame: no object, oversize, in no span or in two spans
CHECK_OBJECTS = -9  # object counts disagree with PM_OBJECTS, or PM_BYTES out of its bounds
CHECK_BITMAP = -10  # zsmalloc free bitmap disagrees with the span's in-use count/capacity


# ---------------------------------------------------------------------------------------------
# Free-frame stack and frame lists, shared by the allocators


@njit(**HOT)
def free_stack_pop(pool_meta, frame_free, p):
    """Take a free frame of pool ``p`` (counted as used), or -1 when none is left."""
    pm = pool_meta[p]
    while True:
        old = load_acquire(pm, PM_FREE_HEAD)
        f = (old & (FREE_TAG - 1)) - 1
        if f < 0:
            return -1
        nxt = frame_free[f]
        new = ((old >> 32) + 1) * FREE_TAG + nxt + 1
        if atomic_cas(pm, PM_FREE_HEAD, old, new) == old:
            fetch_add(pm, PM_FREE_COUNT, -1)
            fetch_add(pm, PM_FRAMES_USED, 1)
            return f


@njit(**HOT)
def free_stack_push(pool_meta, frame_meta, frame_free, p, f):
    """Give frame ``f`` back to pool ``p``; its metadata row is cleared."""
    frame_meta[f, :] = 0
    pm = pool_meta[p]
    while True:
        old = load_acquire(pm, PM_FREE_HEAD)
        frame_free[f] = (old & (FREE_TAG - 1)) - 1
        if atomic_cas(pm, PM_FREE_HEAD, old, ((old >> 32) + 1) * FREE_TAG + f + 1) == old:
            fetch_add(pm, PM_FREE_COUNT, 1)
            fetch_add(pm, PM_FRAMES_USED, -1)
            return


@njit(**HOT)
def frame_list_add(pool_heads, frame_meta, p, lst, f):
    """Push ``f`` at the head of list ``lst`` of pool ``p`` (the kernel's list_add)."""
    head = pool_heads[p, lst]
    frame_meta[f, FM_PREV] = -1
    frame_meta[f, FM_NEXT] = head
    if head >= 0:
        frame_meta[head, FM_PREV] = f
    pool_heads[p, lst] = f


@njit(**HOT)
def frame_list_del(pool_heads, frame_meta, p, lst, f):
    """Unlink ``f`` from list ``lst`` of pool ``p``."""
    prev = frame_meta[f, FM_PREV]
    nxt = frame_meta[f, FM_NEXT]
    if prev >= 0:
        frame_meta[prev, FM_NEXT] = nxt
    else:
        pool_heads[p, lst] = nxt
    if nxt >= 0:
        frame_meta[nxt, FM_PREV] = prev
    frame_meta[f, FM_PREV] = -1
    frame_meta[f, FM_NEXT] = -1


@njit(**HOT)
def free_stack_check(pool_meta, frame_meta, frame_free, p, alloc, is_free):
    """Check pool ``p``'s header and free stack; sets ``is_free[f - first]`` for free frames."""
    first = pool_meta[p, PM_FIRST_FRAME]
    n = pool_meta[p, PM_NFRAMES]
    if first != p * n or n <= 0 or pool_meta[p, PM_ALLOC] != alloc:
        return CHECK_HEADER
    count = pool_meta[p, PM_FREE_COUNT]
    if count < 0 or count > n:
        return CHECK_FREE_STACK
    f = (pool_meta[p, PM_FREE_HEAD] & (FREE_TAG - 1)) - 1
    walked = 0
    while f >= 0:
        if f < first or f >= first + n or is_free[f - first] or walked >= n:
            return CHECK_FREE_STACK
        is_free[f - first] = True
        for c in range(frame_meta.shape[1]):
            if frame_meta[f, c] != 0:
                return CHECK_FREE_DIRTY
        walked += 1
        f = frame_free[f]
    if walked != count:
        return CHECK_FREE_STACK
    if pool_meta[p, PM_FRAMES_USED] != n - count:
        return CHECK_FRAMES_USED
    return CHECK_OK


@njit(**HOT)
def frame_list_check(pool_heads, frame_meta, p, lst, first, n, listed):
    """Walk list ``lst``: links in range and consistent, no frame on two lists; marks ``listed``."""
    prev = -1
    f = pool_heads[p, lst]
    while f >= 0:
        if f < first or f >= first + n or listed[f - first]:
            return CHECK_LIST
        if frame_meta[f, FM_PREV] != prev:
            return CHECK_LIST
        listed[f - first] = True
        prev = f
        f = frame_meta[f, FM_NEXT]
    return CHECK_OK if f == -1 else CHECK_LIST


# The allocators import the constants and helpers above, so they load only now.
from .zbud import (  # noqa: E402
    ZBUD_MAX_SIZE,
    zbud_alloc,
    zbud_check,
    zbud_free,
    zbud_obj_read,
    zbud_obj_write,
)
from .zsmalloc import (  # noqa: E402
    ZS_HANDLE_SHIFT,
    ZS_MAX_SIZE,
    zsmalloc_alloc,
    zsmalloc_check,
    zsmalloc_free,
    zsmalloc_obj_read,
    zsmalloc_obj_write,
)

# ---------------------------------------------------------------------------------------------
# Public API


def pool_init(
    alloc: int,
    pool_meta: np.ndarray,
    pool_heads: np.ndarray,
    frame_meta: np.ndarray,
    frame_free: np.ndarray,
    npools: int,
    frames_per_pool: int,
) -> None:
    """Reset every pool to empty, all its frames on its free stack (popped in ascending order)."""
    if alloc not in (ALLOC_ZBUD, ALLOC_ZSMALLOC):
        raise ValueError(f"unknown allocator id {alloc}")
    if frames_per_pool <= 0 or npools * frames_per_pool > min(len(frame_free), len(frame_meta)):
        raise ValueError("pools need more frames than the arrays hold")
    if pool_meta.shape[0] < npools or pool_heads.shape[0] < npools:
        raise ValueError("pool_meta/pool_heads have fewer rows than pools")
    pool_meta[:] = 0
    pool_heads[:] = -1
    frame_meta[:] = 0
    for p in range(npools):
        first = p * frames_per_pool
        pool_meta[p, PM_FIRST_FRAME] = first
        pool_meta[p, PM_NFRAMES] = frames_per_pool
        pool_meta[p, PM_FREE_COUNT] = frames_per_pool
        pool_meta[p, PM_ALLOC] = alloc
        pool_meta[p, PM_FREE_HEAD] = first + 1
        frame_free[first : first + frames_per_pool] = np.arange(first + 1, first + frames_per_pool + 1)
        frame_free[first + frames_per_pool - 1] = -1


@njit(**HOT)
def pool_alloc(
    alloc: int,
    pool_meta: np.ndarray,
    pool_heads: np.ndarray,
    frame_meta: np.ndarray,
    frame_free: np.ndarray,
    p: int,
    size: int,
) -> tuple[int, int]:
    """Allocate ``size`` (1..pool_max_size) bytes in pool ``p``: (handle, frames it took from the
    free stack), or (-1, 0) if no frame.  The count is this call's own: other size classes may take
    frames concurrently, so PM_FRAMES_USED before and after would not tell."""
    if alloc == ALLOC_ZBUD:
        return zbud_alloc(pool_meta, pool_heads, frame_meta, frame_free, p, size)
    return zsmalloc_alloc(pool_meta, pool_heads, frame_meta, frame_free, p, size)


@njit(**HOT)
def pool_free(
    alloc: int,
    pool_meta: np.ndarray,
    pool_heads: np.ndarray,
    frame_meta: np.ndarray,
    frame_free: np.ndarray,
    p: int,
    handle: int,
    size: int,
) -> int:
    """Free ``handle`` of pool ``p``; ``size`` is the size it was allocated with (for PM_BYTES).
    Returns the frames this call gave back to the free stack."""
    if alloc == ALLOC_ZBUD:
        return zbud_free(pool_meta, pool_heads, frame_meta, frame_free, p, handle, size)
    return zsmalloc_free(pool_meta, pool_heads, frame_meta, frame_free, p, handle, size)


@njit(**HOT)
def pool_obj_write(
    alloc: int, frame_meta: np.ndarray, data: np.ndarray, handle: int, src: np.ndarray, n: int
) -> None:
    """Copy ``src[:n]`` into the object."""
    if alloc == ALLOC_ZBUD:
        zbud_obj_write(frame_meta, data, handle, src, n)
    else:
        zsmalloc_obj_write(frame_meta, data, handle, src, n)


@njit(**HOT)
def pool_obj_read(
    alloc: int, frame_meta: np.ndarray, data: np.ndarray, handle: int, dst: np.ndarray, n: int
) -> None:
    """Copy the object's first ``n`` bytes into ``dst[:n]``."""
    if alloc == ALLOC_ZBUD:
        zbud_obj_read(frame_meta, data, handle, dst, n)
    else:
        zsmalloc_obj_read(frame_meta, data, handle, dst, n)


@njit(**HOT)
def pool_max_size(alloc: int) -> int:
    """Largest object the allocator takes."""
    return ZBUD_MAX_SIZE if alloc == ALLOC_ZBUD else ZS_MAX_SIZE


@njit(**HOT)
def pool_handle_frame(alloc: int, handle: int) -> int:
    """The frame holding (the start of the span of) ``handle``; its pool is frame // fpp."""
    return handle >> 1 if alloc == ALLOC_ZBUD else handle >> ZS_HANDLE_SHIFT


@njit(cache=True)
def pool_check(
    alloc: int,
    pool_meta: np.ndarray,
    pool_heads: np.ndarray,
    frame_meta: np.ndarray,
    frame_free: np.ndarray,
    p: int,
) -> int:
    """Audit pool ``p``: CHECK_OK (0) or the first CHECK_* code (negative) that fails."""
    is_free = np.zeros(pool_meta[p, PM_NFRAMES], np.bool_)
    rc = free_stack_check(pool_meta, frame_meta, frame_free, p, alloc, is_free)
    if rc != CHECK_OK:
        return rc
    if alloc == ALLOC_ZBUD:
        return zbud_check(pool_meta, pool_heads, frame_meta, p, is_free)
    return zsmalloc_check(pool_meta, pool_heads, frame_meta, p, is_free)
