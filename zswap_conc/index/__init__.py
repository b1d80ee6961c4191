"""The index of stored entries: one per tree id (``strategies.tree_for``), an rb-tree (2012-6.9) or
an xarray (6.10+, 796c2c23e14e), chosen by the run's ``index`` setting.

Both store an entry's row of ``nodes``; the operations see one interface: ``index_search``,
``index_replace`` (insert, returning the entry it displaced), ``index_erase`` and ``index_check``.

LOCKING: changes take the tree's lock (the rb-tree's tree_lock, the xarray's xa_lock).  An rb-tree
lookup needs the lock too; an xarray lookup does not (``index_search_unlocked``): its slots are
read with acquire loads and its nodes are never freed, as RCU keeps them alive in the kernel.
"""

from __future__ import annotations

NIL = -1

# columns of nodes[i, :] owned by the index (the rest of the row is the entry's: ops/entry.py)
N_LEFT = 0  # rb-tree: left child or NIL
N_RIGHT = 1  # rb-tree: right child or NIL
N_PARENT = 2  # rb-tree: parent or NIL for the root
N_COLOR = 3  # rb-tree: RED or BLACK
N_KEY = 4  # search key: the swap entry (swap_entry.py)
N_TREE_COLUMNS = 5

# columns of roots[t, :]; one tree per 64-byte line so trees do not false-share
R_ROOT = 0  # rb-tree: root node or NIL
R_COUNT = 1  # entries in the tree
R_XA_HEAD = 2  # xarray: (height << 32) | (top node + 1); 0 when empty
R_WIDTH = 8

INDEX_RBTREE = 0
INDEX_XARRAY = 1
INDEX_IDS = {"rbtree": INDEX_RBTREE, "xarray": INDEX_XARRAY}

# index_check failure codes
CHECK_RED_ROOT = -1  # the root is red
CHECK_RED_RED = -2  # a red node has a red child
CHECK_BLACK_HEIGHT = -3  # paths to leaves differ in black count
CHECK_ORDER = -4  # in-order keys are not strictly increasing
CHECK_PARENT = -5  # a child's parent link does not point back
CHECK_COUNT = -6  # R_COUNT differs from the entries reachable
CHECK_CYCLE = -7  # more nodes reachable than exist
CHECK_SLOT = -8  # xarray: an entry sits under an index its key does not map to

from zswap_conc.index.dispatch import (  # noqa: E402
    index_check,
    index_erase,
    index_replace,
    index_search,
    index_search_unlocked,
    xa_index,
    xa_indices,
)
from zswap_conc.index.rbtree import tree_check, tree_erase, tree_insert, tree_search  # noqa: E402

__all__ = ["index_check", "index_erase", "index_replace", "index_search", "index_search_unlocked", "xa_index",
           "xa_indices", "tree_check", "tree_erase", "tree_insert", "tree_search"]
