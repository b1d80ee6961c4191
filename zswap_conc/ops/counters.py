"""zswap's outcome counters, one slot per (phase, CPU, counter) in ``cnt``, as the kernel's debugfs
counts its stores, rejects and writebacks.

Each CPU writes only its own row (``cnt[phase, cpu, :]``), so counting needs no atomics; the parent
sums the rows after the workers stopped.  A record names each counter by ``COUNTER_NAMES``.
"""

C_OPS = 0  # operations completed
C_STORES = 1  # store operations (not counting stores re-entered by writeback)
C_LOADS = 2  # load operations
C_INVALIDATES = 3  # invalidate operations
C_STORED = 4  # stores that ended with the page in the pool
C_SAME_FILLED = 5  # of those, same-filled pages (no compression, no pool memory)
C_REJECT_POOR = 6  # reject_compress_poor: compressed size above the threshold
C_REJECT_ALLOC = 7  # reject_alloc_fail: the pool had no memory
C_REJECT_COMPRESS_FAIL = 8  # reject_compress_fail: the compressor returned an error
C_DUPLICATE = 9  # duplicate_entry: a store replaced a live entry of its slot
C_LOAD_HIT = 10  # loads served from the pool
C_LOAD_MISS = 11  # loads that found no entry and no data on the device
C_INVAL_HIT = 12  # invalidates that erased an entry
C_INVAL_MISS = 13  # invalidates that found no entry
C_MISMATCH = 14  # loads (or writebacks) that got stale or wrong data, or wrong presence: must stay 0
C_SLOT_BUSY = 15  # operations skipped because another CPU held the slot
C_BYTES_IN = 16  # uncompressed bytes given to the compressor
C_BYTES_OUT = 17  # compressed bytes it produced
C_COMPRESS_CYCLES = 18  # cycles spent compressing
C_DECOMPRESS_CYCLES = 19  # cycles spent decompressing
C_BLOCKED_STEPS = 20  # steps that found their lock busy
C_ENTRY_FAIL = 21  # no free entry for the slot: must stay 0
C_LOAD_DEVICE = 22  # loads served from the swap device
C_DEV_WRITES = 23  # pages written to the swap device
C_DEV_READS = 24  # pages read from the swap device
C_POOL_LIMIT_HIT = 25  # pool_limit_hit: a store found the pool at its limit
C_WRITTEN_BACK = 26  # written_back_pages: pages moved from the pool to the device
C_REJECT_RECLAIM_FAIL = 27  # reject_reclaim_fail: the pool was full and writeback freed nothing
C_WB_RESTORES = 28  # recursive: writebacks that re-entered store (re-compressions)
C_WB_NO_PROGRESS = 29  # writebacks whose page went straight back into the pool
C_WB_OVERFLOW = 30  # recursion reached the frame-stack bound; the page went to the device
C_WB_DENIED = 31  # denial map: re-stores refused
C_WB_RECHECK_ABORT = 32  # the tree held another entry after the write: nothing erased
C_WB_SLOT_BUSY = 33  # victims skipped because their slot was busy
C_WB_FRAMES_FREED = 34  # pool frames freed by writeback
C_LRU_INVERSION = 35  # victims younger than the oldest page in their pool
C_SHRINK_RUNS = 36  # deferred: shrinker runs
C_WB_GONE = 37  # victims no longer in the tree when writeback looked them up (-EAGAIN): skipped
C_DEPTH_HIST = 38  # 38..45: stores that hit the limit, by deepest store nesting 1..8
DEPTH_HIST_LEN = 8

COUNTER_NAMES = (
    "ops", "stores", "loads", "invalidates", "stored_pages_added", "same_filled_added",
    "reject_compress_poor", "reject_alloc_fail", "reject_compress_fail", "duplicate_entry",
    "load_hit", "load_miss", "invalidate_hit", "invalidate_miss", "load_mismatch", "slot_busy",
    "bytes_in", "bytes_out", "compress_cycles", "decompress_cycles", "blocked_steps", "entry_fail",
    "load_device", "device_writes", "device_reads", "pool_limit_hit", "written_back_pages",
    "reject_reclaim_fail", "writeback_restores", "writeback_no_progress", "writeback_overflow",
    "writeback_denied", "writeback_recheck_abort", "writeback_slot_busy", "writeback_frames_freed",
    "lru_inversions", "shrinker_runs", "writeback_gone",
) + tuple(f"depth_{k}" for k in range(1, DEPTH_HIST_LEN + 1))  # fmt: skip
assert COUNTER_NAMES.index("depth_1") == C_DEPTH_HIST
