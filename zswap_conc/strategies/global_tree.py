"""Strategy ``global``: one tree and one tree_lock for every swap type.

LOCKING: the single ``tree_lock`` protects the single tree and every entry linked into it.
The worst case by construction: every CPU, whatever its swap device, meets on one lock.
"""

from numba import njit

from zswap_conc.jit import HOT

NAME = "global"
ID = 0  # its value of params[P_STRATEGY]


def tree_count(swap_types: int, slots_per_type: int, buckets: int) -> int:
    return 1


@njit(**HOT, inline="always")
def tree_for(p, swap_type, offset):
    return 0
