"""Known-buggy protocols from the kernel's history, selectable by name, and the programs that
exercise them.  Each program is one list of operations per simulated CPU, run on a pool that has
been filled with slots 0..3 and whose limit is set to its current size, so the next store writes
back the oldest entry (slot 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# a store that must write back slot 0 first, racing an invalidate + reuse of slot 0 and a load of it
WRITEBACK_RACE = (
    (("store", 4),),
    (("invalidate", 0), ("store", 0)),
    (("load", 0),),
)


@dataclass(frozen=True)
class VariantSpec:
    name: str
    description: str
    config: dict = field(default_factory=dict)  # Config changes
    program: tuple = WRITEBACK_RACE
    origin: str = ""


VARIANTS = {
    v.name: v
    for v in (
        VariantSpec("none", "the correct protocol: claim the slot, look up by key, re-check before erasing"),
        VariantSpec("no-refcount-2013",
                    "writeback vs invalidate: the entry is looked up before the slot is secured; when "
                    "the slot was freed meanwhile (-ENOENT) writeback returns without dropping its "
                    "reference, so the entry and its compressed object leak",
                    {"protocol": "no-refcount-2013", "kernel": "3.11", "lru": "object"},
                    origin="2013; fixed in 3.13 by 'mm/zswap: bugfix: memory leak when invalidate and reclaim "
                           "occur concurrently'"),
        VariantSpec("no-recheck-2023",
                    "writeback decompresses entry A, meanwhile the slot is invalidated and reused for B; "
                    "without re-checking the tree, writeback writes stale A to the device over B",
                    {"protocol": "no-recheck-2023", "kernel": "6.6"},
                    origin="04fc7816089c mm: fix zswap writeback race condition"),
        VariantSpec("recursive-writeback-2012",
                    "writeback calls swap_writepage, which calls frontswap_store: the store path "
                    "re-enters itself with no bound (the review's first concern)",
                    {"writeback": "recursive"},
                    program=((("store", 4),), (("load", 1),), (("invalidate", 2),)),
                    origin="zswap v1 (Dec 2012); fixed by __swap_writepage (2013)"),
        VariantSpec("lock-order-inversion",
                    "a synthetic ABBA: one CPU takes tree_lock then pool_lock, another pool_lock then "
                    "tree_lock; the documented order is tree_lock -> pool_lock",
                    program=((("abba", "tree,pool"),), (("abba", "pool,tree"),)),
                    origin="synthetic"),
    )
}
VARIANT_NAMES = tuple(VARIANTS)
