"""Strategy ``per-swaptype``: the reviewed 2012 design, one tree and tree_lock per swap type.

LOCKING: ``zswap_trees[type]->lock`` protects that type's rb-tree and its entries.  With a single
swap device (the usual case) every CPU hits one lock: the review's third concern.
"""

from numba import njit

from zswap_conc.jit import HOT

NAME = "per-swaptype"
ID = 1  # its value of params[P_STRATEGY]


def tree_count(swap_types: int, slots_per_type: int, buckets: int) -> int:
    return swap_types


@njit(**HOT, inline="always")
def tree_for(p, swap_type, offset):
    return swap_type
