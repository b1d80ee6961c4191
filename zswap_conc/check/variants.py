"""Known-buggy protocols from the kernel's history, selectable by name, each with the program that
exercises it.  Programs run on a pool filled with slots 0..3 whose limit is set to its current size,
so the next store writes back the oldest entry (slot 0).  ``none`` names the correct protocol; the
hunter then draws its programs and configurations (programs.py) unless ``--fixed`` asks for the
variant's own program.

``kind`` is what the variant is expected to be: a race (only some interleavings fail) or a bug that
fails without any interleaving (some serial order of whole operations fails); the hunter measures
which it is (hunt.classify) and the tests hold it to this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zswap_conc.check.programs import Program, settings_normal

# a store that must write back slot 0 first, racing an invalidate + reuse of slot 0 and a load of it
WRITEBACK_RACE = (
    (("store", 4),),
    (("invalidate", 0), ("store", 0)),
    (("load", 0),),
)
RACE = "race"
SERIAL = "fails without interleaving"


@dataclass(frozen=True)
class VariantSpec:
    name: str
    description: str
    settings: dict = field(default_factory=dict)  # programs.SETTING_VALUES
    ops: tuple = WRITEBACK_RACE
    origin: str = ""
    kind: str = RACE

    @property
    def program(self) -> Program:
        return Program(settings_normal(self.settings), self.ops)


VARIANTS = {
    v.name: v
    for v in (
        VariantSpec("none", "the correct protocol: claim the slot, look up by key, re-check before erasing",
                    {"writeback": "direct"}, kind=""),
        VariantSpec("no-refcount-2013",
                    "writeback vs invalidate: the entry is looked up before the slot is secured; when "
                    "the slot was freed meanwhile (-ENOENT) writeback returns without dropping its "
                    "reference, so the entry and its compressed object leak",
                    {"protocol": "no-refcount-2013", "kernel": "3.11", "lru": "object"},
                    origin="2013; fixed in 3.13 by 'mm/zswap: bugfix: memory leak when invalidate and reclaim "
                           "occur concurrently' (commit id unverified)"),
        VariantSpec("no-recheck-2023",
                    "writeback decompresses entry A, meanwhile the slot is invalidated and reused for B; "
                    "without re-checking the tree, writeback writes stale A to the device over B",
                    {"protocol": "no-recheck-2023", "kernel": "6.6", "writeback": "direct"},
                    origin="04fc7816089c mm: fix zswap writeback race condition (6.4)"),
        VariantSpec("writeback-swapoff-2024",
                    "writeback vs swapoff: writeback takes an entry off the LRU, drops the LRU's lock and "
                    "then takes the tree's lock; swapoff can invalidate every slot and free the tree in "
                    "between (use-after-free of the tree)",
                    {"kernel": "6.6", "writeback": "direct"},  # pin-first, as in 6.5-6.8 (f999f38b4e6f)
                    ops=((("writeback", 0),), (("swapoff", 0),)),
                    origin="5878303c5353 mm/zswap: fix race between lru writeback and swapoff (6.9): "
                           "secure the swap-cache folio first, then look the tree up"),
        VariantSpec("recursive-writeback-2012",
                    "writeback calls swap_writepage, which calls frontswap_store: the store path "
                    "re-enters itself with no bound",
                    {"writeback": "recursive"},
                    ops=((("store", 4),), (("load", 1),), (("invalidate", 2),)),
                    origin="a hypothetical: the recursion Dan Magenheimer asked about in review of zswap v1 "
                           "(Dec 2012); Seth Jennings had already split __swap_writepage() out of "
                           "swap_writepage() so that writeback skips frontswap, and no zswap release shipped it",
                    kind=SERIAL),
        VariantSpec("lock-order-inversion",
                    "a synthetic ABBA: one CPU takes tree_lock then pool_lock, another pool_lock then "
                    "tree_lock; the documented order is tree_lock -> pool_lock",
                    ops=((("abba", "tree,pool"),), (("abba", "pool,tree"),)),
                    origin="synthetic", kind=SERIAL),
    )
}
VARIANT_NAMES = tuple(VARIANTS)
