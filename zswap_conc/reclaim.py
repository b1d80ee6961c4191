"""The review's second concern, measured: does writing back compressed objects free pageframes?

For each allocator x LRU policy x fragmentation level, one deterministic single-process run fills
the pool (stores to every slot of the working set), churns it (``churn_rounds`` rounds, each
invalidating ``RECLAIM_CHURN_SHARE`` of the slots at random and storing them again, so the LRU's
order stops matching where the objects sit, as on a system that has been swapping for a while),
fragments it
(invalidates a further fraction), then writes back through the same writeback step machine the
workers run, one operation at a time, until the pool is empty.  After every writeback it records the
cumulative objects written back and pageframes freed: the curve that, per REFERENCE.md, nobody had
published.  Both LRUs live in the allocator here (the pageframe LRU is the allocator's own), under
whatever kernel profile the run names for everything else.
"""

from __future__ import annotations

import random
import time

from zswap_conc.arena import PHASE_MEASURE, Arena
from zswap_conc.config import (
    RECLAIM_CHURN_ROUNDS,
    RECLAIM_CHURN_SHARE,
    RECLAIM_FRAGMENTATION,
    Config,
    validate,
)
from zswap_conc.cpu import op_run
from zswap_conc.lru import LM_LEN
from zswap_conc.ops.counters import C_WB_FRAMES_FREED, C_WRITTEN_BACK
from zswap_conc.ops.frame import OP_INVALIDATE, OP_STORE, OP_WRITEBACK
from zswap_conc.pool import PM_FRAMES_USED
from zswap_conc.results.document import document_new
from zswap_conc.results.meta import machine_meta
from zswap_conc.verify import arena_verify_report

ALLOCATORS = ("zbud", "zsmalloc")
POLICIES = ("object", "pageframe")


def reclaim_curve(allocator: str, policy: str, fragmentation: float, clusters: int = 8, seed: int = 1,
                  churn_rounds: int = RECLAIM_CHURN_ROUNDS, kernel: str | None = None) -> dict:
    """One curve: pageframes freed against objects written back (see the module docstring)."""
    settings = dict(cpus=1, clusters_per_cpu=clusters, allocator=allocator, lru=policy, lru_lock="alloc",
                    alloc_lock="pool", writeback="direct", pool_size=64 << 20, mix=(100, 0, 0), seed=seed,
                    think_ns=0)
    if kernel is not None:
        settings["kernel"] = kernel
    cfg = validate(Config(**settings))
    rnd = random.Random(seed)
    with Arena(cfg, shared=False) as ar:
        a = ar.v
        a.ctl[0, 0] = 1
        ws = a.slots.shape[0]
        for s in range(ws):
            op_run(a, 0, OP_STORE, PHASE_MEASURE, s)
        for _ in range(churn_rounds):
            for s in rnd.sample(range(ws), int(ws * RECLAIM_CHURN_SHARE)):
                op_run(a, 0, OP_INVALIDATE, PHASE_MEASURE, s)
                op_run(a, 0, OP_STORE, PHASE_MEASURE, s)
        for s in rnd.sample(range(ws), int(ws * fragmentation)):
            op_run(a, 0, OP_INVALIDATE, PHASE_MEASURE, s)
        frames0 = int(a.pool_meta[0, PM_FRAMES_USED])
        objects0 = int(a.lru_meta[0, LM_LEN])
        base_wb = int(a.cnt[PHASE_MEASURE, 0, C_WRITTEN_BACK])
        base_freed = int(a.cnt[PHASE_MEASURE, 0, C_WB_FRAMES_FREED])
        points = [(0, 0)]
        while a.lru_meta[0, LM_LEN] > 0:
            op_run(a, 0, OP_WRITEBACK, PHASE_MEASURE, 0)
            wb = int(a.cnt[PHASE_MEASURE, 0, C_WRITTEN_BACK]) - base_wb
            if wb == points[-1][0]:
                break  # nothing more could be written back
            points.append((wb, frames0 - int(a.pool_meta[0, PM_FRAMES_USED])))
        v = arena_verify_report(a, 0)
        ok = v["mismatches"] == 0 and v["pool_error"] == 0 and not v["accounting"] and v["lru_error"] == 0
        freed_by_wb = int(a.cnt[PHASE_MEASURE, 0, C_WB_FRAMES_FREED]) - base_freed
    # the figure at a quarter of the objects written back: the regime a shrinker actually works in
    quarter = next((p for p in points if p[0] >= objects0 // 4), points[-1])
    return {
        "allocator": allocator,
        "policy": policy,
        "fragmentation": fragmentation,
        "churn_rounds": churn_rounds,
        "objects_at_start": objects0,
        "frames_at_start": frames0,
        "objects_per_frame_at_start": round(objects0 / frames0, 3) if frames0 else 0.0,
        "points": points,
        "frames_freed_per_object_at_quarter": round(quarter[1] / quarter[0], 4) if quarter[0] else 0.0,
        "objects_per_frame_freed_at_quarter": round(quarter[0] / quarter[1], 3) if quarter[1] else None,
        "frames_freed_by_writeback": freed_by_wb,
        "integrity_ok": bool(ok),
    }


def reclaim_run(fragmentation=RECLAIM_FRAGMENTATION, clusters: int = 8, churn_rounds: int = RECLAIM_CHURN_ROUNDS,
                kernel: str | None = None, progress=None) -> dict:
    """Every curve of the experiment; ``progress(done, total, label)`` is told after each one."""
    t0 = time.perf_counter()
    plan = [(fr, al, po) for fr in fragmentation for al in ALLOCATORS for po in POLICIES]
    curves = []
    for i, (fr, al, po) in enumerate(plan):
        curves.append(reclaim_curve(al, po, fr, clusters, churn_rounds=churn_rounds, kernel=kernel))
        if progress is not None:
            progress(i + 1, len(plan), f"{al} {po} {fr:.0%}")
    kernel = validate(Config(kernel=kernel) if kernel else Config()).kernel
    return document_new("reclaim", meta=machine_meta(),
                        experiment={"fragmentation": list(fragmentation), "clusters_per_cpu": clusters,
                                    "churn_rounds": churn_rounds, "churn_share": RECLAIM_CHURN_SHARE, "kernel": kernel},
                        curves=curves, wall_s=round(time.perf_counter() - t0, 2))
