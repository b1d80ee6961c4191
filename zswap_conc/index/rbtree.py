"""Red-black tree keyed by swap entry, with its nodes in arena arrays (zswap's rb-tree, 2012-6.9).

A node is a row of ``nodes``; the columns (index/__init__.py) belong to the tree and the rest of the
row to the entry that embeds the node, as ``struct zswap_entry`` embeds its ``rb_node``.  Indices
stand in for pointers, -1 for NULL, so the same tree works in a private array and in shared memory.

LOCKING: a tree and every node linked into it are protected by that tree's ``tree_lock``; these
functions take no lock and assume the caller holds it, lookups included.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.index import (
    CHECK_BLACK_HEIGHT,
    CHECK_COUNT,
    CHECK_CYCLE,
    CHECK_ORDER,
    CHECK_PARENT,
    CHECK_RED_RED,
    CHECK_RED_ROOT,
    N_COLOR,
    N_KEY,
    N_LEFT,
    N_PARENT,
    N_RIGHT,
    NIL,
    R_COUNT,
    R_ROOT,
)
from zswap_conc.jit import HOT

RED = 0
BLACK = 1


@njit(**HOT)
def tree_search(roots, nodes, t, key) -> int:
    """The node holding ``key`` in tree ``t``, or NIL."""
    n = roots[t, R_ROOT]
    while n != NIL:
        k = nodes[n, N_KEY]
        if key < k:
            n = nodes[n, N_LEFT]
        elif key > k:
            n = nodes[n, N_RIGHT]
        else:
            return n
    return NIL


@njit(**HOT, inline="always")
def _replace_child(roots, nodes, t, parent, old, new):
    if parent == NIL:
        roots[t, R_ROOT] = new
    elif nodes[parent, N_LEFT] == old:
        nodes[parent, N_LEFT] = new
    else:
        nodes[parent, N_RIGHT] = new


@njit(**HOT)
def _rotate_left(roots, nodes, t, x):
    y = nodes[x, N_RIGHT]
    b = nodes[y, N_LEFT]
    nodes[x, N_RIGHT] = b
    if b != NIL:
        nodes[b, N_PARENT] = x
    p = nodes[x, N_PARENT]
    nodes[y, N_PARENT] = p
    _replace_child(roots, nodes, t, p, x, y)
    nodes[y, N_LEFT] = x
    nodes[x, N_PARENT] = y


@njit(**HOT)
def _rotate_right(roots, nodes, t, x):
    y = nodes[x, N_LEFT]
    b = nodes[y, N_RIGHT]
    nodes[x, N_LEFT] = b
    if b != NIL:
        nodes[b, N_PARENT] = x
    p = nodes[x, N_PARENT]
    nodes[y, N_PARENT] = p
    _replace_child(roots, nodes, t, p, x, y)
    nodes[y, N_RIGHT] = x
    nodes[x, N_PARENT] = y


@njit(**HOT)
def tree_insert(roots, nodes, t, node) -> int:
    """Link ``node`` (its key already set) into tree ``t``.

    Returns NIL when inserted, or the node that already holds the key (and then inserts nothing),
    as ``zswap_rb_insert`` returns -EEXIST with the duplicate.
    """
    key = nodes[node, N_KEY]
    parent = NIL
    n = roots[t, R_ROOT]
    while n != NIL:
        parent = n
        k = nodes[n, N_KEY]
        if key < k:
            n = nodes[n, N_LEFT]
        elif key > k:
            n = nodes[n, N_RIGHT]
        else:
            return n
    nodes[node, N_LEFT] = NIL
    nodes[node, N_RIGHT] = NIL
    nodes[node, N_PARENT] = parent
    nodes[node, N_COLOR] = RED
    if parent == NIL:
        roots[t, R_ROOT] = node
    elif key < nodes[parent, N_KEY]:
        nodes[parent, N_LEFT] = node
    else:
        nodes[parent, N_RIGHT] = node
    roots[t, R_COUNT] += 1
    _insert_fixup(roots, nodes, t, node)
    return NIL


@njit(**HOT)
def _insert_fixup(roots, nodes, t, z):
    while True:
        p = nodes[z, N_PARENT]
        if p == NIL or nodes[p, N_COLOR] == BLACK:
            break
        g = nodes[p, N_PARENT]  # a red parent is never the root, so g exists
        if p == nodes[g, N_LEFT]:
            u = nodes[g, N_RIGHT]
            if u != NIL and nodes[u, N_COLOR] == RED:
                nodes[p, N_COLOR] = BLACK
                nodes[u, N_COLOR] = BLACK
                nodes[g, N_COLOR] = RED
                z = g
                continue
            if z == nodes[p, N_RIGHT]:
                _rotate_left(roots, nodes, t, p)
                z = p
                p = nodes[z, N_PARENT]
            nodes[p, N_COLOR] = BLACK
            nodes[g, N_COLOR] = RED
            _rotate_right(roots, nodes, t, g)
        else:
            u = nodes[g, N_LEFT]
            if u != NIL and nodes[u, N_COLOR] == RED:
                nodes[p, N_COLOR] = BLACK
                nodes[u, N_COLOR] = BLACK
                nodes[g, N_COLOR] = RED
                z = g
                continue
            if z == nodes[p, N_LEFT]:
                _rotate_right(roots, nodes, t, p)
                z = p
                p = nodes[z, N_PARENT]
            nodes[p, N_COLOR] = BLACK
            nodes[g, N_COLOR] = RED
            _rotate_left(roots, nodes, t, g)
    nodes[roots[t, R_ROOT], N_COLOR] = BLACK


@njit(**HOT)
def tree_erase(roots, nodes, t, z) -> None:
    """Unlink node ``z`` from tree ``t``; its row is left for the caller to free."""
    left = nodes[z, N_LEFT]
    right = nodes[z, N_RIGHT]
    if left == NIL or right == NIL:
        # at most one child: splice z out directly
        x = left if left != NIL else right
        xp = nodes[z, N_PARENT]
        removed_color = nodes[z, N_COLOR]
        _replace_child(roots, nodes, t, xp, z, x)
        if x != NIL:
            nodes[x, N_PARENT] = xp
    else:
        # two children: the successor y takes z's place and colour
        y = right
        while nodes[y, N_LEFT] != NIL:
            y = nodes[y, N_LEFT]
        removed_color = nodes[y, N_COLOR]
        x = nodes[y, N_RIGHT]
        if nodes[y, N_PARENT] == z:
            xp = y
        else:
            xp = nodes[y, N_PARENT]
            nodes[xp, N_LEFT] = x
            if x != NIL:
                nodes[x, N_PARENT] = xp
            nodes[y, N_RIGHT] = right
            nodes[right, N_PARENT] = y
        zp = nodes[z, N_PARENT]
        _replace_child(roots, nodes, t, zp, z, y)
        nodes[y, N_PARENT] = zp
        nodes[y, N_LEFT] = left
        nodes[left, N_PARENT] = y
        nodes[y, N_COLOR] = nodes[z, N_COLOR]
    roots[t, R_COUNT] -= 1
    nodes[z, N_LEFT] = NIL
    nodes[z, N_RIGHT] = NIL
    nodes[z, N_PARENT] = NIL
    if removed_color == BLACK:
        _erase_fixup(roots, nodes, t, x, xp)


@njit(**HOT)
def _erase_fixup(roots, nodes, t, x, xp):
    # x carries an extra black; xp is its parent (x may be NIL, so the parent travels separately)
    while x != roots[t, R_ROOT] and (x == NIL or nodes[x, N_COLOR] == BLACK):
        if x == nodes[xp, N_LEFT]:
            w = nodes[xp, N_RIGHT]
            if nodes[w, N_COLOR] == RED:
                nodes[w, N_COLOR] = BLACK
                nodes[xp, N_COLOR] = RED
                _rotate_left(roots, nodes, t, xp)
                w = nodes[xp, N_RIGHT]
            wl = nodes[w, N_LEFT]
            wr = nodes[w, N_RIGHT]
            if (wl == NIL or nodes[wl, N_COLOR] == BLACK) and (
                wr == NIL or nodes[wr, N_COLOR] == BLACK
            ):
                nodes[w, N_COLOR] = RED
                x = xp
                xp = nodes[x, N_PARENT]
            else:
                if wr == NIL or nodes[wr, N_COLOR] == BLACK:
                    nodes[wl, N_COLOR] = BLACK
                    nodes[w, N_COLOR] = RED
                    _rotate_right(roots, nodes, t, w)
                    w = nodes[xp, N_RIGHT]
                nodes[w, N_COLOR] = nodes[xp, N_COLOR]
                nodes[xp, N_COLOR] = BLACK
                wr = nodes[w, N_RIGHT]
                if wr != NIL:
                    nodes[wr, N_COLOR] = BLACK
                _rotate_left(roots, nodes, t, xp)
                x = roots[t, R_ROOT]
                xp = NIL
        else:
            w = nodes[xp, N_LEFT]
            if nodes[w, N_COLOR] == RED:
                nodes[w, N_COLOR] = BLACK
                nodes[xp, N_COLOR] = RED
                _rotate_right(roots, nodes, t, xp)
                w = nodes[xp, N_LEFT]
            wl = nodes[w, N_LEFT]
            wr = nodes[w, N_RIGHT]
            if (wl == NIL or nodes[wl, N_COLOR] == BLACK) and (
                wr == NIL or nodes[wr, N_COLOR] == BLACK
            ):
                nodes[w, N_COLOR] = RED
                x = xp
                xp = nodes[x, N_PARENT]
            else:
                if wl == NIL or nodes[wl, N_COLOR] == BLACK:
                    nodes[wr, N_COLOR] = BLACK
                    nodes[w, N_COLOR] = RED
                    _rotate_left(roots, nodes, t, w)
                    w = nodes[xp, N_LEFT]
                nodes[w, N_COLOR] = nodes[xp, N_COLOR]
                nodes[xp, N_COLOR] = BLACK
                wl = nodes[w, N_LEFT]
                if wl != NIL:
                    nodes[wl, N_COLOR] = BLACK
                _rotate_right(roots, nodes, t, xp)
                x = roots[t, R_ROOT]
                xp = NIL
    if x != NIL:
        nodes[x, N_COLOR] = BLACK


@njit(cache=True)
def tree_check(roots, nodes, t) -> int:
    """Verify every red-black invariant of tree ``t``; the node count, or a CHECK_* code."""
    root = roots[t, R_ROOT]
    if root == NIL:
        return 0 if roots[t, R_COUNT] == 0 else CHECK_COUNT
    if nodes[root, N_COLOR] != BLACK:
        return CHECK_RED_ROOT
    if nodes[root, N_PARENT] != NIL:
        return CHECK_PARENT
    limit = nodes.shape[0]
    # iterative in-order walk with an explicit stack; black height checked at each leaf edge
    stack = [root]
    stack.pop()
    count = 0
    leaf_black = -1
    have_prev = False
    prev = 0
    n = root
    while n != NIL or len(stack) > 0:
        while n != NIL:
            stack.append(n)
            for c in (nodes[n, N_LEFT], nodes[n, N_RIGHT]):
                if c != NIL:
                    if nodes[c, N_PARENT] != n:
                        return CHECK_PARENT
                    if nodes[n, N_COLOR] == RED and nodes[c, N_COLOR] == RED:
                        return CHECK_RED_RED
                else:
                    # a missing child is a leaf edge: count blacks from here up to the root
                    b = 0
                    m = n
                    while m != NIL:
                        if nodes[m, N_COLOR] == BLACK:
                            b += 1
                        m = nodes[m, N_PARENT]
                    if leaf_black < 0:
                        leaf_black = b
                    elif b != leaf_black:
                        return CHECK_BLACK_HEIGHT
            if len(stack) > limit:
                return CHECK_CYCLE
            n = nodes[n, N_LEFT]
        n = stack.pop()
        k = nodes[n, N_KEY]
        if have_prev and k <= prev:
            return CHECK_ORDER
        have_prev = True
        prev = k
        count += 1
        if count > limit:
            return CHECK_CYCLE
        n = nodes[n, N_RIGHT]
    if count != roots[t, R_COUNT]:
        return CHECK_COUNT
    return count
