"""zbud: at most two objects ("buddies") per frame, as in the 2013 kernel's mm/zbud.c.

A frame is 64 chunks of 64 bytes; chunk 0 stands for the kernel's in-page header, so NCHUNKS=63
are usable.  The first buddy grows up from chunk 1, the last buddy down from the frame's end.
A frame with one buddy sits on unbuddied[free chunks] (``pool_heads[p, i]``); a frame with two is
on no list (the kernel's buddied list only fed LRU reclaim, which is not modelled).

Handle = frame * 2 + (0 for the first buddy, 1 for the last).
"""

from __future__ import annotations

from numba import njit

from zswap_conc.jit import HOT, bytes_copy
from zswap_conc.sync import fetch_add

from . import (
    CHECK_FRAME_STATE,
    CHECK_LIST,
    CHECK_LIST_STATE,
    CHECK_OBJECTS,
    CHECK_OK,
    CHECK_UNLISTED,
    FM_NEXT,
    FRAME_SHIFT,
    FRAME_SIZE,
    PM_ALLOC_FAILS,
    PM_BYTES,
    PM_FIRST_FRAME,
    PM_NFRAMES,
    PM_OBJECTS,
    frame_list_add,
    frame_list_check,
    frame_list_del,
    free_stack_pop,
    free_stack_push,
)

CHUNK_SHIFT = 6
CHUNK_SIZE = 1 << CHUNK_SHIFT
NCHUNKS = (FRAME_SIZE >> CHUNK_SHIFT) - 1
ZBUD_MAX_SIZE = NCHUNKS * CHUNK_SIZE

# frame_meta columns (FM_PREV=2 and FM_NEXT=3 link unbuddied lists)
ZB_FIRST = 0  # chunks of the first buddy, 0 when free
ZB_LAST = 1  # chunks of the last buddy, 0 when free


@njit(**HOT)
def zbud_alloc(pool_meta, pool_heads, frame_meta, frame_free, p, size):
    chunks = (size + CHUNK_SIZE - 1) >> CHUNK_SHIFT
    for i in range(chunks, NCHUNKS):
        f = pool_heads[p, i]
        if f >= 0:
            # the frame now has both buddies: it leaves the unbuddied lists
            frame_list_del(pool_heads, frame_meta, p, i, f)
            if frame_meta[f, ZB_FIRST] == 0:
                frame_meta[f, ZB_FIRST] = chunks
                handle = f * 2
            else:
                frame_meta[f, ZB_LAST] = chunks
                handle = f * 2 + 1
            fetch_add(pool_meta[p], PM_OBJECTS, 1)
            fetch_add(pool_meta[p], PM_BYTES, size)
            return handle, 0
    f = free_stack_pop(pool_meta, frame_free, p)
    if f < 0:
        fetch_add(pool_meta[p], PM_ALLOC_FAILS, 1)
        return -1, 0
    frame_meta[f, ZB_FIRST] = chunks
    frame_list_add(pool_heads, frame_meta, p, NCHUNKS - chunks, f)
    fetch_add(pool_meta[p], PM_OBJECTS, 1)
    fetch_add(pool_meta[p], PM_BYTES, size)
    return f * 2, 1


@njit(**HOT)
def zbud_free(pool_meta, pool_heads, frame_meta, frame_free, p, handle, size):
    f = handle >> 1
    first = frame_meta[f, ZB_FIRST]
    last = frame_meta[f, ZB_LAST]
    if first == 0 or last == 0:
        frame_list_del(pool_heads, frame_meta, p, NCHUNKS - first - last, f)
    if handle & 1:
        last = 0
        frame_meta[f, ZB_LAST] = 0
    else:
        first = 0
        frame_meta[f, ZB_FIRST] = 0
    fetch_add(pool_meta[p], PM_OBJECTS, -1)
    fetch_add(pool_meta[p], PM_BYTES, -size)
    if first == 0 and last == 0:
        free_stack_push(pool_meta, frame_meta, frame_free, p, f)
        return 1
    frame_list_add(pool_heads, frame_meta, p, NCHUNKS - first - last, f)
    return 0


@njit(**HOT)
def zbud_obj_offset(frame_meta, handle):
    """Byte offset of the object in ``data``."""
    f = handle >> 1
    if handle & 1:
        return ((f + 1) << FRAME_SHIFT) - (frame_meta[f, ZB_LAST] << CHUNK_SHIFT)
    return (f << FRAME_SHIFT) + CHUNK_SIZE


@njit(**HOT)
def zbud_obj_write(frame_meta, data, handle, src, n):
    off = zbud_obj_offset(frame_meta, handle)
    bytes_copy(data, off, src, 0, n)


@njit(**HOT)
def zbud_obj_read(frame_meta, data, handle, dst, n):
    off = zbud_obj_offset(frame_meta, handle)
    bytes_copy(dst, 0, data, off, n)


@njit(cache=True)
def zbud_check(pool_meta, pool_heads, frame_meta, p, is_free):
    first = pool_meta[p, PM_FIRST_FRAME]
    n = pool_meta[p, PM_NFRAMES]
    listed = is_free.copy()  # a free frame found on a list is then a link error
    for i in range(pool_heads.shape[1]):
        if i >= NCHUNKS:
            if pool_heads[p, i] != -1:
                return CHECK_LIST
            continue
        rc = frame_list_check(pool_heads, frame_meta, p, i, first, n, listed)
        if rc != CHECK_OK:
            return rc
        f = pool_heads[p, i]
        while f >= 0:
            a = frame_meta[f, ZB_FIRST]
            b = frame_meta[f, ZB_LAST]
            if (a == 0) == (b == 0) or NCHUNKS - a - b != i:
                return CHECK_LIST_STATE
            f = frame_meta[f, FM_NEXT]
    objects = 0
    lo = 0  # PM_BYTES bounds from the chunk counts: a c-chunk object has (c-1)*64+1..c*64 bytes
    hi = 0
    for j in range(n):
        if is_free[j]:
            continue
        f = first + j
        a = frame_meta[f, ZB_FIRST]
        b = frame_meta[f, ZB_LAST]
        if a < 0 or b < 0 or a + b == 0 or a + b > NCHUNKS:
            return CHECK_FRAME_STATE
        if (a == 0 or b == 0) and not listed[j]:
            return CHECK_UNLISTED
        if a > 0 and b > 0 and listed[j]:
            return CHECK_LIST_STATE
        for c in (a, b):
            if c > 0:
                objects += 1
                lo += ((c - 1) << CHUNK_SHIFT) + 1
                hi += c << CHUNK_SHIFT
    nbytes = pool_meta[p, PM_BYTES]
    if objects != pool_meta[p, PM_OBJECTS] or nbytes < lo or nbytes > hi:
        return CHECK_OBJECTS
    return CHECK_OK
