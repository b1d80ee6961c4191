"""The per-step invariants that need no Python: compiled, so that checking after every step costs
about what the step does.  ``step_check`` returns 0 or a STEP_* code with its details in ``out``;
execution.py words the violation."""

from __future__ import annotations

import numpy as np
from numba import njit

from zswap_conc.arena import CS_DEPTH, CS_STORE_DEPTH, PHASE_MEASURE, SL_BUSY
from zswap_conc.checked import CHK_CODE
from zswap_conc.index import NIL, index_check
from zswap_conc.jit import HOT
from zswap_conc.ops.counters import C_MISMATCH
from zswap_conc.ops.entry import E_STATE, ENTRY_FREE
from zswap_conc.ops.frame import F_ENTRY
from zswap_conc.ops.step import op_step
from zswap_conc.sync import H_DEPTH, H_REC, HR_LOCK, HR_WIDTH, LK_CLASS

STEP_OK = 0
STEP_HOOK = 1  # a checked hook recorded a violation (chk_ctl)
STEP_MISMATCH = 2  # the code's own data check failed
STEP_FREED = 3  # out: cpu, depth, entry -- an operation holds a freed entry
STEP_REUSED = 4  # out: cpu, depth, entry, generation held, generation now
STEP_LOCK_ORDER = 5  # out: cpu, outer class, inner class
STEP_RECURSION = 6  # out: cpu, store depth
STEP_TREE = 7  # out: tree, check code


@njit(**HOT)
def step_check(a, n, trees, lock_rank, recursion_bound, ref_e, ref_gen, out) -> int:
    """Every per-step invariant but deadlock.  ``ref_e``/``ref_gen`` [cpu, depth] remember which
    entry each frame held and its generation when it took it (updated here)."""
    if a.chk_ctl[CHK_CODE] != 0:
        return STEP_HOOK
    for c in range(a.cnt.shape[1]):
        if a.cnt[PHASE_MEASURE, c, C_MISMATCH] > 0:
            return STEP_MISMATCH
    for cpu in range(n):
        depth = a.cpu_state[cpu, CS_DEPTH]
        for k in range(ref_e.shape[1]):
            e = a.frames[cpu, k, F_ENTRY] if k < depth else NIL
            if e == NIL:
                ref_e[cpu, k] = NIL
                continue
            if ref_e[cpu, k] != e:
                ref_e[cpu, k] = e
                ref_gen[cpu, k] = a.chk_gen[e]
            if a.nodes[e, E_STATE] == ENTRY_FREE:
                out[0], out[1], out[2] = cpu, k, e
                return STEP_FREED
            if a.chk_gen[e] != ref_gen[cpu, k]:
                out[0], out[1], out[2], out[3], out[4] = cpu, k, e, ref_gen[cpu, k], a.chk_gen[e]
                return STEP_REUSED
        hd = a.held[cpu, H_DEPTH]
        for k in range(1, hd):
            outer = a.locks[a.held[cpu, H_REC + (k - 1) * HR_WIDTH + HR_LOCK], LK_CLASS]
            inner = a.locks[a.held[cpu, H_REC + k * HR_WIDTH + HR_LOCK], LK_CLASS]
            if lock_rank[outer] >= lock_rank[inner]:
                out[0], out[1], out[2] = cpu, outer, inner
                return STEP_LOCK_ORDER
        if a.cpu_state[cpu, CS_STORE_DEPTH] > recursion_bound:
            out[0], out[1] = cpu, a.cpu_state[cpu, CS_STORE_DEPTH]
            return STEP_RECURSION
    for i in range(trees.shape[0]):
        t = trees[i]
        c = index_check(a.params, a.roots, a.nodes, a.xa, t)
        if c < 0:
            out[0], out[1] = t, c
            return STEP_TREE
    return STEP_OK


def rank_table(ranks: dict[int, int]) -> np.ndarray:
    t = np.zeros(max(ranks) + 1, np.int64)
    for k, v in ranks.items():
        t[k] = v
    return t


@njit(**HOT)
def checked_step(a, cpu, slot_rows, busy, n, trees, lock_rank, recursion_bound, ref_e, ref_gen, out) -> int:
    """One step of ``cpu`` (op_step) and the per-step invariants, in one compiled call (each call
    from Python unpacks the arena's arrays: about as long as a step).  ``busy`` gets the program's
    slots' busy bits before the step; ``out[7]`` is 1 if one changed (a writeback's claim or
    release), ``out[6]`` the invariants' STEP_* code.  Returns the step's PROGRESS/BLOCKED/DONE."""
    for i in range(slot_rows.shape[0]):
        busy[i] = a.slots[slot_rows[i], SL_BUSY]
    st = op_step(a, cpu)
    out[7] = 0
    for i in range(slot_rows.shape[0]):
        if a.slots[slot_rows[i], SL_BUSY] != busy[i]:
            out[7] = 1
    out[6] = step_check(a, n, trees, lock_rank, recursion_bound, ref_e, ref_gen, out)
    return st
