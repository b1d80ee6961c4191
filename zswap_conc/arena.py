"""The arena: every shared structure of one run, laid out in one shared-memory segment.

``Arena(cfg)`` computes the layout from the config, creates the segment (or a private buffer for
single-process use), builds typed numpy views of it, and initialises them.  Compiled code receives
the views as one ``ArenaViews`` namedtuple.  Worker processes are forked after the arena exists,
so they inherit the mapping and never attach by name.

The segment is unlinked by ``Arena.close()``; callers use it as a context manager, and the runner
also closes it from its signal handlers, so a run that ends in any way leaves nothing in /dev/shm.

LOCKING (who may write what; see also sync, index, pool and ops):
  params, clusters, corpus, corpus_clen   written by the parent before the workers start; read-only
  ctl                                     written by the parent (GO, STOP, PHASE) and by workers
                                          (READY, atomically)
  locks, held, lstat, lsite               sync.py
  roots, nodes[:, index columns], xa      the tree's lock (index/; xarray lookups take none)
  nodes[:, entry columns]                 ops/entry.py: the slot's busy bit, or the tree's lock for REFCOUNT
  pool_*, frame_*                         the allocator's lock, by alloc_lock (pool/)
  lru_meta, nodes[:, LRU columns]         the LRU's lock, by lru_lock (lru.py)
  frame_lru, obj_owner                    the pool's lock (the allocator's own LRU, lru.py)
  slots, device[slot]                     the slot's busy bit (SL_BUSY itself: atomics); a
                                          writeback claims its victim's busy bit like any op
  ctl[2] (G_FRAMES_USED, G_SHRINK)        atomics only
  cpu_*, frames, cnt[:, cpu]              owned by one CPU; the parent reads counters as samples
Lock order: swap_lock -> tree_lock -> lru_lock -> pool_lock / class_lock (ops/locking.py).
"""

from __future__ import annotations

import os
import secrets
from collections import namedtuple

import numpy as np

from zswap_conc import compress, lru, pages, pool, strategies, sync
from zswap_conc.config import CLUSTER_PAGES, PAGE_SIZE, PROTOCOL_NAMES, Config
from zswap_conc.index import INDEX_IDS, N_TREE_COLUMNS, NIL, R_ROOT, R_WIDTH, xa_indices
from zswap_conc.index.xarray import XA_NEXT, XA_SLOTS, xa_nodes_needed
from zswap_conc.params import (
    FREE_IDS,
    LOAD_IDS,
    P_ACCEPT_FRAMES,
    P_ALLOC_LOCK,
    P_ALLOCATOR,
    P_BUCKETS,
    P_CLASS_LOCKS,
    P_CLUSTERS_PER_CPU,
    P_COMPRESSOR,
    P_DEV_READ_CYCLES,
    P_DEV_WRITE_CYCLES,
    P_DUP_PER_64K,
    P_FRAME_DEPTH,
    P_FREE_UNDER_TREE,
    P_INDEX,
    P_LOAD,
    P_LOCK_KIND,
    P_LOCKSTAT,
    P_LRU,
    P_LRU_LOCK,
    P_LRU_LOCK0,
    P_MAX_FRAMES,
    P_MIX_LOAD,
    P_MIX_STORE,
    P_NCPUS,
    P_NLRUS,
    P_NPOOLS,
    P_NTREES,
    P_POOL_LOCK0,
    P_POOLS_HASHED,
    P_PROTOCOL,
    P_REJECT_ABOVE,
    P_SEED,
    P_SLOTS_PER_TYPE,
    P_STRATEGY,
    P_SWAP_CACHE_LOCK,
    P_SWAP_CACHE_LOCK0,
    P_SWAP_CACHE_PER_TYPE,
    P_SWAP_LOCK,
    P_SWAP_LOCK0,
    P_SWAP_TYPES,
    P_SYNTH_CYCLES,
    P_THINK_CYCLES,
    P_TREE_LOCK0,
    P_TREES_PER_TYPE,
    P_WB_ORDER,
    P_WIDTH,
    P_WRITEBACK,
    P_WS_SLOTS,
    P_XA_TYPE_SHIFT,
    P_ZSTD_LEVEL,
    SWAP_CACHE_IDS,
    SWAP_LOCK_IDS,
    WB_ORDER_IDS,
)
from zswap_conc.pool.zsmalloc import ZS_NCLASSES
from zswap_conc.strategies.split64m import SWAP_ADDRESS_SPACE_SHIFT
from zswap_conc.swap_entry import swp_entry

SHM_PREFIX = "zswap_conc_"

WRITEBACK_RECURSIVE = 0  # 2012: writeback re-enters store through swap_writepage/frontswap_store
WRITEBACK_DENIAL = 1  # zcache: a per-slot deny bit makes the re-store refuse the page
WRITEBACK_DIRECT = 2  # 2013: __swap_writepage bypasses frontswap
WRITEBACK_DEFERRED = 3  # 2023+: the store only queues shrink work; a shrinker writes back
WRITEBACK_IDS = {"recursive": WRITEBACK_RECURSIVE, "denial-map": WRITEBACK_DENIAL, "direct": WRITEBACK_DIRECT,
                 "deferred": WRITEBACK_DEFERRED}

LOCKCLASS_TREE = 0  # a tree's tree_lock (rb-tree) or xa_lock (xarray)
LOCKCLASS_POOL = 1  # a pool's lock (zbud, zsmalloc 6.2-6.10: pool->lock)
LOCKCLASS_CLASS = 2  # a zsmalloc size class's class->lock (before 6.2, from 6.11)
LOCKCLASS_LRU = 3  # zswap's own lru_lock / list_lru lock (6.5+)
LOCKCLASS_SWAP = 4  # a swap type's si->lock (slot allocation and free, before the slot caches)
LOCKCLASS_SWAP_CACHE = 5  # a swap-cache address space's lock (per type; per 64 MiB from 4.11)
LOCK_CLASS_NAMES = ("tree_lock", "pool_lock", "class_lock", "lru_lock", "swap_lock", "swap_cache_lock")

PHASES = 3  # counters are kept per phase: warm-up, measured, after
PHASE_WARMUP, PHASE_MEASURE, PHASE_AFTER = 0, 1, 2

# ctl[0, :] is read by every CPU on every op and written rarely; ctl[1, :] takes the arrivals
CTL_GO = 0  # the start barrier: workers spin until it is 1
CTL_STOP = 1  # workers finish their operation and return once it is 1
CTL_PHASE = 2  # which counters the next operation adds to
CTL_HEARTBEAT = 3  # bumped by the parent every poll: workers of a dead parent notice it stop
CTL_PAUSE = 4  # soak: workers park at their next operation boundary while it is 1
CTL_READY = 0  # (row 1) workers that reached the barrier
CTL_FINISHED = 1  # (row 1) workers that completed a fixed-work budget
CTL_PAUSED = 2  # (row 1) workers parked for a soak verification
# ctl[2, :] is the pool's global state, written with atomics by every CPU
G_FRAMES_USED = 0  # frames in use over all pools: is the pool at its limit?
G_SHRINK = 1  # deferred writeback: 0 idle, 1 queued by a store, 2 a CPU is shrinking
G_REACHED_FULL = 2  # deferred: 1 from a limit hit until the pool is below its accept threshold

# columns of slots[s, :]: one row per swap slot of the working set
SL_BUSY = 0  # cpu + 1 of the CPU operating on the slot, 0 if idle (the kernel's page lock)
SL_VERSION = 1  # version of the newest data stored to the slot
SL_LIVE = 2  # 1 if the newest data is in the pool (the model loads are checked against)
SL_KEY = 3  # its swap entry (swap_entry.py)
SL_ON_DEVICE = 4  # 1 if the newest data is on the swap device (rejected or written back)
SL_DENY = 5  # denial-map bit: a re-store of this slot must go to the device (zcache, 2012)
SL_WIDTH = 8

# columns of cpu_state[cpu, :]
CS_RNG = 0  # xorshift state of this CPU's workload
CS_CURSOR = 1  # next slot of its own clusters to store to
CS_DEPTH = 2  # frames on its operation stack
CS_STORE_DEPTH = 3  # store frames on the stack now (writeback recursion)
CS_STORE_DEPTH_MAX = 4  # deepest store nesting of the current top-level operation
CS_SHRINK_POOL = 5  # deferred writeback: next pool the shrinker works on
CS_HB_SEEN = 6  # the parent's heartbeat as this CPU last saw it
CS_HB_TIME = 7  # cycle counter when it last changed
CS_WIDTH = 16

FRAME_WIDTH = 32  # ops/frame.py's F_* columns; the frame count is config.frame_depth
CNT_WIDTH = 64
CBUF_BYTES = 2 * PAGE_SIZE  # covers LZ4's and zstd's worst-case bound for one page

FIELDS = (
    "params", "ctl", "locks", "held", "lstat", "lsite", "roots", "nodes", "xa", "lru_meta",
    "pool_meta", "pool_heads", "frame_meta", "frame_free", "pool_data",
    "corpus", "corpus_clen", "slots", "clusters", "cpu_state", "cnt", "frames",
    "cpu_page", "cpu_cbuf", "cpu_out", "cpu_zctx", "device", "frame_lru", "obj_owner",
)  # fmt: skip
ArenaViews = namedtuple("ArenaViews", FIELDS)
# the race hunter's arena: the same arrays plus checked mode's own (checked.py), so that numba builds
# the step code a second time, with its hooks, for this type only
CHECK_FIELDS = ("chk_ctl", "chk_gen", "chk_fp", "chk_tree_dead")
CheckedViews = namedtuple("CheckedViews", FIELDS + CHECK_FIELDS)


class Layout:
    """Sizes derived from a config; the shapes of every arena array."""

    def _xa_nodes(self) -> int:
        """The xarray node pool's size: every working-set key's tree and index, stored at once."""
        cfg = self.cfg
        keys = slot_keys(cfg)
        p = np.zeros(P_WIDTH, np.int64)  # what tree_for reads
        p[P_STRATEGY] = strategies.STRATEGY_IDS[cfg.strategy]
        p[P_BUCKETS] = cfg.buckets
        p[P_SWAP_TYPES] = cfg.swap_types
        p[P_TREES_PER_TYPE] = max(1, self.ntrees // cfg.swap_types)
        p[P_XA_TYPE_SHIFT] = self.xa_type_shift
        trees = np.zeros(len(keys), np.int64)
        strategies.trees_of_keys(p, keys, trees)
        indices = np.zeros(len(keys), np.int64)
        xa_indices(p, keys, indices)
        return xa_nodes_needed(trees, indices)

    def __init__(self, cfg: Config, corpus_pages: int, checked: bool = False):
        self.cfg = cfg
        self.checked = checked
        self.ncpus = cfg.cpus
        self.ntrees = strategies.tree_count(cfg.strategy, cfg.swap_types, cfg.slots_per_type, cfg.buckets)
        self.npools = cfg.npools
        self.frames_per_pool = cfg.pool_size // PAGE_SIZE // self.npools
        self.nframes = self.frames_per_pool * self.npools
        self.ws = cfg.ws_slots
        self.nclusters = cfg.cpus * cfg.clusters_per_cpu
        self.nentries = 2 * self.ws  # a slot's old and new entry coexist during a store
        self.class_locks = ZS_NCLASSES if cfg.alloc_lock == "class" else 1  # allocator locks per pool
        self.nlrus = {"tree": self.ntrees, "alloc": self.npools, "own": 1}[cfg.lru_lock]
        self.swap_locks = cfg.swap_types if cfg.swap_lock == "type" else 0
        regions = max(1, -(-cfg.slots_per_type >> SWAP_ADDRESS_SPACE_SHIFT))
        self.swap_cache_per_type = {"off": 0, "type": 1, "64m": regions}[cfg.swap_cache_lock]
        # lock ids, in this order: trees, allocator locks, the LRU's own lock, swap locks, swap-cache locks
        self.lock_classes = np.array(
            [LOCKCLASS_TREE] * self.ntrees
            + [LOCKCLASS_CLASS if self.class_locks > 1 else LOCKCLASS_POOL] * (self.npools * self.class_locks)
            + [LOCKCLASS_LRU] * (1 if cfg.lru_lock == "own" else 0)
            + [LOCKCLASS_SWAP] * self.swap_locks
            + [LOCKCLASS_SWAP_CACHE] * (cfg.swap_types * self.swap_cache_per_type), np.int64)
        self.nlocks = len(self.lock_classes)
        self.xa_type_shift = max(1, (cfg.slots_per_type - 1).bit_length())
        self.nxa = self._xa_nodes() if cfg.index == "xarray" else 1
        n, i8, u8 = self.ncpus, np.int64, np.uint8
        self.shapes = {
            "params": ((P_WIDTH,), i8),
            "ctl": ((3, 8), i8),
            "locks": ((self.nlocks, sync.LK_WIDTH), i8),
            "held": ((n, sync.HELD_WIDTH), i8),
            "lstat": ((PHASES, len(LOCK_CLASS_NAMES), n, sync.LS_WIDTH), i8),
            "lsite": ((PHASES, n, len(LOCK_CLASS_NAMES), sync.SITES, 2), i8),
            "roots": ((self.ntrees, R_WIDTH), i8),
            "nodes": ((self.nentries, 16), i8),
            "xa": ((self.nxa, XA_SLOTS), i8),
            "lru_meta": ((self.nlrus, lru.LM_WIDTH), i8),
            "pool_meta": ((self.npools, 16), i8),
            "pool_heads": ((self.npools, 256), i8),
            "frame_meta": ((self.nframes, 16), i8),
            "frame_free": ((self.nframes,), i8),
            "pool_data": ((self.nframes * PAGE_SIZE,), u8),
            "corpus": ((corpus_pages, PAGE_SIZE), u8),
            "corpus_clen": ((corpus_pages,), i8),
            "slots": ((self.ws, SL_WIDTH), i8),
            "clusters": ((self.nclusters, 2), i8),
            "cpu_state": ((n, CS_WIDTH), i8),
            "cnt": ((PHASES, n, CNT_WIDTH), i8),
            "frames": ((n, cfg.frame_depth, FRAME_WIDTH), i8),
            "cpu_page": ((n, PAGE_SIZE), u8),
            "cpu_cbuf": ((n, CBUF_BYTES), u8),
            "cpu_out": ((n, PAGE_SIZE), u8),
            "cpu_zctx": ((n, 8), i8),
            "device": ((self.ws, PAGE_SIZE), u8),
            "frame_lru": ((self.nframes, 2), i8),
            "obj_owner": ((self.nframes * lru.OBJS_PER_FRAME,), i8),
        }
        if checked:
            self.shapes.update({"chk_ctl": ((8,), i8), "chk_gen": ((self.nentries,), i8),
                                "chk_fp": ((n, 64), i8), "chk_tree_dead": ((self.ntrees,), i8)})
        self.fields = FIELDS + (CHECK_FIELDS if checked else ())
        self.offsets = {}
        off = 0
        for name in self.fields:
            shape, dt = self.shapes[name]
            off = (off + 4095) & ~4095  # page-align: every array starts on its own lines
            self.offsets[name] = off
            off += int(np.prod(shape)) * np.dtype(dt).itemsize
        self.total = max(off, PAGE_SIZE)


def cluster_table(cfg: Config) -> np.ndarray:
    """(swap type, first offset) of each 256-slot cluster; CPU c owns clusters
    [c*k, (c+1)*k).  A device's clusters are spread evenly over it, as the kernel spreads
    initial per-CPU clusters at least 64 MiB apart."""
    k = cfg.clusters_per_cpu
    table = np.zeros((cfg.cpus * k, 2), np.int64)
    for t in range(cfg.swap_types):
        cpus = [c for c in range(cfg.cpus) if c % cfg.swap_types == t]
        count = len(cpus) * k
        if count == 0:
            continue
        stride = max(CLUSTER_PAGES, cfg.slots_per_type // count // CLUSTER_PAGES * CLUSTER_PAGES)
        rank = 0
        for j in range(k):  # interleave so CPUs' first clusters are far apart, like the kernel
            for c in cpus:
                table[c * k + j] = (t, rank * stride)
                rank += 1
    return table


def slot_keys(cfg: Config) -> np.ndarray:
    """The swap entry of every working-set slot: CPU c's clusters, 256 consecutive slots each."""
    table = cluster_table(cfg)
    ci = np.arange(cfg.ws_slots) // CLUSTER_PAGES
    return swp_entry.py_func(table[ci, 0], table[ci, 1] + np.arange(cfg.ws_slots) % CLUSTER_PAGES)


def params_build(cfg: Config, layout: Layout, cycles_per_ns: float) -> np.ndarray:
    p = np.zeros(P_WIDTH, np.int64)
    p[P_STRATEGY] = strategies.STRATEGY_IDS[cfg.strategy]
    p[P_BUCKETS] = cfg.buckets
    p[P_SWAP_TYPES] = cfg.swap_types
    p[P_SLOTS_PER_TYPE] = cfg.slots_per_type
    p[P_TREES_PER_TYPE] = max(1, layout.ntrees // cfg.swap_types)
    p[P_ALLOCATOR] = pool.ALLOCATORS[cfg.allocator]
    p[P_NPOOLS] = layout.npools
    p[P_POOLS_HASHED] = 1 if cfg.pools > 0 else 0
    p[P_LOCK_KIND] = sync.LOCK_KINDS[cfg.lock]
    p[P_LOCKSTAT] = 1 if cfg.lockstat else 0
    p[P_COMPRESSOR] = compress.COMPRESSORS[cfg.compressor]
    p[P_SYNTH_CYCLES] = int(cfg.synthetic_ns * cycles_per_ns)
    p[P_ZSTD_LEVEL] = cfg.zstd_level
    p[P_REJECT_ABOVE] = cfg.reject_above
    p[P_MIX_STORE] = cfg.mix[0]
    p[P_MIX_LOAD] = cfg.mix[1]
    p[P_NCPUS] = cfg.cpus
    p[P_WS_SLOTS] = layout.ws
    p[P_SEED] = cfg.seed
    p[P_TREE_LOCK0] = 0
    p[P_POOL_LOCK0] = layout.ntrees
    p[P_NTREES] = layout.ntrees
    p[P_CLUSTERS_PER_CPU] = cfg.clusters_per_cpu
    p[P_MAX_FRAMES] = cfg.pool_limit_frames
    p[P_ACCEPT_FRAMES] = max(0, cfg.pool_limit_frames * 9 // 10)  # zswap's accept_threshold_percent
    p[P_WRITEBACK] = WRITEBACK_IDS[cfg.writeback]
    p[P_LRU] = lru.LRU_POLICIES[cfg.lru]
    p[P_DEV_WRITE_CYCLES] = int(cfg.dev_write_ns * cycles_per_ns)
    p[P_DEV_READ_CYCLES] = int(cfg.dev_read_ns * cycles_per_ns)
    p[P_PROTOCOL] = PROTOCOL_NAMES.index(cfg.protocol)
    p[P_INDEX] = INDEX_IDS[cfg.index]
    p[P_ALLOC_LOCK] = pool.ALLOC_LOCKS[cfg.alloc_lock]
    p[P_LRU_LOCK] = lru.LRU_LOCKS[cfg.lru_lock]
    p[P_FREE_UNDER_TREE] = FREE_IDS[cfg.free_under_tree]
    p[P_LOAD] = LOAD_IDS[cfg.load]
    p[P_WB_ORDER] = WB_ORDER_IDS[cfg.wb_order]
    p[P_SWAP_LOCK] = SWAP_LOCK_IDS[cfg.swap_lock]
    p[P_SWAP_CACHE_LOCK] = SWAP_CACHE_IDS[cfg.swap_cache_lock]
    p[P_THINK_CYCLES] = int((cfg.think_ns or 0) * cycles_per_ns)
    p[P_DUP_PER_64K] = int(round(cfg.dup_rate * 65536))
    p[P_FRAME_DEPTH] = cfg.frame_depth
    p[P_CLASS_LOCKS] = layout.class_locks
    p[P_LRU_LOCK0] = layout.ntrees + layout.npools * layout.class_locks
    p[P_SWAP_LOCK0] = p[P_LRU_LOCK0] + (1 if cfg.lru_lock == "own" else 0)
    p[P_SWAP_CACHE_LOCK0] = p[P_SWAP_LOCK0] + layout.swap_locks
    p[P_SWAP_CACHE_PER_TYPE] = layout.swap_cache_per_type
    p[P_NLRUS] = layout.nlrus
    p[P_XA_TYPE_SHIFT] = layout.xa_type_shift
    return p


def shm_space_check(need: int) -> None:
    """Refuse up front: a segment larger than /dev/shm's free space is created lazily and only
    fails later, as SIGBUS in a worker touching a page that cannot be backed."""
    try:
        st = os.statvfs("/dev/shm")
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if need > free:
        from zswap_conc.config import ConfigError

        raise ConfigError(f"--pool-size: this run needs {need >> 20} MiB of shared memory but /dev/shm has "
                          f"{free >> 20} MiB free; accepted: a smaller --pool-size or fewer --cpus/--clusters-per-cpu")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (someone else's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def segments_stale() -> list[tuple[str, int, int]]:
    """(name, owner pid, bytes) of every arena segment whose creating process is gone; a live
    run's segments are never listed (its pid is in the name)."""
    out = []
    try:
        names = sorted(os.listdir("/dev/shm"))
    except OSError:
        return out
    for name in names:
        if not name.startswith(SHM_PREFIX):
            continue
        try:
            pid = int(name[len(SHM_PREFIX):].split("_", 1)[0])
        except ValueError:
            continue
        if not pid_alive(pid):
            try:
                size = os.stat(os.path.join("/dev/shm", name)).st_size
            except OSError:
                continue
            out.append((name, pid, size))
    return out


def segment_remove(name: str) -> None:
    os.unlink(os.path.join("/dev/shm", name))


def segment_create(nbytes: int):
    """A new shared segment of ``nbytes``, named so that ``segments_stale`` can tell whose it is;
    returns (SharedMemory, name).  Refused up front when /dev/shm cannot hold it."""
    from multiprocess import shared_memory

    shm_space_check(nbytes)
    name = f"{SHM_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    return shared_memory.SharedMemory(name=name, create=True, size=nbytes), name


def segment_close(shm) -> None:
    """Unmap and unlink a segment made by ``segment_create`` (its creator only)."""
    try:
        shm.close()
    except BufferError:
        # numpy views still reference the mapping: it is unmapped when the last one dies;
        # drop the handles so SharedMemory.__del__ does not try (and warn) again
        shm._buf = None
        shm._mmap = None
    try:
        shm.unlink()
    except FileNotFoundError:
        pass


_CORPUS_CACHE: dict = {}


def corpus_get():
    if "c" not in _CORPUS_CACHE:
        _CORPUS_CACHE["c"] = pages.corpus_build()
    return _CORPUS_CACHE["c"]


class Arena:
    """One run's shared state.  Use as a context manager: leaving it unlinks the segment."""

    def __init__(self, cfg: Config, shared: bool = True, cycles_per_ns: float = 1.0, checked: bool = False):
        """``checked``: a private arena for the race hunter, with checked mode's arrays (CheckedViews)."""
        corpus, clen, digest, desc = corpus_get()
        self.cfg = cfg
        self.layout = lay = Layout(cfg, corpus.shape[0], checked)
        self.corpus_desc = desc
        self.cycles_per_ns = cycles_per_ns
        self.shm = None
        self.name = None
        self._owner_pid = os.getpid()
        self._zctx: list = []
        if shared:
            self.shm, self.name = segment_create(lay.total)
            buf = self.shm.buf
        else:
            self._private = np.zeros(lay.total, np.uint8)
            buf = self._private.data
        try:
            views = {}
            for name in lay.fields:
                shape, dt = lay.shapes[name]
                count = int(np.prod(shape))
                views[name] = np.frombuffer(buf, dtype=dt, count=count, offset=lay.offsets[name]).reshape(shape)
            self.v = (CheckedViews if checked else ArenaViews)(**views)
            self._init(corpus, clen)
        except BaseException:
            self.close()
            raise

    def _init(self, corpus, clen) -> None:
        cfg, lay, v = self.cfg, self.layout, self.v
        v.params[:] = params_build(cfg, lay, self.cycles_per_ns)
        pages.params_fill(v.params, cfg, corpus.shape[0] - pages.CORPUS_RANDOM_PAGES, pages.CORPUS_RANDOM_PAGES)
        sync.locks_init(v.locks, lay.lock_classes)
        sync.held_init(v.held)
        sync.lstat_init(v.lstat)
        v.roots[:, R_ROOT] = NIL
        v.nodes[:, :N_TREE_COLUMNS] = NIL
        pool.pool_init(pool.ALLOCATORS[cfg.allocator], v.pool_meta, v.pool_heads, v.frame_meta,
                       v.frame_free, lay.npools, lay.frames_per_pool)
        lru.lru_init(v.lru_meta, v.pool_meta, v.frame_lru, v.nodes)
        v.xa[0, XA_NEXT] = 1  # node 0 is the pool's header
        v.corpus[:] = corpus
        v.corpus_clen[:] = clen
        v.clusters[:] = cluster_table(cfg)
        v.slots[:, SL_KEY] = slot_keys(cfg)
        rng = np.random.default_rng(cfg.seed)
        v.cpu_state[:, CS_RNG] = rng.integers(1, 2**62, lay.ncpus)
        if cfg.compressor == "zstd":
            self._zctx = compress.zstd_contexts_create(lay.ncpus)
            v.cpu_zctx[:, 0] = [c for c, _ in self._zctx]
            v.cpu_zctx[:, 1] = [d for _, d in self._zctx]

    def snapshot(self) -> np.ndarray:
        """A copy of a private arena's whole state (the race hunter starts every execution from one)."""
        return self._private.copy()

    def restore(self, snap: np.ndarray) -> None:
        self._private[:] = snap

    def close(self) -> None:
        """Unlink the segment (parent only; a forked worker must not unlink the parent's run)."""
        if os.getpid() != self._owner_pid:
            return
        if self._zctx:
            compress.zstd_contexts_free(self._zctx)
            self._zctx = []
        if self.shm is not None:
            shm, self.shm = self.shm, None
            self.v = None
            segment_close(shm)

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
