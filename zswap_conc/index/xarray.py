"""An xarray-like radix tree of entries (zswap's index from 6.10, 796c2c23e14e): 64 slots a node,
as many levels as the largest index needs, one per tree id.

A slot holds ``entry + 1`` (0: empty) in a leaf and ``child node`` in an inner node.  Nodes come
from one pool (``xa``; row 0 is its header) and are never freed, so a lookup without the lock
always walks live nodes -- the part RCU plays in the kernel; the kernel also frees emptied nodes,
which this does not.  A tree's root word packs its height and top node, so a lookup reads both at
once and a growing tree (a new top whose slot 0 is the old one) never shows a half-built path.

LOCKING: changes (``xa_store``, ``xa_erase``) hold the tree's xa_lock; ``xa_search`` takes none
(acquire loads; every change is published with a release store).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.index import CHECK_COUNT, CHECK_CYCLE, CHECK_SLOT, N_KEY, NIL, R_COUNT, R_XA_HEAD
from zswap_conc.jit import HOT
from zswap_conc.swap_entry import swp_offset, swp_type
from zswap_conc.sync import fetch_add, load_acquire, store_release

XA_SHIFT = 6  # XA_CHUNK_SHIFT: 64 slots a node
XA_SLOTS = 1 << XA_SHIFT
XA_MASK = XA_SLOTS - 1
XA_NEXT = 0  # xa[0, XA_NEXT]: the next unused node (node ids start at 1)
XA_FULL = -2  # xa_store's result when the node pool is exhausted
HEAD_NODE = (1 << 32) - 1


def xa_nodes_needed(trees: np.ndarray, indices: np.ndarray) -> int:
    """Nodes enough to store every key of the working set at once (``indices[i]`` in tree
    ``trees[i]``), whatever the order: a tree of height h has a node at level L for each distinct
    ``index >> 6(L+1)``, and a tree grown one level at a time may keep one more node per level (a
    former top whose range holds no key).  Keys never change, so the pool never runs out."""
    total = 1  # the header row
    for t in np.unique(trees):
        idx = indices[trees == t]
        h = max(1, (int(idx.max()).bit_length() + XA_SHIFT - 1) // XA_SHIFT)
        total += h + sum(len(np.unique(idx >> (XA_SHIFT * (level + 1)))) for level in range(h))
    return total


@njit(**HOT)
def _node_alloc(xa) -> int:
    n = fetch_add(xa[0], XA_NEXT, 1)
    return n if n < xa.shape[0] else -1


@njit(**HOT)
def xa_search(roots, xa, t, idx) -> int:
    """The entry stored at ``idx`` in tree ``t``, or NIL; safe without the lock."""
    head = load_acquire(roots[t], R_XA_HEAD)
    h = head >> 32
    if h == 0 or (idx >> (XA_SHIFT * h)) != 0:
        return NIL
    node = head & HEAD_NODE
    for level in range(h - 1, 0, -1):
        node = load_acquire(xa[node], (idx >> (XA_SHIFT * level)) & XA_MASK)
        if node == 0:
            return NIL
    return load_acquire(xa[node], idx & XA_MASK) - 1


@njit(**HOT)
def xa_store(roots, xa, t, idx, e) -> int:
    """Store entry ``e`` at ``idx`` (xa_lock held); the entry it replaced, NIL, or XA_FULL."""
    head = roots[t, R_XA_HEAD]
    h = head >> 32
    top = head & HEAD_NODE
    if h == 0:
        top = _node_alloc(xa)
        if top < 0:
            return XA_FULL
        h = 1
    while (idx >> (XA_SHIFT * h)) != 0:  # grow: a new top whose slot 0 is the old one
        n = _node_alloc(xa)
        if n < 0:
            return XA_FULL
        xa[n, 0] = top
        top = n
        h += 1
    if (h << 32) | top != head:
        store_release(roots[t], R_XA_HEAD, (h << 32) | top)
    node = top
    for level in range(h - 1, 0, -1):
        d = (idx >> (XA_SHIFT * level)) & XA_MASK
        child = xa[node, d]
        if child == 0:
            child = _node_alloc(xa)
            if child < 0:
                return XA_FULL
            store_release(xa[node], d, child)
        node = child
    old = xa[node, idx & XA_MASK]
    store_release(xa[node], idx & XA_MASK, e + 1)
    if old == 0:
        roots[t, R_COUNT] += 1
    return old - 1


@njit(**HOT)
def xa_erase(roots, xa, t, idx) -> int:
    """Empty the slot at ``idx`` (xa_lock held); the entry it held, or NIL."""
    head = roots[t, R_XA_HEAD]
    h = head >> 32
    if h == 0 or (idx >> (XA_SHIFT * h)) != 0:
        return NIL
    node = head & HEAD_NODE
    for level in range(h - 1, 0, -1):
        node = xa[node, (idx >> (XA_SHIFT * level)) & XA_MASK]
        if node == 0:
            return NIL
    old = xa[node, idx & XA_MASK]
    if old != 0:
        store_release(xa[node], idx & XA_MASK, 0)
        roots[t, R_COUNT] -= 1
    return old - 1


@njit(cache=True)
def xa_check(roots, xa, nodes, t, key_index_shift) -> int:
    """Every entry of tree ``t`` sits at the index its key maps to, and R_COUNT counts them: the
    count, or a CHECK_* code.  ``key_index_shift``: where a key's swap type lands in the index."""
    head = roots[t, R_XA_HEAD]
    h = head >> 32
    if h == 0:
        return 0 if roots[t, R_COUNT] == 0 else CHECK_COUNT
    count = 0
    stack = [(head & HEAD_NODE, h - 1, 0)]  # (node, level, index of its slot 0)
    walked = 0
    while len(stack) > 0:
        node, level, base = stack.pop()
        walked += 1
        if walked > xa.shape[0] or node <= 0 or node >= xa.shape[0]:
            return CHECK_CYCLE
        for d in range(XA_SLOTS):
            v = xa[node, d]
            if v == 0:
                continue
            idx = base + (d << (XA_SHIFT * level))
            if level > 0:
                stack.append((v, level - 1, idx))
                continue
            key = nodes[v - 1, N_KEY]
            if (swp_type(key) << key_index_shift) | swp_offset(key) != idx:
                return CHECK_SLOT
            count += 1
    if count != roots[t, R_COUNT]:
        return CHECK_COUNT
    return count
