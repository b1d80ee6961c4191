"""Lock helpers of the operations, and the lock order they keep.

LOCKING (the operations' view; each structure's own module says what its lock protects):
  tree_lock of tree t      the tree and its entries' tree columns and E_REFCOUNT (index.py, entry.py)
  pool_lock of pool p      the pool's allocator state, LRUs and owner map (pool/, lru.py)
  a slot's busy bit        everything else about the slot and its entry (entry.py)
Lock order: tree_lock -> pool_lock.  No path of the correct protocol nests them: an entry's pool
object is freed after its tree_lock is released.  Checked mode verifies the order after every step.

A lock step makes one attempt (``sync.spin_trylock_step``): a BLOCKED step changed nothing but the
waiter's own pending-attempt record, so a scheduler may retry it at any time.  Every attempt names
its call site (the operation and the step), for lock_stat's contention points.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.jit import HOT, STEP
from zswap_conc.ops.counters import C_BLOCKED_STEPS
from zswap_conc.ops.frame import BLOCKED, F_OP, F_PC, F_PHASE, PROGRESS
from zswap_conc.params import P_LOCK_KIND, P_LOCKSTAT, P_POOL_LOCK0, P_TREE_LOCK0
from zswap_conc.sync import SITES, spin_trylock_step, spin_unlock

SITE_PCS = 32  # call-site ids: operation * SITE_PCS + step; a free step is the operation's last id
assert 4 * SITE_PCS <= SITES


@njit(**STEP)
def lock_site(op, pc) -> int:
    """The call-site id of step ``pc`` of operation ``op`` (``ops.step.site_name`` labels it)."""
    return op * SITE_PCS + (pc if pc < SITE_PCS - 1 else SITE_PCS - 1)


@njit(**STEP)
def tree_lock_id(a, t) -> int:
    return a.params[P_TREE_LOCK0] + t


@njit(**STEP)
def pool_lock_id(a, pl) -> int:
    return a.params[P_POOL_LOCK0] + pl


@njit(**HOT)
def lock_try(a, lk, cpu, site) -> bool:
    """One attempt at lock ``lk`` from call site ``site``; True once ``cpu`` holds it."""
    return spin_trylock_step(a.locks, a.held, a.params[P_LOCK_KIND], a.params[P_LOCKSTAT], lk, cpu, site)


@njit(**HOT)
def unlock(a, lk, cpu, ph) -> None:
    spin_unlock(a.locks, a.held, a.lstat, a.lsite, a.params[P_LOCK_KIND], a.params[P_LOCKSTAT], ph, lk, cpu)


@njit(**STEP)
def lock_step(a, cpu, f, lk, next_pc) -> int:
    """A step that takes lock ``lk``: BLOCKED while it is busy, else on to ``next_pc`` (every lock
    step is followed by its critical section)."""
    if not lock_try(a, lk, cpu, lock_site(f[F_OP], f[F_PC])):
        a.cnt[f[F_PHASE], cpu, C_BLOCKED_STEPS] += 1
        return BLOCKED
    f[F_PC] = next_pc
    return PROGRESS
