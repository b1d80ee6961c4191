"""Which lock an operation takes, and the lock order they keep.

LOCKING (the operations' view; each structure's own module says what its lock protects):
  swap_lock of a swap type   slot allocation and free (si->lock), when the profile takes it per page
  tree_lock of tree t        the tree's index and its entries' index columns and E_REFCOUNT
                             (the xarray's xa_lock under the same name)
  lru_lock                   zswap's own LRU (lru_lock own); a tree-LRU is under tree_lock and an
                             allocator LRU under its pool lock
  pool_lock / class_lock     the allocator: one per pool, or one per zsmalloc size class
  swap_cache_lock            the swap cache's address space: taken alone, around adding a page to
                             the swap cache or deleting it
  a slot's busy bit          the swap-cache page (SWAP_HAS_CACHE): everything else about the slot
Lock order: swap_lock -> tree_lock -> lru_lock -> pool_lock / class_lock.  An invalidate runs under
its swap type's swap_lock where the profile frees slots under si->lock (3.x); a store's LRU add runs
under tree_lock (6.5-6.9); an entry's free runs under tree_lock where the profile frees there.
Checked mode verifies the order after every step.

Every lock attempt names its call site (the operation and the step), for lock_stat's contention
points: ``lock_site``.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.checked import chk_lock, chk_unlock
from zswap_conc.jit import HOT
from zswap_conc.lru import LRU_LOCK_ALLOC, LRU_LOCK_TREE
from zswap_conc.params import (
    P_CLASS_LOCKS,
    P_LOCK_KIND,
    P_LOCKSTAT,
    P_LRU_LOCK,
    P_LRU_LOCK0,
    P_POOL_LOCK0,
    P_SWAP_CACHE_LOCK,
    P_SWAP_CACHE_LOCK0,
    P_SWAP_CACHE_PER_TYPE,
    P_SWAP_LOCK,
    P_SWAP_LOCK0,
    P_TREE_LOCK0,
    SWAP_CACHE_64M,
    SWAP_CACHE_OFF,
    SWAP_LOCK_OFF,
)
from zswap_conc.pool.zsmalloc import zs_class
from zswap_conc.strategies.split64m import SWAP_ADDRESS_SPACE_SHIFT
from zswap_conc.swap_entry import swp_offset, swp_type
from zswap_conc.sync import SITES, spin_trylock_step, spin_unlock

SITE_PCS = 32  # call-site ids: operation * SITE_PCS + step
SITE_FREE = SITE_PCS - 2  # every free step of an operation shares one site id
SITE_SWAP_PATH = SITE_PCS - 1  # and every swap-path step another
PC_SHARED = 64  # steps numbered from here are shared by every operation (ops/frame.py)
PC_SWAP_PATH = 72  # ... and from here they are the swap path's
assert 4 * SITE_PCS <= SITES


@njit(**HOT)
def lock_site(op, pc) -> int:
    """The call-site id of step ``pc`` of operation ``op`` (``ops.step.site_name`` labels it)."""
    if pc >= PC_SWAP_PATH:
        return op * SITE_PCS + SITE_SWAP_PATH
    if pc >= PC_SHARED:
        return op * SITE_PCS + SITE_FREE
    return op * SITE_PCS + pc


@njit(**HOT)
def tree_lock_id(a, t) -> int:
    return a.params[P_TREE_LOCK0] + t


@njit(**HOT)
def pool_lock_id(a, pl, size) -> int:
    """The allocator lock covering a ``size``-byte object of pool ``pl``: the pool's, or its size
    class's (zsmalloc's class->lock)."""
    p = a.params
    if p[P_CLASS_LOCKS] > 1:
        return p[P_POOL_LOCK0] + pl * p[P_CLASS_LOCKS] + zs_class(size)
    return p[P_POOL_LOCK0] + pl


@njit(**HOT)
def lru_lock_id(a, lru) -> int:
    """The lock of object LRU ``lru``: its tree's, its pool's, or zswap's own lru_lock."""
    p = a.params
    if p[P_LRU_LOCK] == LRU_LOCK_TREE:
        return p[P_TREE_LOCK0] + lru
    if p[P_LRU_LOCK] == LRU_LOCK_ALLOC:
        return p[P_POOL_LOCK0] + lru * p[P_CLASS_LOCKS]
    return p[P_LRU_LOCK0]


@njit(**HOT)
def swap_lock_id(a, key) -> int:
    """The si->lock of ``key``'s swap type, or -1 where the profile takes none per page."""
    if a.params[P_SWAP_LOCK] == SWAP_LOCK_OFF:
        return -1
    return a.params[P_SWAP_LOCK0] + swp_type(key)


@njit(**HOT)
def swap_cache_lock_id(a, key) -> int:
    """The lock of the swap-cache address space holding ``key`` (per type, or per 64 MiB), or -1."""
    p = a.params
    if p[P_SWAP_CACHE_LOCK] == SWAP_CACHE_OFF:
        return -1
    region = swp_offset(key) >> SWAP_ADDRESS_SPACE_SHIFT if p[P_SWAP_CACHE_LOCK] == SWAP_CACHE_64M else 0
    return p[P_SWAP_CACHE_LOCK0] + swp_type(key) * p[P_SWAP_CACHE_PER_TYPE] + region


@njit(**HOT)
def lock_try(a, lk, cpu, site) -> bool:
    """One attempt at lock ``lk`` from call site ``site``; True once ``cpu`` holds it."""
    chk_lock(a, cpu, lk)
    return spin_trylock_step(a.locks, a.held, a.params[P_LOCK_KIND], a.params[P_LOCKSTAT], lk, cpu, site)


@njit(**HOT)
def unlock(a, lk, cpu, ph) -> None:
    chk_unlock(a, cpu, lk)
    spin_unlock(a.locks, a.held, a.lstat, a.lsite, a.params[P_LOCK_KIND], a.params[P_LOCKSTAT], ph, lk, cpu)
