"""Checked mode's own checks: assert_held (compiled out of the real path), entry generations for
use-after-free, and the sequential oracle that does not trust the code under test."""

import numpy as np
import pytest
from numba import njit

from zswap_conc.arena import CS_DEPTH, SL_KEY, Arena
from zswap_conc.check import mutants
from zswap_conc.check.execution import Violation, World
from zswap_conc.check.hunt import replay
from zswap_conc.check.oracle import Oracle, OracleError
from zswap_conc.check.programs import PREFILL, Program, settings_normal
from zswap_conc.checked import (
    CHK_CODE,
    CHK_MUTANT,
    CHK_NOT_HELD,
    W_TREE,
    chk_gen_bump,
    chk_held,
    chk_refcount,
    chk_slot,
    chk_touch,
    chk_tree,
    mutant,
)
from zswap_conc.config import Config, validate
from zswap_conc.index import N_KEY, NIL, index_erase, index_search
from zswap_conc.ops.frame import F_ENTRY, RES_MISS, RES_OK
from zswap_conc.params import P_TREE_LOCK0
from zswap_conc.strategies import tree_for_key


@njit
def _every_hook(a):
    """Every hook, with a lock no CPU holds: a violation in checked mode, nothing in real mode."""
    chk_touch(a, 0, 1)
    chk_held(a, 0, a.params[P_TREE_LOCK0], W_TREE)
    chk_tree(a, 0, 0, True)
    if a.nodes[0, N_KEY] >= 0:  # an entry row in use (a refcount's lock is its tree's)
        chk_refcount(a, 0, 0)
    chk_slot(a, 0, 0, 5)
    chk_gen_bump(a, 0)
    return mutant(a, 1)


@njit
def _nothing(a):
    return False


def _body(asm: str) -> list[str]:
    """The instructions of a compiled function (labels, directives and comments dropped)."""
    return [ln.split()[0] for ln in asm.splitlines()
            if ln.strip() and not ln.strip().startswith((".", "#", ";")) and not ln.rstrip().endswith(":")]


def test_hooks_compile_out_of_the_real_path():
    cfg = validate(Config(cpus=2, pool_size=64 * 4096, swap_size=1 << 24))
    with Arena(cfg, shared=False) as real, Arena(cfg, shared=False, checked=True) as chk:
        assert not _every_hook(real.v) and not _nothing(real.v)
        # real mode: the same machine code as a function that does nothing
        sig = _every_hook.signatures[0]
        assert _body(_every_hook.inspect_asm(sig)) == _body(_nothing.inspect_asm(_nothing.signatures[0]))
        # checked mode: the same calls record a violation and read the mutant knob
        chk.v.chk_ctl[CHK_MUTANT] = 1
        assert _every_hook(chk.v)
        assert chk.v.chk_ctl[CHK_CODE] == CHK_NOT_HELD and chk.v.chk_gen[0] == 1


def test_assert_held_sees_a_missing_lock():
    """An invalidate that erases without tree_lock fails alone, with nothing racing it: the tree is
    touched by a CPU that does not hold its lock.  The correct invalidate passes."""
    program = Program(settings_normal({"kernel": "6.6"}), ((("invalidate", 3),),))
    w = World(program)
    try:
        v, _ = replay(w, [])
        assert v is None
    finally:
        w.close()
    with mutants.activate("lock-removed"):
        w = World(program)
        try:
            v, trace = replay(w, [])
        finally:
            w.close()
    assert v is not None and v.invariant == "assert_held" and "without holding tree_lock" in v.detail, trace


def test_assert_held_sees_an_early_unlock():
    program = Program(settings_normal({"kernel": "6.6"}), ((("load", 3),),))
    with mutants.activate("unlock-early"):
        w = World(program)
        try:
            v, _ = replay(w, [])
        finally:
            w.close()
    assert v is not None and v.invariant == "assert_held" and "refcount" in v.detail


def test_generation_catches_a_reused_entry():
    """An operation holds an entry whose row was freed and allocated again: the row is live, so a
    check of the FREE state alone misses it; its generation changed, so the hunter does not."""
    program = Program(settings_normal({"kernel": "6.6"}), ((("load", 3),),))
    w = World(program)
    try:
        ex = w.execution()
        ex.step(0)  # begin: the load's frame is pushed
        for _ in range(20):
            if ex.a.frames[0, int(ex.a.cpu_state[0, CS_DEPTH]) - 1, F_ENTRY] != NIL:
                break
            ex.step(0)
        e = int(ex.a.frames[0, 0, F_ENTRY])
        assert e != NIL
        ex.a.chk_gen[e] += 1  # what entry_free + entry_alloc by another CPU leave behind
        with pytest.raises(Violation) as info:
            ex.step(0)
        assert info.value.invariant == "use-after-free" and "allocated again" in info.value.detail
        v, _ = replay(w, [])  # untouched, the same program passes
        assert v is None
    finally:
        w.close()


def test_oracle_keeps_its_own_model():
    """The oracle counts versions itself: a load that misses a stored slot, one that finds an
    invalidated one, and a tree that kept an invalidated slot's entry are all caught."""
    program = Program(settings_normal({"kernel": "6.6"}), ((("load", 3),),))
    w = World(program)
    try:
        w.execution()
        a = w.arena.v
        o = Oracle(a, w.slots, PREFILL, exclusive=False)
        page = np.zeros(a.cpu_out.shape[1], np.uint8)
        with pytest.raises(OracleError, match="found nothing"):
            o.load_done(1, RES_MISS, page)
        with pytest.raises(OracleError, match="did not return version 1"):
            o.load_done(1, RES_OK, page)  # zeros are not slot 1's page
        with pytest.raises(OracleError, match="nothing is stored"):
            o.load_done(PREFILL, RES_OK, page)
        o.invalidate_done(3)  # the model forgets slot 3, the pool does not
        with pytest.raises(OracleError, match="slot 3 holds nothing"):
            o.check_end(w.buf)
        # and a pool that lost slot 2's entry, with nothing on the device, is caught too
        o = Oracle(a, w.slots, PREFILL, exclusive=False)
        key = a.slots[2, SL_KEY]
        t = tree_for_key(a.params, key)
        index_erase(a.params, a.roots, a.nodes, a.xa, t, index_search(a.params, a.roots, a.nodes, a.xa, t, key))
        with pytest.raises(OracleError, match="slot 2's version 1 is neither"):
            o.check_end(w.buf)
    finally:
        w.close()
