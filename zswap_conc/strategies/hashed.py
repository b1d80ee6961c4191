"""Strategy ``hashed``: zcache-style hash buckets (2011), each bucket a tree with its own lock.

LOCKING: bucket ``b``'s lock protects bucket ``b``'s tree and its entries.  A (type, offset) always
maps to the same bucket, so every operation on one slot meets on one lock, and different slots
spread over ``--buckets`` locks.
"""

from numba import njit

from zswap_conc.jit import HOT
from zswap_conc.params import P_BUCKETS
from zswap_conc.swap_entry import swp_entry

NAME = "hashed"
ID = 2  # its value of params[P_STRATEGY]


def tree_count(swap_types: int, slots_per_type: int, buckets: int) -> int:
    return buckets


@njit(**HOT, inline="always")
def tree_for(p, swap_type, offset):
    # Fibonacci hashing: neighbouring offsets (one CPU's cluster) land in different buckets
    h = swp_entry(swap_type, offset) * -7046029254386353131  # int64 wrap-around: a 0x9E3779B97F4A7C15 multiply
    return ((h >> 32) & 0xFFFFFFFF) % p[P_BUCKETS]
