"""Kernel-release profiles: the zswap design of each release that changed its serialization, every
setting with the commit it comes from.

``--kernel PROFILE`` fills every setting below that the command line or experiment file leaves
unset; an explicit setting always wins (and is recorded as an override).  The default is the
newest profile.  Facts were checked against the kernel's history (commit ids in ``SOURCES``; the
first release that contains each commit is the profile's name).  Where the testbed deviates from a
release, the deviation is listed in ``DEVIATIONS`` and printed in the README table.

Settings (each a ``Config`` field):
  index           rbtree (zswap's rb-tree, one spinlock per tree) | xarray (xa_lock per change;
                  lookups without the lock)
  strategy        per-swaptype (one tree per swap type) | split64m (one per 64 MiB of swap)
  allocator       zsmalloc | zbud
  alloc_lock      pool (one lock per pool) | class (zsmalloc's per-size-class locks)
  pools           0: one pool per swap type; N: N pools, an entry's chosen by hash
  lru             object (entries in store order) | pageframe (the allocator's pages/zspages)
  lru_lock        tree (per-tree entry list under tree_lock) | alloc (inside the allocator, under
                  its pool lock) | own (zswap's own LRU and lock: lru_lock, then list_lru)
  free_under_tree none | all (the last put frees the object while holding tree_lock) |
                  invalidate (only invalidate and duplicate stores free under it)
  load            keep (the entry stays after a load) | exclusive (a load into the swap cache
                  erases it)
  writeback       direct (the store writes back in its own path) | deferred (the store queues the
                  shrinker and rejects)
  wb_order        pin-first (take the LRU's entry and a reference, then the swap-cache page) |
                  lookup-first (look the slot's entry up by key and reference it, then the page) |
                  claim-first (the swap-cache page first, then compare-and-erase; no refcount)
  swap_lock       off | type (si->lock on every slot allocation and free)
  swap_cache_lock type (one swap-cache address space per swap type) | 64m (one per 64 MiB)
"""

from __future__ import annotations

from dataclasses import dataclass, field

PROFILE_SETTINGS = ("index", "strategy", "allocator", "alloc_lock", "pools", "lru", "lru_lock", "free_under_tree",
                    "load", "writeback", "wb_order", "swap_lock", "swap_cache_lock")

# the commits behind the settings (first release in the parentheses)
SOURCES = {
    "2012": "zswap v1-v4 patches (Seth Jennings, Dec 2012-Jan 2013): struct zswap_tree { rbroot; lru; lock; "
            "zs_pool *pool }, flush from tree->lru under tree->lock, zs_free after the unlock, __swap_writepage",
    "2b2811178e85": "zswap: add to mm/ (3.11): zbud pool per swap type, zbud_reclaim_page from the store",
    "0ab0abcf5115": "mm/zswap: refactor the get/put routines (3.13): the last put frees under tree->lock",
    "45190f01dd40": "mm/zswap.c: add allocation hysteresis if pool limit is hit (5.6): the store queues "
                    "shrink_work and rejects; accept_threshold_percent",
    "9997bc017549": "zsmalloc: implement writeback mechanism for zsmalloc (6.2): zswap can write back from zsmalloc",
    "c0547d0b6a4b": "zsmalloc: consolidate zs_pool's migrate_lock and size_class's locks (6.2): one pool->lock",
    "64f768c6b32e": "zsmalloc: add a LRU to zs_pool to keep track of zspages in LRU order (6.2)",
    "04fc7816089c": "mm: fix zswap writeback race condition (6.4): re-check the tree after securing the swap cache",
    "f999f38b4e6f": "mm: zswap: add pool shrinking mechanism (6.5): zswap's own LRU, pool->lru_lock",
    "b9c91c43412f": "mm: zswap: support exclusive loads (6.5): optional, default off",
    "b8cf32dc6e8c": "mm: zswap: multiple zpools support (6.6): 32 zpools, hash_ptr(entry)",
    "a65b0e7607cc": "zswap: make shrinking memcg-aware (6.8): list_lru",
    "b5ba474f3f51": "zswap: shrink zswap pool based on memory pressure (6.8)",
    "44c7c734a513": "mm/zswap: split zswap rb-tree (6.9): one tree per SWAP_ADDRESS_SPACE_PAGES",
    "a230c20e63ef": "mm/zswap: zswap entry doesn't need refcount anymore (6.9)",
    "5878303c5353": "mm/zswap: fix race between lru writeback and swapoff (6.9): swap-cache folio first",
    "c2e2ba770200": "mm/zswap: only support zswap_exclusive_loads_enabled (6.9)",
    "bf9b7df23cb3": "mm/zswap: global lru and shrinker shared by all zswap_pools (6.9)",
    "796c2c23e14e": "zswap: replace RB tree with xarray (6.10)",
    "64bd0197ae0c": "mm/zsmalloc: change back to per-size_class lock (6.11)",
    "8edc9c4e72fe": "mm/zswap: use only one pool in zswap (6.11)",
    "4b3ef9daa4fc": "mm/swap: split swap cache into 64MB trunks (4.11)",
    "f1c54846ee45": "zswap: dynamic pool creation (4.3): a zswap_pool holds one zpool that every swap type shares "
                    "(one shared pool since 'mm/zswap: support multiple swap devices', 2014, id unverified)",
    "67afa38e012e": "mm/swap: add cache for swap slots allocation (4.11): per-CPU slot caches batch si->lock",
}


@dataclass(frozen=True)
class Profile:
    """One release's design: its settings, and for each the commit it comes from."""

    name: str
    release: str  # the releases it stands for
    summary: str
    settings: dict
    sources: dict = field(default_factory=dict)  # setting -> commit id (or "2012") in SOURCES


PROFILES = {p.name: p for p in (
    Profile("2012", "the reviewed patch set (Dec 2012)",
            "one rb-tree, tree_lock and LRU per swap type; zsmalloc; writeback from the store",
            dict(index="rbtree", strategy="per-swaptype", allocator="zsmalloc", alloc_lock="class", pools=0,
                 lru="object", lru_lock="tree", free_under_tree="none", load="keep", writeback="direct",
                 wb_order="pin-first", swap_lock="type", swap_cache_lock="type"),
            dict(index="2012", strategy="2012", allocator="2012", lru_lock="2012", free_under_tree="2012",
                 load="2012", writeback="2012", wb_order="2012", swap_cache_lock="4b3ef9daa4fc",
                 swap_lock="67afa38e012e")),
    Profile("3.11", "3.11-3.12 (merged zswap, 2013)",
            "zbud with its pageframe LRU; the store writes back through zbud_reclaim_page",
            dict(index="rbtree", strategy="per-swaptype", allocator="zbud", alloc_lock="pool", pools=0,
                 lru="pageframe", lru_lock="alloc", free_under_tree="none", load="keep", writeback="direct",
                 wb_order="lookup-first", swap_lock="type", swap_cache_lock="type"),
            dict(index="2b2811178e85", strategy="2b2811178e85", allocator="2b2811178e85", alloc_lock="2b2811178e85",
                 pools="2b2811178e85", load="2b2811178e85", lru="2b2811178e85", lru_lock="2b2811178e85",
                 free_under_tree="2b2811178e85", writeback="2b2811178e85", wb_order="2b2811178e85",
                 swap_cache_lock="4b3ef9daa4fc", swap_lock="67afa38e012e")),
    Profile("3.13", "3.13-5.5",
            "as 3.11, but the last reference's put frees the object under tree_lock; one pool for every swap type",
            dict(index="rbtree", strategy="per-swaptype", allocator="zbud", alloc_lock="pool", pools=1,
                 lru="pageframe", lru_lock="alloc", free_under_tree="all", load="keep", writeback="direct",
                 wb_order="lookup-first", swap_lock="type", swap_cache_lock="type"),
            dict(free_under_tree="0ab0abcf5115", wb_order="0ab0abcf5115", pools="f1c54846ee45",
                 swap_cache_lock="4b3ef9daa4fc",
                 swap_lock="67afa38e012e")),
    Profile("6.2", "6.2-6.4",
            "zsmalloc with one pool lock and a zspage LRU; the store queues the shrinker",
            dict(index="rbtree", strategy="per-swaptype", allocator="zsmalloc", alloc_lock="pool", pools=1,
                 lru="pageframe", lru_lock="alloc", free_under_tree="all", load="keep", writeback="deferred",
                 wb_order="lookup-first", swap_lock="off", swap_cache_lock="64m"),
            dict(allocator="9997bc017549", alloc_lock="c0547d0b6a4b", lru="64f768c6b32e", lru_lock="64f768c6b32e",
                 writeback="45190f01dd40", pools="f1c54846ee45", swap_lock="67afa38e012e",
                 swap_cache_lock="4b3ef9daa4fc")),
    Profile("6.6", "6.6-6.8",
            "32 zpools; zswap's own object LRU under lru_lock, nested inside tree_lock",
            dict(index="rbtree", strategy="per-swaptype", allocator="zsmalloc", alloc_lock="pool", pools=32,
                 lru="object", lru_lock="own", free_under_tree="all", load="keep", writeback="deferred",
                 wb_order="pin-first", swap_lock="off", swap_cache_lock="64m"),
            dict(pools="b8cf32dc6e8c", lru="f999f38b4e6f", lru_lock="f999f38b4e6f", wb_order="f999f38b4e6f",
                 load="b9c91c43412f", swap_lock="67afa38e012e", swap_cache_lock="4b3ef9daa4fc")),
    Profile("6.9", "6.9",
            "one tree per 64 MiB; no refcount (swap-cache folio first); loads are exclusive",
            dict(index="rbtree", strategy="split64m", allocator="zsmalloc", alloc_lock="pool", pools=32,
                 lru="object", lru_lock="own", free_under_tree="invalidate", load="exclusive", writeback="deferred",
                 wb_order="claim-first", swap_lock="off", swap_cache_lock="64m"),
            dict(strategy="44c7c734a513", free_under_tree="a230c20e63ef", load="c2e2ba770200",
                 wb_order="5878303c5353", lru_lock="bf9b7df23cb3", swap_lock="67afa38e012e",
                 swap_cache_lock="4b3ef9daa4fc")),
    Profile("6.10", "6.10",
            "an xarray per 64 MiB: changes under xa_lock, frees after it",
            dict(index="xarray", strategy="split64m", allocator="zsmalloc", alloc_lock="pool", pools=32,
                 lru="object", lru_lock="own", free_under_tree="none", load="exclusive", writeback="deferred",
                 wb_order="claim-first", swap_lock="off", swap_cache_lock="64m"),
            dict(index="796c2c23e14e", free_under_tree="796c2c23e14e", swap_lock="67afa38e012e",
                 swap_cache_lock="4b3ef9daa4fc")),
    Profile("6.11", "6.11 and later",
            "one pool again, with zsmalloc's per-size-class locks",
            dict(index="xarray", strategy="split64m", allocator="zsmalloc", alloc_lock="class", pools=1,
                 lru="object", lru_lock="own", free_under_tree="none", load="exclusive", writeback="deferred",
                 wb_order="claim-first", swap_lock="off", swap_cache_lock="64m"),
            dict(alloc_lock="64bd0197ae0c", pools="8edc9c4e72fe", swap_lock="67afa38e012e",
                 swap_cache_lock="4b3ef9daa4fc")),
)}
PROFILE_NAMES = tuple(PROFILES)
DEFAULT_PROFILE = PROFILE_NAMES[-1]  # the newest kernel

# where the testbed knowingly differs from a release
DEVIATIONS = {
    "recheck": "every profile re-checks the tree after securing the swap-cache page; releases before 6.4 did "
               "not (04fc7816089c fixed that race, which the hunter's no-recheck-2023 variant reproduces)",
    "2012 allocator lock": "zsmalloc's 2012 per-class locking is assumed (class->lock), not read from the patch",
    "3.13 pools": "3.13 and 3.14 kept one zbud pool per swap type; the profile has the single shared pool of 3.15 "
                  "on (f1c54846ee45 keeps it), which differs only with more than one swap type",
    "6.8": "6.8 is the 6.6 profile: its list_lru (a65b0e7607cc) has one lock per NUMA node and memcg, which is "
           "one lock here (one node, no memcg), taken where lru_lock was; its memory-pressure shrinker "
           "(b5ba474f3f51) is off by default (zswap.shrinker_enabled) and not modelled: writeback runs only when "
           "the pool reaches its limit",
    "swap slot cache": "from 4.11 per-CPU swap slot caches (67afa38e012e) batch si->lock, so profiles from 6.2 on "
                       "take no swap_lock per page; the batched refills are not modelled",
}


def profile_get(name: str) -> Profile:
    """The profile called ``name``; a ConfigError naming the accepted ones otherwise."""
    from zswap_conc.config import ConfigError

    if name not in PROFILES:
        raise ConfigError(f"--kernel: unknown profile {name!r}; accepted: {', '.join(PROFILE_NAMES)}")
    return PROFILES[name]


def profile_sources(name: str) -> dict[str, str]:
    """Each setting of profile ``name`` with the commit it comes from: its own source, else that of
    the nearest older profile that set it the same way (the change that introduced it)."""
    out = {}
    names = PROFILE_NAMES[: PROFILE_NAMES.index(name) + 1]
    for key in PROFILE_SETTINGS:
        value = PROFILES[name].settings[key]
        src = None
        for older in reversed(names):
            p = PROFILES[older]
            if p.settings[key] != value:
                break
            src = src or p.sources.get(key)
        out[key] = src or "2012"
    return out


# the README's columns: what a kernel developer asks of a release, and the settings that answer it
TABLE_COLUMNS = (
    ("index and tree locks", ("index", "strategy")),
    ("allocator and its locks", ("allocator", "alloc_lock", "pools")),
    ("LRU and its lock", ("lru", "lru_lock")),
    ("frees under tree_lock", ("free_under_tree",)),
    ("load", ("load",)),
    ("writeback", ("writeback", "wb_order")),
    ("swap path locks", ("swap_lock", "swap_cache_lock")),
)


def _cell(name: str, keys: tuple[str, ...]) -> str:
    settings = PROFILES[name].settings
    src = profile_sources(name)
    parts = []
    for k in keys:
        v = settings[k]
        if k == "pools":
            v = "pool per swap type" if v == 0 else f"{v} pool{'s' if v != 1 else ''}"
        cite = src[k]
        parts.append(f"{k}={v}" if k != "pools" else str(v))
        if cite != "2012" or name == "2012":
            parts[-1] += f" ({cite})"
    return "; ".join(parts)


def profile_table_md() -> str:
    """The README's table: one row per profile, each setting with the commit it comes from
    (``2012``: the reviewed patch set)."""
    head = "| profile | releases | " + " | ".join(c for c, _ in TABLE_COLUMNS) + " |"
    rows = [head, "|" + "---|" * (len(TABLE_COLUMNS) + 2)]
    for name in PROFILE_NAMES:
        p = PROFILES[name]
        rows.append(f"| `{name}` | {p.release} | " + " | ".join(_cell(name, keys) for _, keys in TABLE_COLUMNS) + " |")
    return "\n".join(rows) + "\n"
