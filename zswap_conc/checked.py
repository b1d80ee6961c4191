"""Checked mode's hooks inside the compiled step code: ``assert_held``, generation numbers for
use-after-free, the footprint of a step (for partial-order reduction), freed trees (swapoff) and the
mutants of the mutation suite.

The step code calls these hooks with the arena ``a``.  Workers pass ``ArenaViews`` and every hook
compiles to an empty inlined function: no load, no branch, nothing left in the measured path
(``tests/test_check_hooks.py`` compares the machine code).  The race hunter passes ``CheckedViews``
(arena.py: the same arrays plus the ``chk_*`` ones), for which numba builds a second specialisation
of the step code, with the hooks in it, the first time the hunter runs (cached like the first).

What the checked hooks assert, the first failure recorded in ``chk_ctl`` for the driver to raise:
  held      every access to a tree, a pool, an LRU or a refcount: the stepping CPU holds its lock
            (ops/locking.py says which); an unlock: the CPU holds the lock
  slot      every write to a slot's row or its device page: the CPU holds the slot's busy bit
  tree      no access to a tree that swapoff freed
Generations: ``chk_gen[e]`` counts entry row ``e``'s allocations; the driver remembers the generation
when an operation takes the entry and reports a use-after-free when it changes under it.
"""

from __future__ import annotations

from numba import types
from numba.extending import overload

from zswap_conc.arena import SL_BUSY
from zswap_conc.index import N_KEY
from zswap_conc.params import P_NTREES, P_TREE_LOCK0, P_WB_ORDER, WB_CLAIM_FIRST
from zswap_conc.strategies import tree_for_key
from zswap_conc.sync import LK_OWNER

# chk_ctl columns
CHK_MUTANT = 0  # mutants.MUTANTS id in effect (0: none)
CHK_CODE = 1  # first violation: CHK_* below, 0 if none
CHK_CPU = 2  # ... the CPU that made it
CHK_OBJ = 3  # ... the lock, slot or entry concerned
CHK_WHAT = 4  # ... what was accessed (W_*)
CHK_WIDTH = 8

CHK_NOT_HELD = 1  # a protected structure accessed without its lock
CHK_UNLOCK_UNHELD = 2  # a lock released by a CPU that does not hold it
CHK_SLOT_UNOWNED = 3  # a slot's row or device page written without its busy bit
CHK_TREE_FREED = 4  # a tree used after swapoff freed it
CHK_NAMES = {CHK_NOT_HELD: "assert_held", CHK_UNLOCK_UNHELD: "assert_held", CHK_SLOT_UNOWNED: "assert_held",
             CHK_TREE_FREED: "use-after-free"}

W_TREE = 1  # a tree's index
W_POOL = 2  # an allocator's structures
W_LRU = 3  # an LRU
W_REFCOUNT = 4  # an entry's refcount
W_SLOT = 5  # a slot's row
W_DEVICE = 6  # a slot's page on the swap device
W_LOCK = 7  # a lock (unlock)
W_NAMES = {W_TREE: "tree", W_POOL: "pool", W_LRU: "LRU", W_REFCOUNT: "refcount", W_SLOT: "slot row",
           W_DEVICE: "device page", W_LOCK: "lock"}

# footprint object ids (chk_fp[cpu, 1:1 + chk_fp[cpu, 0]]): a lock id stands for what it protects
FP_MAX = 60  # objects recorded per step; more marks the step as touching everything
FP_SLOT = 1 << 20  # FP_SLOT + s: slot s (its row, its entries, its device page)
FP_GLOBAL = 1 << 21  # the pool's global counters (frames in use, shrink work)
FP_ALL = -1  # overflow: dependent on every step

# the mutants of the correct protocol (check/mutants.py names and describes them)
M_NONE = 0
M_LOCK_REMOVED = 1  # invalidate erases without taking tree_lock
M_UNLOCK_EARLY = 2  # a load drops tree_lock one step before it takes its reference
M_CLAIM_SKIPPED = 3  # writeback uses its victim's slot without claiming the busy bit
M_FREE_FORGOTTEN = 4  # invalidate drops the last reference but never frees the entry
M_RECHECK_REMOVED = 5  # writeback skips the re-check after securing the slot (refcounted orders)

# entry columns and states (ops/entry.py asserts they agree; it imports this module)
_E_STATE = 5
_ENTRY_NEW = 1
_ENTRY_DEAD = 3


def _checked(a) -> bool:
    return isinstance(a, types.BaseNamedTuple) and "chk_ctl" in a.fields


_OPTS = {"inline": "always", "jit_options": {"_nrt": False}}


# ---- the hooks (Python stubs; the overloads below are what compiled code gets) ------------------
def chk_touch(a, cpu, obj) -> None:
    """Note that ``cpu``'s step touches footprint object ``obj``."""


def chk_lock(a, cpu, lk) -> None:
    """A lock attempt: footprint; taking a freed tree's lock is a use-after-free."""


def chk_unlock(a, cpu, lk) -> None:
    """A release: ``cpu`` must hold ``lk``."""


def chk_held(a, cpu, lk, what) -> None:
    """An access to what ``lk`` protects: ``cpu`` must hold it."""


def chk_tree(a, cpu, t, locked) -> None:
    """An access to tree ``t`` (under its lock when ``locked``; an xarray lookup takes none)."""


def chk_refcount(a, cpu, e) -> None:
    """A change to entry ``e``'s refcount: under its tree's lock, unless the entry is private (new,
    or erased in a profile that keeps no refcount)."""


def chk_slot(a, cpu, slot, what) -> None:
    """A write to slot ``slot``'s row or device page: ``cpu`` must hold its busy bit."""


def chk_gen_bump(a, e) -> None:
    """Entry row ``e`` was allocated again: a new generation."""


def mutant(a, m) -> bool:
    """True when mutant ``m`` (mutants.py) is in effect; a constant False on the real path."""
    return False


def _fail(a, code, cpu, obj, what):
    pass


@overload(_fail, **_OPTS)
def _fail_ov(a, code, cpu, obj, what):
    def impl(a, code, cpu, obj, what):
        c = a.chk_ctl
        if c[CHK_CODE] == 0:
            c[CHK_CODE] = code
            c[CHK_CPU] = cpu
            c[CHK_OBJ] = obj
            c[CHK_WHAT] = what
    return impl


@overload(chk_touch, **_OPTS)
def _touch_ov(a, cpu, obj):
    if not _checked(a):
        return lambda a, cpu, obj: None

    def impl(a, cpu, obj):
        fp = a.chk_fp
        n = fp[cpu, 0]
        if n < 0:
            return
        if n >= FP_MAX:
            fp[cpu, 0] = FP_ALL
            return
        fp[cpu, 1 + n] = obj
        fp[cpu, 0] = n + 1
    return impl


@overload(chk_lock, **_OPTS)
def _lock_ov(a, cpu, lk):
    if not _checked(a):
        return lambda a, cpu, lk: None

    def impl(a, cpu, lk):
        chk_touch(a, cpu, lk)
        t = lk - a.params[P_TREE_LOCK0]
        if 0 <= t < a.params[P_NTREES] and a.chk_tree_dead[t] != 0:
            _fail(a, CHK_TREE_FREED, cpu, t, W_TREE)
    return impl


@overload(chk_unlock, **_OPTS)
def _unlock_ov(a, cpu, lk):
    if not _checked(a):
        return lambda a, cpu, lk: None

    def impl(a, cpu, lk):
        chk_touch(a, cpu, lk)
        if a.locks[lk, LK_OWNER] != cpu + 1:
            _fail(a, CHK_UNLOCK_UNHELD, cpu, lk, W_LOCK)
    return impl


@overload(chk_held, **_OPTS)
def _held_ov(a, cpu, lk, what):
    if not _checked(a):
        return lambda a, cpu, lk, what: None

    def impl(a, cpu, lk, what):
        chk_touch(a, cpu, lk)
        if a.locks[lk, LK_OWNER] != cpu + 1:
            _fail(a, CHK_NOT_HELD, cpu, lk, what)
    return impl


@overload(chk_tree, **_OPTS)
def _tree_ov(a, cpu, t, locked):
    if not _checked(a):
        return lambda a, cpu, t, locked: None

    def impl(a, cpu, t, locked):
        lk = a.params[P_TREE_LOCK0] + t
        chk_touch(a, cpu, lk)
        if a.chk_tree_dead[t] != 0:
            _fail(a, CHK_TREE_FREED, cpu, t, W_TREE)
        elif locked and a.locks[lk, LK_OWNER] != cpu + 1:
            _fail(a, CHK_NOT_HELD, cpu, lk, W_TREE)
    return impl


@overload(chk_refcount, **_OPTS)
def _refcount_ov(a, cpu, e):
    if not _checked(a):
        return lambda a, cpu, e: None

    def impl(a, cpu, e):
        lk = a.params[P_TREE_LOCK0] + tree_for_key(a.params, a.nodes[e, N_KEY])
        chk_touch(a, cpu, lk)
        st = a.nodes[e, _E_STATE]
        private = st == _ENTRY_NEW or (st == _ENTRY_DEAD and a.params[P_WB_ORDER] == WB_CLAIM_FIRST)
        if not private and a.locks[lk, LK_OWNER] != cpu + 1:
            _fail(a, CHK_NOT_HELD, cpu, lk, W_REFCOUNT)
    return impl


@overload(chk_slot, **_OPTS)
def _slot_ov(a, cpu, slot, what):
    if not _checked(a):
        return lambda a, cpu, slot, what: None

    def impl(a, cpu, slot, what):
        chk_touch(a, cpu, FP_SLOT + slot)
        if a.slots[slot, SL_BUSY] != cpu + 1:
            _fail(a, CHK_SLOT_UNOWNED, cpu, slot, what)
    return impl


@overload(chk_gen_bump, **_OPTS)
def _gen_ov(a, e):
    if not _checked(a):
        return lambda a, e: None

    def impl(a, e):
        a.chk_gen[e] += 1
    return impl


@overload(mutant, **_OPTS)
def _mutant_ov(a, m):
    if not _checked(a):
        return lambda a, m: False
    return lambda a, m: a.chk_ctl[CHK_MUTANT] == m
