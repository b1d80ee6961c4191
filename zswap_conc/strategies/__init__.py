"""Locking strategies: which tree, and so which tree_lock, serves a (swap type, offset).

Strategies differ in ``tree_for`` and the tree count, nothing else: store, load and invalidate
are the same code under every strategy.  Each strategy is one module naming itself (``NAME``) and
its id in the run parameters (``ID``); ``STRATEGY_MODULES`` is the registry.  Pool sharding is the
same idea for pools (``pool_for``).
"""

from __future__ import annotations

from numba import njit

from zswap_conc.jit import HOT
from zswap_conc.params import P_NPOOLS, P_POOLS_HASHED, P_STRATEGY
from zswap_conc.strategies import global_tree, hashed, per_swaptype, split64m
from zswap_conc.strategies.global_tree import ID as GLOBAL
from zswap_conc.strategies.global_tree import tree_for as global_tree_for
from zswap_conc.strategies.hashed import ID as HASHED
from zswap_conc.strategies.hashed import tree_for as hashed_tree_for
from zswap_conc.strategies.per_swaptype import ID as PER_SWAPTYPE
from zswap_conc.strategies.per_swaptype import tree_for as per_swaptype_tree_for
from zswap_conc.strategies.split64m import ID as SPLIT64M
from zswap_conc.strategies.split64m import tree_for as split64m_tree_for
from zswap_conc.swap_entry import swp_entry, swp_offset, swp_type

STRATEGY_MODULES = {m.NAME: m for m in (global_tree, per_swaptype, hashed, split64m)}
STRATEGY_IDS = {name: m.ID for name, m in STRATEGY_MODULES.items()}
STRATEGIES = tuple(STRATEGY_MODULES)
assert sorted(STRATEGY_IDS.values()) == list(range(len(STRATEGIES))), "strategy ids must be distinct"


def tree_count(name: str, swap_types: int, slots_per_type: int, buckets: int) -> int:
    return STRATEGY_MODULES[name].tree_count(swap_types, slots_per_type, buckets)


@njit(**HOT)
def tree_for(p, swap_type, offset) -> int:
    s = p[P_STRATEGY]
    if s == GLOBAL:
        return global_tree_for(p, swap_type, offset)
    if s == PER_SWAPTYPE:
        return per_swaptype_tree_for(p, swap_type, offset)
    if s == HASHED:
        return hashed_tree_for(p, swap_type, offset)
    if s == SPLIT64M:
        return split64m_tree_for(p, swap_type, offset)
    return 0  # unreachable: params_build writes a registered id


@njit(**HOT)
def pool_for(p, swap_type, offset) -> int:
    """2012: one pool per swap type; 2023 (b8cf32dc6e8c): one of N pools, chosen by hash."""
    if p[P_POOLS_HASHED] == 0:
        return swap_type % p[P_NPOOLS]
    h = swp_entry(swap_type, offset) * -4658895280553007687  # int64 wrap-around: a 0xBF58476D1CE4E5B9 multiply
    return ((h >> 33) & 0x7FFFFFFF) % p[P_NPOOLS]


@njit(**HOT)
def tree_for_key(p, key) -> int:
    """The tree of swap entry ``key``."""
    return tree_for(p, swp_type(key), swp_offset(key))


@njit(**HOT)
def pool_for_key(p, key) -> int:
    """The pool shard of swap entry ``key``."""
    return pool_for(p, swp_type(key), swp_offset(key))


@njit(**HOT)
def trees_of_keys(p, keys, out) -> None:
    """``out[i]``: the tree of swap entry ``keys[i]`` (sizing structures per tree)."""
    for i in range(keys.shape[0]):
        out[i] = tree_for_key(p, keys[i])
