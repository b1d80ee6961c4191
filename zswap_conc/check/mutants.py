"""The mutation suite's mutants: small, named breakages of the correct protocol, as a developer's
own change might introduce them.

Each mutant is a branch in the step code (ops/) behind ``checked.mutant(a, M_*)``, which compiles
to a constant False on the real path and reads the checked arena's ``chk_ctl`` in the hunter.  A
mutant is switched on with the hidden knob ``active(name)`` (or the ``ZSWAP_CONC_MUTANT``
environment variable): the hunter is told nothing else, so ``hunt --variant none`` must find it in
the configurations and programs it draws, as it would find a user's bug.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

from zswap_conc.checked import (
    M_CLAIM_SKIPPED,
    M_FREE_FORGOTTEN,
    M_LOCK_REMOVED,
    M_RECHECK_REMOVED,
    M_UNLOCK_EARLY,
)

ENV = "ZSWAP_CONC_MUTANT"


@dataclass(frozen=True)
class Mutant:
    name: str
    id: int
    description: str


MUTANTS = {m.name: m for m in (
    Mutant("lock-removed", M_LOCK_REMOVED, "invalidate looks the slot up and erases it without taking tree_lock"),
    Mutant("unlock-early", M_UNLOCK_EARLY, "a load releases tree_lock after the search, one step before it takes "
                                           "its reference to the entry (refcounted profiles)"),
    Mutant("claim-skipped", M_CLAIM_SKIPPED, "writeback goes on with its victim without claiming the slot's busy "
                                             "bit (the swap-cache page)"),
    Mutant("free-forgotten", M_FREE_FORGOTTEN, "invalidate drops the entry's last reference but never frees it"),
    Mutant("recheck-removed", M_RECHECK_REMOVED, "writeback works on the entry it took from the LRU without "
                                                 "re-checking the tree once the slot is secured (04fc7816089c "
                                                 "undone; refcounted profiles)"),
)}
MUTANT_NAMES = tuple(MUTANTS)

_ACTIVE: list[str | None] = [None]


def active() -> str | None:
    """The mutant in effect: ``activate``'s, else the environment's, else None."""
    name = _ACTIVE[0] or os.environ.get(ENV) or None
    if name is not None and name not in MUTANTS:
        raise ValueError(f"{ENV}: unknown mutant {name!r}; accepted: {', '.join(MUTANT_NAMES)}")
    return name


@contextlib.contextmanager
def activate(name: str) -> Iterator[None]:
    """Run the enclosed checks with mutant ``name`` in the step code (worlds built inside it)."""
    if name not in MUTANTS:
        raise ValueError(f"unknown mutant {name!r}; accepted: {', '.join(MUTANT_NAMES)}")
    old = _ACTIVE[0]
    _ACTIVE[0] = name
    old_env = os.environ.get(ENV)
    os.environ[ENV] = name  # worker processes of a parallel hunt inherit it
    try:
        yield
    finally:
        _ACTIVE[0] = old
        if old_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old_env
