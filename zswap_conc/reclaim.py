"""The review's second concern, measured: does writing back compressed objects free pageframes?

For each allocator x LRU policy x fragmentation level, one deterministic single-process run fills
the pool (stores to every slot of the working set), fragments it (invalidates a fraction of the
slots at random), then writes back through the same writeback step machine the workers run, one
operation at a time, until the pool is empty.  After every writeback it records the cumulative
objects written back and pageframes freed: the curve that, per REFERENCE.md, nobody had published.
"""

from __future__ import annotations

import random
import time

from zswap_conc.arena import PHASE_MEASURE, Arena
from zswap_conc.config import Config, validate
from zswap_conc.cpu import op_run
from zswap_conc.lru import PM_OLRU_LEN
from zswap_conc.ops.counters import C_WB_FRAMES_FREED, C_WRITTEN_BACK
from zswap_conc.ops.frame import OP_INVALIDATE, OP_STORE, OP_WRITEBACK
from zswap_conc.pool import PM_FRAMES_USED
from zswap_conc.results.document import document_new
from zswap_conc.results.meta import machine_meta
from zswap_conc.verify import V_ACCOUNTING, V_LRU_ERROR, V_MISMATCHES, V_POOL_ERROR, arena_verify

ALLOCATORS = ("zbud", "zsmalloc")
POLICIES = ("object", "pageframe")
DEFAULT_FRAGMENTATION = (0.0, 0.3, 0.6)


def reclaim_curve(allocator: str, policy: str, fragmentation: float, clusters: int = 8, seed: int = 1) -> dict:
    cfg = validate(Config(cpus=1, clusters_per_cpu=clusters, allocator=allocator, lru=policy, writeback="direct",
                          pool_size=64 << 20, mix=(100, 0, 0), seed=seed))
    rnd = random.Random(seed)
    with Arena(cfg, shared=False) as ar:
        a = ar.v
        a.ctl[0, 0] = 1
        ws = a.slots.shape[0]
        for s in range(ws):
            op_run(a, 0, OP_STORE, PHASE_MEASURE, s)
        for s in rnd.sample(range(ws), int(ws * fragmentation)):
            op_run(a, 0, OP_INVALIDATE, PHASE_MEASURE, s)
        frames0 = int(a.pool_meta[0, PM_FRAMES_USED])
        objects0 = int(a.pool_meta[0, PM_OLRU_LEN])
        base_wb = int(a.cnt[PHASE_MEASURE, 0, C_WRITTEN_BACK])
        points = [(0, 0)]
        while a.pool_meta[0, PM_OLRU_LEN] > 0:
            op_run(a, 0, OP_WRITEBACK, PHASE_MEASURE, 0)
            wb = int(a.cnt[PHASE_MEASURE, 0, C_WRITTEN_BACK]) - base_wb
            if wb == points[-1][0]:
                break  # nothing more could be written back
            points.append((wb, frames0 - int(a.pool_meta[0, PM_FRAMES_USED])))
        v = arena_verify(a, 0)
        ok = v[V_MISMATCHES] == 0 and v[V_POOL_ERROR] == 0 and v[V_ACCOUNTING] == 0 and v[V_LRU_ERROR] == 0
        freed_by_wb = int(a.cnt[PHASE_MEASURE, 0, C_WB_FRAMES_FREED])
    # the figure at a quarter of the objects written back: the regime a shrinker actually works in
    quarter = next((p for p in points if p[0] >= objects0 // 4), points[-1])
    return {
        "allocator": allocator,
        "policy": policy,
        "fragmentation": fragmentation,
        "objects_at_start": objects0,
        "frames_at_start": frames0,
        "objects_per_frame_at_start": round(objects0 / frames0, 3) if frames0 else 0.0,
        "points": points,
        "frames_freed_per_object_at_quarter": round(quarter[1] / quarter[0], 4) if quarter[0] else 0.0,
        "objects_per_frame_freed_at_quarter": round(quarter[0] / quarter[1], 3) if quarter[1] else None,
        "frames_freed_by_writeback": freed_by_wb,
        "integrity_ok": bool(ok),
    }


def reclaim_run(fragmentation=DEFAULT_FRAGMENTATION, clusters: int = 8) -> dict:
    t0 = time.perf_counter()
    curves = [reclaim_curve(al, po, fr, clusters) for fr in fragmentation for al in ALLOCATORS for po in POLICIES]
    return document_new("reclaim", meta=machine_meta(),
                        experiment={"fragmentation": list(fragmentation), "clusters_per_cpu": clusters},
                        curves=curves, wall_s=round(time.perf_counter() - t0, 2))
