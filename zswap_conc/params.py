"""The run's parameters as compiled code sees them: one int64 vector, indexed by these names.

Python code builds it once from the validated config (``arena.params_build``); compiled code only
reads it, so the choice of strategy, allocator, lock and compressor is a branch on a constant.
"""

P_STRATEGY = 0  # strategies.STRATEGY_IDS
P_BUCKETS = 1  # hashed: number of buckets
P_TREES_PER_TYPE = 2  # split64m: trees per swap type
P_SWAP_TYPES = 3  # swap devices
P_SLOTS_PER_TYPE = 4  # swap slots (4 KiB pages) per device
P_ALLOCATOR = 5  # pool.ALLOCATORS
P_NPOOLS = 6  # pool shards
P_POOLS_HASHED = 7  # 0: one pool per swap type (2012); 1: pool chosen by hash (2023)
P_LOCK_KIND = 8  # sync.LOCK_KINDS
P_COMPRESSOR = 9  # compress.COMPRESSORS
P_SYNTH_CYCLES = 10  # synthetic compressor: cycles per compression
P_REJECT_ABOVE = 11  # compressed sizes above this are rejected (reject_compress_poor)
P_CORPUS_REAL = 12  # real-data pages at the start of the corpus
P_CORPUS_RANDOM = 13  # incompressible pages after them
P_PCT_ZERO = 14  # per 10000 stored pages: zero-filled
P_PCT_SAME = 15  # per 10000: same-filled with a non-zero word
P_PCT_RANDOM = 16  # per 10000: incompressible
P_MIX_STORE = 17  # per 100 operations: stores
P_MIX_LOAD = 18  # per 100: loads (the rest are invalidates)
P_NCPUS = 19  # simulated CPUs
P_WS_SLOTS = 20  # slots in the working set
P_SEED = 21  # workload seed
P_TREE_LOCK0 = 22  # lock id of tree 0's tree_lock (tree t uses P_TREE_LOCK0 + t)
P_POOL_LOCK0 = 23  # lock id of pool 0's lock
P_NTREES = 24  # trees in all
P_CLUSTERS_PER_CPU = 25  # 256-slot clusters each CPU stores into
P_ZSTD_LEVEL = 26  # zstd compression level
P_MAX_FRAMES = 27  # pool limit in frames (is the pool full?)
P_ACCEPT_FRAMES = 28  # deferred: the shrinker works until frames in use drop below this
P_WRITEBACK = 29  # ops.WRITEBACK_PATHS
P_LRU = 30  # lru.LRU_POLICIES
P_DEV_WRITE_CYCLES = 31  # swap device: cost of writing one page
P_DEV_READ_CYCLES = 32  # swap device: cost of reading one page
P_PROTOCOL = 33  # ops.PROTOCOL_*: the correct writeback protocol or a known-buggy one (race hunter)
P_WATCHDOG_CYCLES = 34  # a worker exits when the parent's heartbeat is older than this (0: never)
P_LOCKSTAT = 35  # 1: lock_stat statistics (timestamps in the holder, published after release); 0: none
P_INDEX = 36  # index.INDEX_RBTREE | INDEX_XARRAY
P_ALLOC_LOCK = 37  # pool.ALLOC_LOCK_POOL | ALLOC_LOCK_CLASS
P_LRU_LOCK = 38  # lru.LRU_LOCK_TREE | LRU_LOCK_ALLOC | LRU_LOCK_OWN
P_FREE_UNDER_TREE = 39  # FREE_* below: which frees happen while the tree's lock is held
P_LOAD = 40  # LOAD_KEEP | LOAD_EXCLUSIVE
P_WB_ORDER = 41  # WB_* below: how writeback secures its victim
P_SWAP_LOCK = 42  # SWAP_LOCK_OFF | SWAP_LOCK_TYPE: si->lock around slot allocation and free
P_SWAP_CACHE_LOCK = 43  # SWAP_CACHE_OFF | SWAP_CACHE_TYPE | SWAP_CACHE_64M
P_THINK_CYCLES = 44  # other work between two operations of a CPU
P_DUP_PER_64K = 45  # per 65536 stores to a slot holding data: stored over it (duplicate); the rest free it first
P_FRAME_DEPTH = 46  # operation frames per CPU (the bound on writeback recursion)
P_LRU_LOCK0 = 47  # lock id of LRU 0's lru_lock (own LRU)
P_SWAP_LOCK0 = 48  # lock id of swap type 0's swap_lock
P_SWAP_CACHE_LOCK0 = 49  # lock id of the first swap-cache lock
P_NLRUS = 50  # object LRUs (lru.py): trees, pools or 1
P_CLASS_LOCKS = 51  # allocator locks per pool: 1, or zsmalloc's size classes
P_SWAP_CACHE_PER_TYPE = 52  # swap-cache locks per swap type: 1, or one per 64 MiB
P_XA_TYPE_SHIFT = 53  # xarray: where a key's swap type sits in its index (above every offset)
P_WIDTH = 64

# values of the profile settings (config.py names them; kernels.py says where each comes from)
FREE_NONE = 0  # every free happens after the tree's lock is released
FREE_ALL = 1  # the last put frees under the tree's lock (3.13-6.8, 0ab0abcf5115)
FREE_INVALIDATE = 2  # invalidate and duplicate stores free under it; load and writeback after (6.9)
FREE_IDS = {"none": FREE_NONE, "all": FREE_ALL, "invalidate": FREE_INVALIDATE}
LOAD_KEEP = 0  # the entry stays in the pool after a load
LOAD_EXCLUSIVE = 1  # a load into the swap cache erases it (b9c91c43412f, c2e2ba770200)
LOAD_IDS = {"keep": LOAD_KEEP, "exclusive": LOAD_EXCLUSIVE}
WB_PIN_FIRST = 0  # the LRU's entry, a reference, then the swap-cache page (2012; 6.5-6.8)
WB_LOOKUP_FIRST = 1  # the slot's entry looked up by key and referenced, then the page (3.11-6.4)
WB_CLAIM_FIRST = 2  # the swap-cache page, then compare-and-erase; no refcount (6.9+, 5878303c5353)
WB_ORDER_IDS = {"pin-first": WB_PIN_FIRST, "lookup-first": WB_LOOKUP_FIRST, "claim-first": WB_CLAIM_FIRST}
SWAP_LOCK_OFF = 0
SWAP_LOCK_TYPE = 1  # one si->lock per swap type
SWAP_LOCK_IDS = {"off": SWAP_LOCK_OFF, "type": SWAP_LOCK_TYPE}
SWAP_CACHE_OFF = 0
SWAP_CACHE_TYPE = 1  # one swap-cache address space (and lock) per swap type
SWAP_CACHE_64M = 2  # one per 64 MiB of swap (4b3ef9daa4fc)
SWAP_CACHE_IDS = {"off": SWAP_CACHE_OFF, "type": SWAP_CACHE_TYPE, "64m": SWAP_CACHE_64M}
