"""Run configuration: frozen dataclasses, parsing of user-facing values, and validation.

Every bad value raises ``ConfigError`` whose message names the flag, the value and what is
accepted, so the CLI can print it as one line and exit with status 2.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field

from zswap_conc.kernels import DEFAULT_PROFILE, PROFILE_NAMES, PROFILE_SETTINGS, PROFILES

PAGE_SIZE = 4096
CLUSTER_PAGES = 256  # swap slots a CPU allocates at a time (SWAPFILE_CLUSTER)
ALLOCATOR_NAMES = ("zbud", "zsmalloc")
LOCK_NAMES = ("ticket", "ttas")
COMPRESSOR_HELP = "lz4, zstd, synthetic:<N>ns"
WRITEBACK_NAMES = ("recursive", "denial-map", "direct", "deferred")
LRU_NAMES = ("object", "pageframe")
PROTOCOL_NAMES = ("correct", "no-refcount-2013", "no-recheck-2023")
INDEX_NAMES = ("rbtree", "xarray")
ALLOC_LOCK_NAMES = ("pool", "class")
LRU_LOCK_NAMES = ("tree", "alloc", "own")
FREE_UNDER_TREE_NAMES = ("none", "all", "invalidate")
LOAD_NAMES = ("keep", "exclusive")
WB_ORDER_NAMES = ("pin-first", "lookup-first", "claim-first")
SWAP_LOCK_NAMES = ("off", "type")
SWAP_CACHE_LOCK_NAMES = ("off", "type", "64m")
FRAME_DEPTH_MAX = 64  # operation frames per CPU, at most (writeback recursion bound)
# the reclaim experiment (reclaim.py)
RECLAIM_FRAGMENTATION = (0.0, 0.3, 0.6)  # shares of the slots invalidated before writeback
RECLAIM_CHURN_ROUNDS = 3  # rounds of invalidating and storing again before it
RECLAIM_CHURN_SHARE = 0.3  # slots invalidated and stored again in each round


class ConfigError(ValueError):
    """A user-facing configuration error; its message is one line naming the flag."""


def parse_size(text: str, flag: str) -> int:
    """'256M', '64K', '1G', '4096' -> bytes (its range is the setting's, checked by ``validate``)."""
    from zswap_conc.schema import size_parse

    v = size_parse(str(text))
    if v is None:
        raise ConfigError(f"{flag}: cannot read size {text!r}; use bytes or a K/M/G/T suffix, e.g. 256M")
    return v


def parse_compressor(text: str) -> tuple[str, int]:
    """'lz4' | 'zstd' | 'synthetic:800ns' (or '1.5us') -> (name, cost in ns)."""
    t = str(text).strip().lower()
    if t in ("lz4", "zstd"):
        return t, 0
    m = re.fullmatch(r"synthetic:(\d+(?:\.\d+)?)(ns|us)?", t)
    if m:
        ns = float(m.group(1)) * (1000 if m.group(2) == "us" else 1)
        if 0 < ns <= 10_000_000:
            return "synthetic", int(round(ns))
    raise ConfigError(f"--compressor: unknown compressor {text!r}; accepted: {COMPRESSOR_HELP}")


def parse_mix(text: str) -> tuple[int, int, int]:
    """'50/35/15' -> percentages of store/load/invalidate."""
    parts = str(text).replace(",", "/").split("/")
    try:
        mix = tuple(int(p) for p in parts)
    except ValueError:
        mix = ()
    if len(mix) != 3 or any(x < 0 for x in mix):
        raise ConfigError(f"--mix: cannot read {text!r}; give store/load/invalidate percentages, e.g. 50/35/15")
    if sum(mix) != 100:
        raise ConfigError(f"--mix: {text} sums to {sum(mix)}; the three percentages must sum to 100")
    return mix  # type: ignore[return-value]


@dataclass(frozen=True)
class PageMix:
    """What stored pages look like, in percent (REFERENCE.md: 10-22% same-filled, bimodal)."""

    zero: float = 10.0  # zero-filled pages
    same: float = 5.0  # filled with one non-zero word
    incompressible: float = 15.0  # random bytes: rejected as compress-poor
    # the rest are real data pages from the corpus


@dataclass(frozen=True)
class Config:
    """One run: the pool, the locking strategy, the workload and the measurement window.

    The settings a kernel release decides (``kernels.PROFILE_SETTINGS``) default to None and are
    filled from ``kernel``'s profile by ``validate``; one given explicitly overrides the profile."""

    kernel: str = DEFAULT_PROFILE  # kernels.PROFILES: the release whose design fills the None settings
    strategy: str | None = None  # which tree serves a slot: global | per-swaptype | hashed | split64m
    index: str | None = None  # rbtree | xarray
    buckets: int = 256  # hashed: buckets (trees and locks)
    cpus: int = 2  # simulated CPUs (worker processes)
    duration: float = 3.0  # seconds measured
    warmup: float = 0.5  # seconds run before measuring
    swap_types: int = 1  # swap devices; CPU c stores to device c % swap_types
    swap_size: int = 16 << 30  # bytes per swap device
    clusters_per_cpu: int = 4  # 256-slot clusters in each CPU's working set
    allocator: str | None = None  # zbud | zsmalloc
    alloc_lock: str | None = None  # pool: one lock per pool | class: zsmalloc's per-size-class locks
    pools: int | None = None  # 0: one pool per swap type (2012); N: N pools chosen by hash (2023)
    pool_size: int = 256 << 20  # bytes of pool, split evenly between the pools
    lock: str = "ticket"  # spinlock kind
    lockstat: bool = True  # lock_stat statistics; off: none at all (their cost measured against it)
    compressor: str = "lz4"
    synthetic_ns: int = 0  # synthetic compressor: cost of one compression
    zstd_level: int = 1
    reject_above: int = 0  # reject compressed sizes above this; 0: the allocator's largest object
    mix: tuple[int, int, int] = (50, 35, 15)  # store / load / invalidate percentages
    pages: PageMix = field(default_factory=PageMix)
    dup_rate: float = 0.0  # stores that overwrite their slot's stored data (duplicate_entry); the rest free it first
    think_ns: int | None = None  # other work between operations; None: sized from the kernel's zswap share
    seed: int = 1
    pin: bool = True  # pin each worker to its own core where possible
    rt: bool = False  # workers at a real-time priority (SCHED_FIFO) where the system permits it
    ops_per_cpu: int = 0  # > 0: fixed work instead of a timed window (benchmarks time it)
    max_pool_frames: int = 0  # pool limit in 4 KiB frames; 0: from max_pool_percent
    max_pool_percent: float = 0.0  # pool limit as a percentage of ram_size; 0: the whole pool
    ram_size: int = 8 << 30  # the simulated machine's RAM, for max_pool_percent
    writeback: str | None = None  # what a full pool does: recursive | denial-map | direct | deferred
    wb_order: str | None = None  # pin-first | lookup-first | claim-first (kernels.py)
    lru: str | None = None  # reclaim order: object | pageframe
    lru_lock: str | None = None  # tree | alloc | own: which lock protects the LRU
    free_under_tree: str | None = None  # none | all | invalidate: which frees happen holding tree_lock
    load: str | None = None  # keep | exclusive
    swap_lock: str | None = None  # off | type: si->lock around each slot allocation and free
    swap_cache_lock: str | None = None  # off | type | 64m: the swap cache's lock, per type or per 64 MiB
    frame_depth: int = 8  # operation frames per CPU: the bound on writeback recursion
    dev_write_ns: int = 0  # swap device: cost of writing one page
    dev_read_ns: int = 0  # swap device: cost of reading one page
    protocol: str = "correct"  # writeback protocol: correct | no-refcount-2013 | no-recheck-2023 (race hunter)
    overrides: tuple[str, ...] = ()  # profile settings this run sets differently from its kernel (validate fills)

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    @property
    def slots_per_type(self) -> int:
        return self.swap_size // PAGE_SIZE

    @property
    def pool_frames(self) -> int:
        """Frames the pool owns (its memory, split evenly between its shards)."""
        return self.pool_size // PAGE_SIZE // self.npools * self.npools

    @property
    def pool_limit_frames(self) -> int:
        """Frames in use at which the pool counts as full (pool_limit_hit)."""
        if self.max_pool_frames:
            return self.max_pool_frames
        if self.max_pool_percent:
            return int(self.ram_size * self.max_pool_percent / 100) // PAGE_SIZE
        return self.pool_frames

    @property
    def npools(self) -> int:
        return self.pools if self.pools else self.swap_types

    @property
    def ws_slots(self) -> int:
        return self.cpus * self.clusters_per_cpu * CLUSTER_PAGES

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["mix"] = list(self.mix)
        d["overrides"] = list(self.overrides)
        return d

    @classmethod
    def from_dict(cls, d: dict, path: str = "config") -> Config:
        """Build from plain data (an experiment file, a results file), every value checked against
        ``schema.SETTINGS`` (null: the profile's, or auto for think_ns)."""
        from zswap_conc.schema import check as schema_check
        from zswap_conc.schema import config_table

        d = schema_check(config_table(nullable=NONE_MEANS_PROFILE), d, path, ConfigError)
        pages = d.pop("pages", {})
        if "mix" in d:
            d["mix"] = tuple(d["mix"])
        if "overrides" in d:
            d["overrides"] = tuple(d["overrides"])
        return cls(pages=PageMix(**pages), **d)


NONE_MEANS_PROFILE = (*PROFILE_SETTINGS, "think_ns")  # settings whose None means "the default"


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise ConfigError(msg)


def profile_apply(cfg: Config) -> Config:
    """Fill every profile setting left as None from ``cfg.kernel``'s profile; ``overrides`` names the
    settings that differ from the profile (given explicitly, or kept from another profile)."""
    _need(cfg.kernel in PROFILES, f"--kernel: unknown profile {cfg.kernel!r}; accepted: {', '.join(PROFILE_NAMES)}")
    prof = PROFILES[cfg.kernel].settings
    filled = {k: prof[k] for k in PROFILE_SETTINGS if getattr(cfg, k) is None}
    cfg = cfg.replace(**filled)
    return cfg.replace(overrides=tuple(k for k in PROFILE_SETTINGS if getattr(cfg, k) != prof[k]))


def _settings_compatible(cfg: Config) -> None:
    """Refuse settings that cannot run together, naming the one to change (an override that does not
    fit its profile lands here)."""
    def bad(flag: str, why: str) -> None:
        extra = f" (profile {cfg.kernel} overridden: {', '.join(cfg.overrides)})" if cfg.overrides else ""
        raise ConfigError(f"{flag}: {why}{extra}")

    if cfg.alloc_lock == "class" and cfg.allocator != "zsmalloc":
        bad("--alloc-lock", "class locks are zsmalloc's; accepted: --alloc-lock pool with zbud")
    if cfg.lru_lock == "alloc" and cfg.alloc_lock != "pool":
        bad("--lru-lock", "an LRU inside the allocator lives under its pool lock; accepted: --alloc-lock pool, "
                          "or --lru-lock own")
    if cfg.lru == "pageframe" and cfg.lru_lock != "alloc":
        bad("--lru", "a pageframe LRU is the allocator's own; accepted: --lru object, or --lru-lock alloc")
    if cfg.lru_lock == "tree" and cfg.wb_order != "pin-first":
        bad("--lru-lock", "a per-tree LRU is picked and pinned under tree_lock; accepted: --wb-order pin-first")
    if cfg.lru_lock == "tree" and cfg.writeback == "deferred":
        bad("--lru-lock", "the shrinker works on the pool's LRU, not a tree's; accepted: --lru-lock alloc or own")
    if cfg.wb_order == "claim-first" and cfg.free_under_tree == "all":
        bad("--free-under-tree", "without a refcount no put frees (claim-first); accepted: none, invalidate")
    if cfg.wb_order != "claim-first" and cfg.free_under_tree == "invalidate":
        bad("--free-under-tree", "'invalidate' is the refcount-free kernel's rule; accepted: none, all "
                                 "(or --wb-order claim-first)")
    if cfg.index == "xarray" and (cfg.wb_order != "claim-first" or cfg.free_under_tree != "none"):
        bad("--index", "xarray came after the refcount went (796c2c23e14e after a230c20e63ef); accepted: "
                       "--wb-order claim-first --free-under-tree none")
    if cfg.protocol == "no-refcount-2013" and cfg.wb_order != "lookup-first":
        bad("protocol", "no-refcount-2013 is a lookup-first writeback bug; accepted: --kernel 3.11")
    if cfg.protocol == "no-recheck-2023" and cfg.wb_order == "claim-first":
        bad("protocol", "no-recheck-2023 needs a writeback that pins before it claims; accepted: --kernel 6.6")


PAGE_FLAGS = {"zero": "--zero-pct", "same": "--same-pct", "incompressible": "--incompressible-pct"}


def validate(cfg: Config) -> Config:
    """Check every value; returns the config with the profile's settings and derived defaults filled in.

    Each setting alone is checked against its spec in ``schema.SETTINGS`` (type and range, naming its
    flag); what is checked here besides is how settings fit together."""
    from zswap_conc.compress import compressor_available
    from zswap_conc.pool import ALLOCATORS, pool_max_size
    from zswap_conc.schema import SETTINGS
    from zswap_conc.schema import check as schema_check

    schema_check(SETTINGS["kernel"].spec, cfg.kernel, "--kernel", ConfigError)
    cfg = profile_apply(cfg)
    for name, setting in SETTINGS.items():
        value = getattr(cfg, name)
        if name == "think_ns" and value is None:  # auto: sized by the runner
            continue
        if name == "pages":
            for k, flag in PAGE_FLAGS.items():
                schema_check(setting.spec.fields[k], getattr(value, k, None), flag, ConfigError)
            continue
        schema_check(setting.spec, list(value) if isinstance(value, tuple) else value, setting.flag, ConfigError)
    per_device = max(1, -(-cfg.cpus * cfg.clusters_per_cpu // cfg.swap_types))  # clusters on the busiest device
    need = PAGE_SIZE * CLUSTER_PAGES * per_device
    _need(cfg.swap_size >= need,
          f"--swap-size: {cfg.swap_size} bytes cannot hold {per_device} clusters of {PAGE_SIZE * CLUSTER_PAGES} bytes "
          f"on each device ({cfg.cpus} CPUs x {cfg.clusters_per_cpu} clusters over {cfg.swap_types} swap type(s)); "
          f"accepted: at least {need} bytes")
    if cfg.compressor == "synthetic":
        _need(cfg.synthetic_ns > 0, f"--compressor: synthetic needs a cost; accepted: {COMPRESSOR_HELP}")
    ok, why = compressor_available(cfg.compressor)
    _need(ok, f"--compressor: {cfg.compressor} is not available here ({why}); accepted: {COMPRESSOR_HELP}")
    _need(cfg.pool_size // PAGE_SIZE >= 4 * cfg.npools,
          f"--pool-size: {cfg.pool_size} bytes gives fewer than 4 pages to each of {cfg.npools} pool(s); "
          f"accepted: at least {4 * PAGE_SIZE * cfg.npools} bytes")
    if cfg.max_pool_frames or cfg.max_pool_percent:
        _need(cfg.pool_limit_frames >= 1,
              f"--max-pool-{'frames' if cfg.max_pool_frames else 'percent'}: the pool limit is below one "
              f"4096-byte frame; accepted: a limit of at least one frame")
    maxobj = int(pool_max_size(ALLOCATORS[cfg.allocator]))
    reject = cfg.reject_above or maxobj
    _need(64 <= reject <= maxobj,
          f"--reject-above: {cfg.reject_above} is out of range; accepted: 64..{maxobj} for {cfg.allocator}")
    _settings_compatible(cfg)
    _need(sum(cfg.mix) == 100, f"--mix: {'/'.join(map(str, cfg.mix))} must be three percentages summing to 100")
    pm = cfg.pages
    _need(pm.zero + pm.same + pm.incompressible <= 100,
          "--zero-pct/--same-pct/--incompressible-pct: together at most 100; accepted: percentages summing to <= 100")
    return cfg.replace(reject_above=reject)


def oversubscribed(cpus: int) -> bool:
    """More spinning workers than cores we may run on: spinlocks then collapse for reasons
    that have nothing to do with the design (a preempted holder stalls every waiter)."""
    return cpus > len(os.sched_getaffinity(0))
