"""zsmalloc-like allocator: size classes of 32 bytes, each packed into spans of 1..4 frames.

Class k holds objects of (k+1)*32 bytes.  Its span length is chosen like the kernel's
get_pages_per_zspage: the frame count in 1..4 wasting the smallest fraction of the span (ties to
the shorter span; the kernel compares whole percents, this compares exact fractions).  A span's
frames need not be contiguous, so an object may straddle two frames.

A span is named by its first frame, whose ``frame_meta`` row holds the whole span's state; the
rows of its other frames stay zero.  Spans of class k with a free object are on list
``pool_heads[p, k]``; full spans are on no list; an empty span goes back to the free stack.

Handle = span's first frame * 512 + object index.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros

from zswap_conc.jit import HOT, bytes_copy
from zswap_conc.sync import fetch_add

from . import (
    CHECK_BITMAP,
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

ZS_CLASS_SHIFT = 5
ZS_CLASS_SIZE = 1 << ZS_CLASS_SHIFT
ZS_MAX_SIZE = FRAME_SIZE
ZS_NCLASSES = ZS_MAX_SIZE // ZS_CLASS_SIZE
ZS_MAX_SPAN_FRAMES = 4
ZS_HANDLE_SHIFT = 9
ZS_MAX_OBJS = 1 << ZS_HANDLE_SHIFT
ZS_BITMAP_WORDS = ZS_MAX_OBJS // 64

# frame_meta columns of a span's first frame (FM_PREV=2 and FM_NEXT=3 link the class list)
ZS_CLASS = 0  # size class k: objects of (k+1)*32 bytes
ZS_INUSE = 1  # allocated objects in the span
ZS_NFRAMES = 4  # frames in the span; > 0 marks a span's first frame
ZS_FRAME2 = 5  # frames 2..4 of the span in columns 5..7 (unused ones 0)
ZS_BITMAP = 8  # free-object bitmap, bit i of column 8 + i//64 set when object i is free


@njit(**HOT)
def zs_class(size):
    """The size class of a ``size``-byte object (its class->lock in per-class locking)."""
    return ((size + ZS_CLASS_SIZE - 1) >> ZS_CLASS_SHIFT) - 1


def _class_spans() -> tuple[np.ndarray, np.ndarray]:
    frames = np.zeros(ZS_NCLASSES, np.int64)
    objs = np.zeros(ZS_NCLASSES, np.int64)
    for k in range(ZS_NCLASSES):
        size = (k + 1) * ZS_CLASS_SIZE
        best_waste, best_span = 1, 1  # worse than any real span
        for n in range(1, ZS_MAX_SPAN_FRAMES + 1):
            span = n * FRAME_SIZE
            cnt = min(span // size, ZS_MAX_OBJS)
            waste = span - cnt * size
            # waste/span < best_waste/best_span, cross-multiplied to stay exact
            if waste * best_span < best_waste * span:
                best_waste, best_span = waste, span
                frames[k] = n
                objs[k] = cnt
    return frames, objs


ZS_CLASS_FRAMES, ZS_CLASS_OBJS = _class_spans()  # per class: frames per span, objects per span


@njit(**HOT)
def zsmalloc_alloc(pool_meta, pool_heads, frame_meta, frame_free, p, size):
    """An object of ``size`` bytes in its size class (the class's lock, or the pool's, held)."""
    k = zs_class(size)
    s = pool_heads[p, k]
    taken = 0
    if s < 0:
        n = ZS_CLASS_FRAMES[k]
        # all or nothing, so a failed allocation leaks no frame (another class may take the last ones)
        s = free_stack_pop(pool_meta, frame_free, p)
        got = 1 if s >= 0 else 0
        while 0 < got < n:
            f = free_stack_pop(pool_meta, frame_free, p)
            if f < 0:
                break
            frame_meta[s, ZS_FRAME2 + got - 1] = f
            got += 1
        if got < n:
            for j in range(got - 1, 0, -1):
                free_stack_push(pool_meta, frame_meta, frame_free, p, frame_meta[s, ZS_FRAME2 + j - 1])
            if got > 0:
                free_stack_push(pool_meta, frame_meta, frame_free, p, s)
            fetch_add(pool_meta[p], PM_ALLOC_FAILS, 1)
            return -1, 0
        taken = n
        frame_meta[s, ZS_CLASS] = k
        frame_meta[s, ZS_NFRAMES] = n
        left = ZS_CLASS_OBJS[k]
        for w in range(ZS_BITMAP_WORDS):
            if left >= 64:
                frame_meta[s, ZS_BITMAP + w] = -1
            elif left > 0:
                frame_meta[s, ZS_BITMAP + w] = (np.int64(1) << left) - 1
            left -= 64
        frame_list_add(pool_heads, frame_meta, p, k, s)
    w = 0
    while frame_meta[s, ZS_BITMAP + w] == 0:
        w += 1
    bits = frame_meta[s, ZS_BITMAP + w]
    idx = w * 64 + trailing_zeros(bits)
    frame_meta[s, ZS_BITMAP + w] = bits & (bits - 1)
    frame_meta[s, ZS_INUSE] += 1
    if frame_meta[s, ZS_INUSE] == ZS_CLASS_OBJS[k]:
        frame_list_del(pool_heads, frame_meta, p, k, s)
    fetch_add(pool_meta[p], PM_OBJECTS, 1)
    fetch_add(pool_meta[p], PM_BYTES, size)
    return (s << ZS_HANDLE_SHIFT) + idx, taken


@njit(**HOT)
def zsmalloc_free(pool_meta, pool_heads, frame_meta, frame_free, p, handle, size):
    """Free ``handle`` (its class's lock, or the pool's, held); an emptied span's frames go back."""
    s = handle >> ZS_HANDLE_SHIFT
    idx = handle & (ZS_MAX_OBJS - 1)
    k = frame_meta[s, ZS_CLASS]
    was_full = frame_meta[s, ZS_INUSE] == ZS_CLASS_OBJS[k]
    frame_meta[s, ZS_BITMAP + (idx >> 6)] |= np.int64(1) << (idx & 63)
    inuse = frame_meta[s, ZS_INUSE] - 1
    frame_meta[s, ZS_INUSE] = inuse
    fetch_add(pool_meta[p], PM_OBJECTS, -1)
    fetch_add(pool_meta[p], PM_BYTES, -size)
    if inuse == 0:
        if not was_full:
            frame_list_del(pool_heads, frame_meta, p, k, s)
        n = frame_meta[s, ZS_NFRAMES]
        for j in range(n - 1, 0, -1):
            free_stack_push(pool_meta, frame_meta, frame_free, p, frame_meta[s, ZS_FRAME2 + j - 1])
        free_stack_push(pool_meta, frame_meta, frame_free, p, s)
        return n
    if was_full:
        frame_list_add(pool_heads, frame_meta, p, k, s)
    return 0


@njit(**HOT)
def zsmalloc_obj_place(frame_meta, handle, n):
    """(offset in ``data`` of the first part, its length, offset of the rest or -1)."""
    s = handle >> ZS_HANDLE_SHIFT
    off = (handle & (ZS_MAX_OBJS - 1)) * ((frame_meta[s, ZS_CLASS] + 1) << ZS_CLASS_SHIFT)
    j = off >> FRAME_SHIFT
    within = off & (FRAME_SIZE - 1)
    f = s if j == 0 else frame_meta[s, ZS_FRAME2 + j - 1]
    head = min(n, FRAME_SIZE - within)
    rest = -1
    if head < n:
        rest = frame_meta[s, ZS_FRAME2 + j] << FRAME_SHIFT
    return (f << FRAME_SHIFT) + within, head, rest


@njit(**HOT)
def zsmalloc_obj_write(frame_meta, data, handle, src, n):
    off, head, rest = zsmalloc_obj_place(frame_meta, handle, n)
    bytes_copy(data, off, src, 0, head)
    if rest >= 0:
        bytes_copy(data, rest, src, head, n - head)


@njit(**HOT)
def zsmalloc_obj_read(frame_meta, data, handle, dst, n):
    off, head, rest = zsmalloc_obj_place(frame_meta, handle, n)
    bytes_copy(dst, 0, data, off, head)
    if rest >= 0:
        bytes_copy(dst, head, data, rest, n - head)


@njit(**HOT)
def _popcount(x):
    c = 0
    while x != 0:
        x &= x - 1
        c += 1
    return c


@njit(cache=True)
def zsmalloc_check(pool_meta, pool_heads, frame_meta, p, is_free):
    first = pool_meta[p, PM_FIRST_FRAME]
    n = pool_meta[p, PM_NFRAMES]
    listed = is_free.copy()  # a free frame found on a list is then a link error
    for k in range(pool_heads.shape[1]):
        if k >= ZS_NCLASSES:
            if pool_heads[p, k] != -1:
                return CHECK_LIST
            continue
        rc = frame_list_check(pool_heads, frame_meta, p, k, first, n, listed)
        if rc != CHECK_OK:
            return rc
        s = pool_heads[p, k]
        while s >= 0:
            if frame_meta[s, ZS_NFRAMES] <= 0 or frame_meta[s, ZS_CLASS] != k:
                return CHECK_LIST_STATE
            if frame_meta[s, ZS_INUSE] >= ZS_CLASS_OBJS[k]:
                return CHECK_LIST_STATE
            s = frame_meta[s, FM_NEXT]
    in_span = is_free.copy()  # a span frame found free then counts as in two places
    objects = 0
    lo = 0  # PM_BYTES bounds from the classes: a class-k object has k*32+1..(k+1)*32 bytes
    hi = 0
    for j in range(n):
        s = first + j
        if is_free[j] or frame_meta[s, ZS_NFRAMES] == 0:
            continue
        k = frame_meta[s, ZS_CLASS]
        if k < 0 or k >= ZS_NCLASSES or frame_meta[s, ZS_NFRAMES] != ZS_CLASS_FRAMES[k]:
            return CHECK_FRAME_STATE
        for i in range(ZS_CLASS_FRAMES[k]):
            f = s if i == 0 else frame_meta[s, ZS_FRAME2 + i - 1]
            if f < first or f >= first + n or in_span[f - first]:
                return CHECK_FRAME_STATE
            in_span[f - first] = True
        cap = ZS_CLASS_OBJS[k]
        inuse = frame_meta[s, ZS_INUSE]
        if inuse <= 0 or inuse > cap:
            return CHECK_FRAME_STATE
        if (inuse < cap) != listed[j]:
            return CHECK_UNLISTED if inuse < cap else CHECK_LIST_STATE
        nfree = 0
        for w in range(ZS_BITMAP_WORDS):
            bits = frame_meta[s, ZS_BITMAP + w]
            valid = cap - 64 * w
            if valid < 64 and bits >> max(valid, 0) != 0:
                return CHECK_BITMAP
            nfree += _popcount(bits)
        if nfree != cap - inuse:
            return CHECK_BITMAP
        objects += inuse
        lo += inuse * ((k << ZS_CLASS_SHIFT) + 1)
        hi += inuse * ((k + 1) << ZS_CLASS_SHIFT)
    for j in range(n):
        if not in_span[j]:
            return CHECK_FRAME_STATE
    nbytes = pool_meta[p, PM_BYTES]
    if objects != pool_meta[p, PM_OBJECTS] or nbytes < lo or nbytes > hi:
        return CHECK_OBJECTS
    return CHECK_OK
