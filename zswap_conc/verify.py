"""End-of-run verification: every live entry holds the newest data, and the books balance.

Runs in the parent after the workers stopped (or in the race hunter after any step, with no
operation in flight): every slot the model says is in the pool is found in its tree and
decompresses to exactly its newest page; every slot the model says is on the swap device holds
exactly its newest page there; no other slot has an entry; every tree satisfies the
red-black invariants; the pools' object and byte counts equal what the live entries hold; and
every pool passes its own consistency check.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.arena import G_FRAMES_USED, SL_KEY, SL_LIVE, SL_ON_DEVICE, SL_VERSION
from zswap_conc.index import N_KEY, NIL, R_COUNT, index_check, index_search
from zswap_conc.lru import LM_LEN, LRU_LOCK_ALLOC, LRU_LOCK_TREE, frame_lru_check, lru_check
from zswap_conc.ops.entry import (
    E_HANDLE,
    E_LENGTH,
    E_POOL,
    E_STATE,
    E_VERSION,
    ENTRY_FREE,
    ENTRY_LIVE,
    entry_read,
)
from zswap_conc.pages import page_verify
from zswap_conc.params import P_ALLOCATOR, P_LRU_LOCK, P_NLRUS, P_NPOOLS, P_NTREES, P_WS_SLOTS
from zswap_conc.pool import PM_BYTES, PM_FRAMES_USED, PM_OBJECTS, pool_check
from zswap_conc.strategies import tree_for_key

V_VERIFIED = 0  # live entries whose data was checked
V_MISMATCHES = 1  # live entries with wrong data, or slots whose presence is wrong
V_TREE_ERROR = 2  # first failing tree_check code (0: all trees sound)
V_POOL_ERROR = 3  # first failing pool_check code (0: all pools sound)
V_ACCOUNTING = 4  # 1 if pool objects/bytes differ from the live entries
V_STORED = 5  # live entries (zswap's stored_pages)
V_SAME_FILLED = 6  # of those, same-filled (same_filled_pages)
V_FRAMES = 7  # pool frames in use (pool_total_size / 4096)
V_COMPRESSED_BYTES = 8  # bytes of compressed objects held
V_LEAKED = 9  # entries neither free nor live with no operation in flight
V_DEVICE_VERIFIED = 10  # slots whose newest data is on the swap device, checked there
V_LRU_ERROR = 11  # first failing lru_check code, or -20 if LRU lengths differ from the objects
V_GLOBAL_FRAMES = 12  # 1 if the global frames-in-use counter differs from the pools' sum
V_WIDTH = 13


@njit(cache=True)
def arena_verify(a, cpu_buf) -> np.ndarray:
    """Check the whole arena; uses CPU ``cpu_buf``'s scratch buffers for decompression."""
    r = np.zeros(V_WIDTH, np.int64)
    p = a.params
    n = a.nodes
    out = a.cpu_out[cpu_buf]
    for s in range(p[P_WS_SLOTS]):
        key = a.slots[s, SL_KEY]
        t = tree_for_key(p, key)
        e = index_search(p, a.roots, n, a.xa, t, key)
        live = a.slots[s, SL_LIVE] != 0
        if a.slots[s, SL_ON_DEVICE] != 0:
            if live or not page_verify(a.corpus, p, key, a.slots[s, SL_VERSION], a.device[s]):
                r[V_MISMATCHES] += 1
            else:
                r[V_DEVICE_VERIFIED] += 1
        if e == NIL:
            if live:
                r[V_MISMATCHES] += 1
            continue
        if not live or n[e, E_VERSION] != a.slots[s, SL_VERSION]:
            r[V_MISMATCHES] += 1
            continue
        if entry_read(a, cpu_buf, e, out) and page_verify(a.corpus, p, key, a.slots[s, SL_VERSION], out):
            r[V_VERIFIED] += 1
        else:
            r[V_MISMATCHES] += 1
    in_trees = 0
    for t in range(p[P_NTREES]):
        c = index_check(p, a.roots, n, a.xa, t)
        if c < 0 and r[V_TREE_ERROR] == 0:
            r[V_TREE_ERROR] = c
        in_trees += a.roots[t, R_COUNT]
    npools = p[P_NPOOLS]
    objects = np.zeros(npools, np.int64)
    nbytes = np.zeros(npools, np.int64)
    on_lru = np.zeros(p[P_NLRUS], np.int64)  # entries each object LRU must list
    for e in range(n.shape[0]):
        st = n[e, E_STATE]
        if st == ENTRY_LIVE:
            r[V_STORED] += 1
            if n[e, E_HANDLE] < 0:
                r[V_SAME_FILLED] += 1
            else:
                objects[n[e, E_POOL]] += 1
                nbytes[n[e, E_POOL]] += n[e, E_LENGTH]
                r[V_COMPRESSED_BYTES] += n[e, E_LENGTH]
                lock = p[P_LRU_LOCK]
                on_lru[n[e, E_POOL] if lock == LRU_LOCK_ALLOC else (
                    tree_for_key(p, n[e, N_KEY]) if lock == LRU_LOCK_TREE else 0)] += 1
        elif st != ENTRY_FREE:
            r[V_LEAKED] += 1
    if in_trees != r[V_STORED]:
        r[V_ACCOUNTING] = 1
    for pl in range(npools):
        c = pool_check(p[P_ALLOCATOR], a.pool_meta, a.pool_heads, a.frame_meta, a.frame_free, pl)
        if c < 0 and r[V_POOL_ERROR] == 0:
            r[V_POOL_ERROR] = c
        if a.pool_meta[pl, PM_OBJECTS] != objects[pl] or a.pool_meta[pl, PM_BYTES] != nbytes[pl]:
            r[V_ACCOUNTING] = 1
        r[V_FRAMES] += a.pool_meta[pl, PM_FRAMES_USED]
        if p[P_LRU_LOCK] == LRU_LOCK_ALLOC:
            c = frame_lru_check(a.pool_meta, a.frame_lru, a.obj_owner, p[P_ALLOCATOR], pl)
            if c < 0 and r[V_LRU_ERROR] == 0:
                r[V_LRU_ERROR] = c
    for lru in range(p[P_NLRUS]):
        c = lru_check(a.lru_meta, n, lru)
        if c < 0 and r[V_LRU_ERROR] == 0:
            r[V_LRU_ERROR] = c
        if a.lru_meta[lru, LM_LEN] != on_lru[lru] and r[V_LRU_ERROR] == 0:
            r[V_LRU_ERROR] = -20
    if a.ctl[2, G_FRAMES_USED] != r[V_FRAMES]:
        r[V_GLOBAL_FRAMES] = 1
    return r


V_NAMES = ("verified", "mismatches", "tree_error", "pool_error", "accounting", "stored", "same_filled", "frames",
           "compressed_bytes", "leaked", "device_verified", "lru_error", "global_frames")  # the V_* columns, named
assert len(V_NAMES) == V_WIDTH


def arena_verify_report(a, cpu_buf: int = 0) -> dict[str, int]:
    """``arena_verify`` with its figures named (``V_NAMES``), as records carry them."""
    v = arena_verify(a, cpu_buf)
    return {name: int(v[i]) for i, name in enumerate(V_NAMES)}
