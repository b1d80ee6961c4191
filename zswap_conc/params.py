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
P_WIDTH = 40
