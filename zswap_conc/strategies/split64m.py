"""Strategy ``split64m``: the 2024 kernel (44c7c734a513), one tree and lock per 64 MiB of swap.

LOCKING: the lock of ``trees[type] + (offset >> SWAP_ADDRESS_SPACE_SHIFT)`` protects that tree and
its entries.  CPUs allocate swap in per-CPU clusters spread over the device, so CPUs mostly work
in different 64 MiB regions and so on different locks.
"""

from numba import njit

from zswap_conc.jit import HOT
from zswap_conc.params import P_TREES_PER_TYPE

NAME = "split64m"
ID = 3  # its value of params[P_STRATEGY]
SWAP_ADDRESS_SPACE_SHIFT = 14  # 16384 slots of 4 KiB = 64 MiB per tree


def tree_count(swap_types: int, slots_per_type: int, buckets: int) -> int:
    per_type = -(-slots_per_type >> SWAP_ADDRESS_SPACE_SHIFT)
    return swap_types * max(1, per_type)


@njit(**HOT, inline="always")
def tree_for(p, swap_type, offset):
    return swap_type * p[P_TREES_PER_TYPE] + (offset >> SWAP_ADDRESS_SPACE_SHIFT)
