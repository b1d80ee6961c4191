"""The independent oracle: a sequential reference model of what the pool must return.

Per slot it keeps the newest version stored (counted here, one per store, not read from the code
under test), the version a load must return (``logical``: None once the slot was invalidated, or
after an exclusive load took the page into the swap cache) and the version last written to the
swap device.  It is updated at each operation's linearization point: when the operation releases
the slot's busy bit (a store, load or invalidate holds it throughout; a writeback from its claim of
the victim to its release), since nothing else may change the slot in between.

Checked against it: every load's result (a miss exactly when nothing is stored; otherwise the bytes
returned equal the page of the version the model expects), every page written to the device (a
rejected store writes its own version; a writeback only the version the slot holds), and at the end
every slot: the tree holds an entry exactly when the model says the pool holds the data, and its
data, or the device page where the data went, decompresses or reads as the expected page.

The only things it reads from the code are return values a caller sees (stored or rejected, the
page a load returns) and the device, which is outside zswap.
"""

from __future__ import annotations

import numpy as np

from zswap_conc.arena import SL_KEY
from zswap_conc.index import NIL, index_search
from zswap_conc.ops.entry import entry_read
from zswap_conc.ops.frame import RES_DEVICE, RES_MISS, RES_OK, RES_REJECTED
from zswap_conc.pages import page_verify
from zswap_conc.strategies import tree_for_key


class OracleError(Exception):
    """The code disagrees with the reference model; the message says how."""


class Oracle:
    def __init__(self, a, slots: list[int], prefill: int, exclusive: bool):
        self.a = a
        self.exclusive = exclusive  # the profile's loads move the page into the swap cache
        self.version = {s: (1 if s < prefill else 0) for s in slots}  # stores so far
        self.logical = {s: (1 if s < prefill else None) for s in slots}  # what a load must return
        self.device = {s: None for s in slots}  # version last written to the device

    def state(self) -> tuple:
        return tuple(sorted(self.logical.items(), key=lambda kv: kv[0])) + tuple(sorted(self.version.items()))

    def _page_is(self, page: np.ndarray, s: int, version: int | None) -> bool:
        if version is None:
            return False
        a = self.a
        return bool(page_verify(a.corpus, a.params, a.slots[s, SL_KEY], version, page))

    # ---- linearization points ----------------------------------------------------------------
    def store_done(self, s: int, result: int) -> None:
        v = self.version[s] + 1
        self.version[s] = v
        self.logical[s] = v
        if result == RES_REJECTED:
            if not self._page_is(self.a.device[s], s, v):
                raise OracleError(f"a rejected store of slot {s} did not leave version {v} on the swap device")
            self.device[s] = v
        elif result != RES_OK:
            raise OracleError(f"a store of slot {s} returned {result}, neither stored nor rejected")

    def load_done(self, s: int, result: int, page: np.ndarray) -> None:
        want = self.logical[s]
        if want is None:
            if result != RES_MISS:
                raise OracleError(f"a load of slot {s} returned data, but nothing is stored there")
            return
        if result == RES_MISS:
            raise OracleError(f"a load of slot {s} found nothing, but version {want} was stored")
        if result not in (RES_OK, RES_DEVICE) or not self._page_is(page, s, want):
            raise OracleError(f"a load of slot {s} did not return version {want}")
        if self.exclusive and result == RES_OK:
            self.logical[s] = None  # the swap cache owns the page now

    def invalidate_done(self, s: int) -> None:
        self.logical[s] = None

    def writeback_done(self, s: int, before: bytes) -> None:
        """A writeback released slot ``s``; ``before`` is its device page when it claimed it."""
        page = self.a.device[s]
        if page.tobytes() == before:
            return  # nothing written (aborted, or re-stored into the pool)
        want = self.logical[s]
        if want is None:
            raise OracleError(f"writeback wrote slot {s}'s device page, but the slot holds nothing")
        if not self._page_is(page, s, want):
            raise OracleError(f"writeback wrote stale data over slot {s}: its device page is not version {want}")
        self.device[s] = want

    # ---- the end --------------------------------------------------------------------------------
    def check_end(self, buf: np.ndarray) -> None:
        a = self.a
        for s, want in self.logical.items():
            key = a.slots[s, SL_KEY]
            t = tree_for_key(a.params, key)
            e = index_search(a.params, a.roots, a.nodes, a.xa, t, key)
            if want is None:
                if e != NIL:
                    raise OracleError(f"slot {s} holds nothing, but its tree still has an entry for it")
                continue
            if e != NIL:
                if not (entry_read(a, 0, e, buf) and self._page_is(buf, s, want)):
                    raise OracleError(f"slot {s}'s entry does not hold version {want}")
            elif not self._page_is(a.device[s], s, want):
                raise OracleError(f"slot {s}'s version {want} is neither in the pool nor on the swap device")
