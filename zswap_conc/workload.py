"""The workload: which operation each simulated CPU performs next, and on which swap slot.

Each CPU stores into its own 256-slot clusters, in order (the kernel hands every CPU a cluster of
contiguous swap slots), while loads and invalidates pick any slot of the working set, as pages
swapped out by one CPU are faulted back in or freed by another.  A store whose slot still holds
data first frees it (an invalidate), as the kernel frees a swap slot before reusing it; only a
``--dup-rate`` share of such stores overwrite it instead (zswap's rare duplicate_entry).

Before an operation starts, its CPU claims the slot's busy bit, because the kernel never lets two
operations on the same slot overlap (page lock, swap cache); a claimed slot makes the CPU pick again.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import CS_CURSOR, CS_RNG, SL_BUSY, SL_LIVE, SL_ON_DEVICE
from zswap_conc.config import CLUSTER_PAGES
from zswap_conc.jit import HOT
from zswap_conc.ops.frame import OP_INVALIDATE, OP_LOAD, OP_STORE
from zswap_conc.pages import mix64
from zswap_conc.params import P_CLUSTERS_PER_CPU, P_DUP_PER_64K, P_MIX_LOAD, P_MIX_STORE, P_WS_SLOTS
from zswap_conc.sync import atomic_cas, store_release

PRESETS = {
    "thrash": (50, 35, 15),  # the mixed default: swap out, in and free at once
    "swapout-storm": (100, 0, 0),  # reclaim pushing everything out
    "swapin": (5, 95, 0),  # faulting a working set back in (a few stores keep it populated)
    "exit": (30, 0, 70),  # processes exiting: their swap freed
}


@njit(**HOT)
def _rand(state, cpu):
    # splitmix64: a counter through a strong mixer; cheap, and each CPU has its own stream
    x = state[cpu, CS_RNG] - 7046029254386353131  # + 0x9E3779B97F4A7C15, int64 wrap-around
    state[cpu, CS_RNG] = x
    return mix64(x)


@njit(**HOT)
def workload_next(a, cpu):
    """(operation, slot) for ``cpu``'s next operation; slot -1 if the chosen slot was busy."""
    p = a.params
    r = _rand(a.cpu_state, cpu)
    pick = r % 100
    span = p[P_CLUSTERS_PER_CPU] * CLUSTER_PAGES
    if pick < p[P_MIX_STORE]:
        op = OP_STORE
        cur = a.cpu_state[cpu, CS_CURSOR]
        slot = cpu * span + cur
    else:
        op = OP_LOAD if pick < p[P_MIX_STORE] + p[P_MIX_LOAD] else OP_INVALIDATE
        slot = (r >> 8) % p[P_WS_SLOTS]
    if atomic_cas(a.slots[slot], SL_BUSY, 0, cpu + 1) != 0:
        return op, -1
    if op == OP_STORE:
        holds = a.slots[slot, SL_LIVE] != 0 or a.slots[slot, SL_ON_DEVICE] != 0
        if holds and ((r >> 16) & 0xFFFF) >= p[P_DUP_PER_64K]:
            # the kernel frees a swap slot before handing it out again: the slot's old data is
            # invalidated first, and the store comes back to it next time (no duplicate_entry)
            return OP_INVALIDATE, slot
        a.cpu_state[cpu, CS_CURSOR] = (a.cpu_state[cpu, CS_CURSOR] + 1) % span
    return op, slot


@njit(**HOT)
def slot_release(a, slot) -> None:
    store_release(a.slots[slot], SL_BUSY, 0)
