"""Locking strategies: which tree, and so which tree_lock, serves a (swap type, offset).

Strategies differ in ``tree_for`` and the tree count, nothing else: store, load and invalidate
are the same code under every strategy.  Pool sharding is the same idea for pools (``pool_for``).
"""

from __future__ import annotations

from numba import njit

from zswap_conc.jit import HOT
from zswap_conc.params import P_NPOOLS, P_POOLS_HASHED, P_STRATEGY
from zswap_conc.strategies import global_tree, hashed, per_swaptype, split64m

_MODULES = (global_tree, per_swaptype, hashed, split64m)
STRATEGY_IDS = {m.NAME: i for i, m in enumerate(_MODULES)}
STRATEGIES = tuple(STRATEGY_IDS)


def tree_count(name: str, swap_types: int, slots_per_type: int, buckets: int) -> int:
    return _MODULES[STRATEGY_IDS[name]].tree_count(swap_types, slots_per_type, buckets)


_global_for = global_tree.tree_for
_per_type_for = per_swaptype.tree_for
_hashed_for = hashed.tree_for
_split_for = split64m.tree_for


@njit(**HOT)
def tree_for(p, swap_type, offset) -> int:
    s = p[P_STRATEGY]
    if s == 0:
        return _global_for(p, swap_type, offset)
    if s == 1:
        return _per_type_for(p, swap_type, offset)
    if s == 2:
        return _hashed_for(p, swap_type, offset)
    return _split_for(p, swap_type, offset)


@njit(**HOT)
def pool_for(p, swap_type, offset) -> int:
    """2012: one pool per swap type; 2023 (b8cf32dc6e8c): one of N pools, chosen by hash."""
    if p[P_POOLS_HASHED] == 0:
        return swap_type % p[P_NPOOLS]
    h = (offset ^ (swap_type << 40)) * -4658895280553007687  # int64 wrap-around: a 0xBF58476D1CE4E5B9 multiply
    return ((h >> 33) & 0x7FFFFFFF) % p[P_NPOOLS]
