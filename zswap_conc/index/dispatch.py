"""One interface over both indexes: the run's ``index`` parameter picks the rb-tree or the xarray,
so the operations are the same code under either (as strategies differ only in ``tree_for``)."""

from __future__ import annotations

from numba import njit

from zswap_conc.index import INDEX_XARRAY, N_KEY, NIL
from zswap_conc.index.rbtree import tree_check, tree_erase, tree_insert, tree_search
from zswap_conc.index.xarray import xa_check, xa_erase, xa_search, xa_store
from zswap_conc.jit import HOT
from zswap_conc.params import P_INDEX, P_XA_TYPE_SHIFT
from zswap_conc.swap_entry import swp_offset, swp_type


@njit(**HOT)
def xa_index(p, key) -> int:
    """The xarray index of swap entry ``key``: its offset, with its swap type above the offsets."""
    return (swp_type(key) << p[P_XA_TYPE_SHIFT]) | swp_offset(key)


@njit(**HOT)
def xa_indices(p, keys, out) -> None:
    """``out[i]``: the xarray index of ``keys[i]`` (sizing the node pool)."""
    for i in range(keys.shape[0]):
        out[i] = xa_index(p, keys[i])


@njit(**HOT)
def index_search(p, roots, nodes, xa, t, key) -> int:
    """The entry stored for ``key`` in tree ``t``, or NIL (the tree's lock held)."""
    if p[P_INDEX] == INDEX_XARRAY:
        return xa_search(roots, xa, t, xa_index(p, key))
    return tree_search(roots, nodes, t, key)


@njit(**HOT)
def index_search_unlocked(p, roots, xa, t, key) -> int:
    """An xarray lookup without the lock (xa_load under RCU); the rb-tree has none."""
    return xa_search(roots, xa, t, xa_index(p, key))


@njit(**HOT)
def index_replace(p, roots, nodes, xa, t, e) -> int:
    """Link entry ``e`` into tree ``t`` (its lock held), displacing the slot's entry: the displaced
    entry, NIL, or ``xarray.XA_FULL`` when the xarray's node pool is exhausted."""
    if p[P_INDEX] == INDEX_XARRAY:
        return xa_store(roots, xa, t, xa_index(p, nodes[e, N_KEY]), e)
    dup = tree_insert(roots, nodes, t, e)
    if dup != NIL:
        tree_erase(roots, nodes, t, dup)
        tree_insert(roots, nodes, t, e)
    return dup


@njit(**HOT)
def index_erase(p, roots, nodes, xa, t, e) -> None:
    """Unlink entry ``e``, which tree ``t`` holds (its lock held)."""
    if p[P_INDEX] == INDEX_XARRAY:
        xa_erase(roots, xa, t, xa_index(p, nodes[e, N_KEY]))
    else:
        tree_erase(roots, nodes, t, e)


@njit(cache=True)
def index_check(p, roots, nodes, xa, t) -> int:
    """Verify tree ``t``'s structure: its entry count, or a negative CHECK_* code."""
    if p[P_INDEX] == INDEX_XARRAY:
        return xa_check(roots, xa, nodes, t, p[P_XA_TYPE_SHIFT])
    return tree_check(roots, nodes, t)
