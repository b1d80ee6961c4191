"""The run record: one configuration measured, built once from what the workers left in shared
memory (counters by name, per-class lock statistics in cycles, the end-of-run verification) and
never edited afterwards.  Also the lock_stat table, the writeback figures and the soak figures.
"""

from __future__ import annotations

from zswap_conc.results.document import document_new

PAGE_SIZE = 4096

LOCK_STAT_COLUMNS = (
    "con-bounces", "contentions", "waittime-min", "waittime-max", "waittime-total",
    "waittime-avg", "acq-bounces", "acquisitions", "holdtime-min", "holdtime-max",
    "holdtime-total", "holdtime-avg",
)  # fmt: skip


def kernel_label(config: dict) -> str:
    """``kernel 6.11``, with the settings a run changed from its profile: ``kernel 6.11 (+strategy)``."""
    over = config.get("overrides") or []
    return f"kernel {config.get('kernel', '?')}" + (f" (+{', '.join(over)})" if over else "")


def compressor_label(config: dict) -> str:
    """``lz4``, ``zstd`` or ``synthetic:<N>ns``, as flags take it and reports print it."""
    if config.get("compressor") == "synthetic":
        return f"synthetic:{config.get('synthetic_ns')}ns"
    return str(config.get("compressor", "?"))


def lock_stat_rows(raw: list[dict], ns_per_cycle: float) -> list[dict]:
    """/proc/lock_stat rows, one per lock class, in ns, from per-class sums in cycles
    (``sync.lstat_sum``)."""
    rows = []
    for s in raw:
        acq, con = s["acquisitions"], s["contentions"]
        wtot = float(s["wait_total"]) * ns_per_cycle
        htot = float(s["hold_total"]) * ns_per_cycle
        rows.append({
            "class": s["class"],
            "con-bounces": s["con_bounces"],
            "contentions": con,
            "waittime-min": round(s["wait_min"] * ns_per_cycle, 1),
            "waittime-max": round(float(s["wait_max"]) * ns_per_cycle, 1),
            "waittime-total": round(wtot, 1),
            "waittime-avg": round(wtot / con, 1) if con else 0.0,
            "acq-bounces": s["acq_bounces"],
            "acquisitions": acq,
            "holdtime-min": round(s["hold_min"] * ns_per_cycle, 1),
            "holdtime-max": round(float(s["hold_max"]) * ns_per_cycle, 1),
            "holdtime-total": round(htot, 1),
            "holdtime-avg": round(htot / acq, 1) if acq else 0.0,
            "handoff-avg": round(float(s["handoff_total"]) * ns_per_cycle / con, 1) if con else 0.0,
            "handoff-max": round(float(s["handoff_max"]) * ns_per_cycle, 1),
        })
    return rows


CONTENTION_POINTS = 5  # call sites kept per lock class, most contended first (perf lock's caller column)


def contention_points(raw: dict[str, list[dict]], ns_per_cycle: float) -> dict[str, list[dict]]:
    """Per lock class, the call sites (operation and step) that waited most, from
    ``sync.lsite_sum``: which operation suffers."""
    return {cls: [{"site": r["site"], "contentions": r["contentions"],
                   "waittime-total": round(r["wait_total"] * ns_per_cycle, 1)} for r in rows[:CONTENTION_POINTS]]
            for cls, rows in raw.items()}


def lock_stat_table(rows: list[dict], sort: str = "waittime-total") -> str:
    """A /proc/lock_stat-like table, one row per lock class, sorted (descending) by ``sort``."""
    rows = sorted(rows, key=lambda r: r.get(sort, 0), reverse=True)
    width = max([len("class")] + [len(r["class"]) for r in rows])
    head = f"{'class':<{width}} " + " ".join(f"{c:>14}" for c in LOCK_STAT_COLUMNS)
    lines = [head]
    for r in rows:
        cells = []
        for c in LOCK_STAT_COLUMNS:
            v = r[c]
            cells.append(f"{v:>14,.1f}" if isinstance(v, float) else f"{v:>14,}")
        lines.append(f"{r['class']:<{width}} " + " ".join(cells))
    return "\n".join(lines)


def run_record(config: dict, meta: dict, samples: list, seconds: float, counters: dict[str, int],
               per_cpu_ops: list[int], lock_raw: list[dict], site_raw: dict[str, list[dict]], spread: dict[str, dict],
               ns_per_cycle: float, verify: dict) -> dict:
    """The record of a complete run: ``counters`` are the measured phase's totals by name,
    ``per_cpu_ops`` each CPU's completed operations, ``lock_raw`` and ``site_raw`` lock_stat in
    cycles (``sync.lstat_sum``, ``sync.lsite_sum``), ``spread`` each lock class's instances and
    effective spread (``sync.lock_spread``), ``verify`` the end-of-run verification
    (``verify.arena_verify_report``)."""
    ops = counters["ops"]
    stats = config.get("lockstat", True)  # off: no lock figures at all, not zeros
    present = {cls for cls, s in spread.items() if s["instances"]}  # the lock classes this run has
    lock_rows = [r for r in lock_stat_rows(lock_raw, ns_per_cycle) if r["class"] in present] if stats else []
    wait_ns = sum(r["waittime-total"] for r in lock_rows)
    cpu_ns = config["cpus"] * seconds * 1e9
    acq = sum(r["acquisitions"] for r in lock_rows)
    con = sum(r["contentions"] for r in lock_rows)
    frames = verify["frames"]
    stored = verify["stored"]
    same = verify["same_filled"]
    return document_new(
        "run",
        meta=meta,
        config=config,
        seconds=round(seconds, 4),
        throughput={
            "ops_s": round(ops / seconds, 1),
            "per_cpu_ops_s": [round(x / seconds, 1) for x in per_cpu_ops],
        },
        samples=samples,
        mix={
            "store": round(counters["stores"] / max(1, ops), 4),
            "load": round(counters["loads"] / max(1, ops), 4),
            "invalidate": round(counters["invalidates"] / max(1, ops), 4),
        },
        counters=counters,
        zswap={
            "stored_pages": stored,
            "same_filled_pages": same,
            "pool_total_size": frames * PAGE_SIZE,
            "reject_compress_poor": counters["reject_compress_poor"],
            "reject_alloc_fail": counters["reject_alloc_fail"],
            "reject_compress_fail": counters["reject_compress_fail"],
            "duplicate_entry": counters["duplicate_entry"],
            "compression_ratio": round(counters["bytes_in"] / max(1, counters["bytes_out"]), 3),
            "pool_ratio": round((stored - same) * PAGE_SIZE / max(1, frames * PAGE_SIZE), 3),
            "compressed_bytes": verify["compressed_bytes"],
        },
        lock_stat=lock_rows,
        contention_points={k: v for k, v in contention_points(site_raw, ns_per_cycle).items() if k in present}
        if stats else {},
        lock_spread={k: v for k, v in spread.items() if k in present},
        contention={
            "wait_share": (round(wait_ns / cpu_ns, 5) if cpu_ns else 0.0) if stats else None,
            "contentions_per_acquisition": (round(con / acq, 5) if acq else 0.0) if stats else None,
            "acquisitions_per_op": round(acq / max(1, ops), 3) if stats else None,
            "compress_share": round(float(counters["compress_cycles"]) * ns_per_cycle / cpu_ns, 4),
            "decompress_share": round(float(counters["decompress_cycles"]) * ns_per_cycle / cpu_ns, 4),
            "store_ns_compress": round(float(counters["compress_cycles"]) * ns_per_cycle
                                       / max(1, counters["stores"]), 1),
        },
        integrity={
            "verified": verify["verified"],
            "mismatches": verify["mismatches"],
            "load_mismatches": counters["load_mismatch"],
            "tree_error": verify["tree_error"],
            "pool_error": verify["pool_error"],
            "accounting_ok": not verify["accounting"],
            "leaked_entries": verify["leaked"],
            "device_verified": verify["device_verified"],
            "lru_error": verify["lru_error"],
            "frames_counter_ok": not verify["global_frames"],
        },
        writeback=writeback_figures(counters),
        op_counts={
            "store": counters["stores"],
            "load": counters["loads"],
            "invalidate": counters["invalidates"],
        },
    )


def partial_record(config: dict, meta: dict, samples: list, reason: str) -> dict:
    """What a run that ended early had measured: its per-second samples, marked incomplete."""
    return document_new("run", complete=False, stopped_by=reason, meta=meta, config=config, samples=samples)


def writeback_figures(c: dict) -> dict:
    """The review's first two concerns in one table: recursion, progress and frames freed."""
    depth = [c[f"depth_{k}"] for k in range(1, 9)]
    wb = c["written_back_pages"]
    freed = c["writeback_frames_freed"]
    return {
        "pool_limit_hit": c["pool_limit_hit"],
        "written_back_pages": wb,
        "reject_reclaim_fail": c["reject_reclaim_fail"],
        "restores": c["writeback_restores"],
        "no_progress": c["writeback_no_progress"],
        "overflow": c["writeback_overflow"],
        "denied": c["writeback_denied"],
        "recheck_abort": c["writeback_recheck_abort"],
        "slot_busy": c["writeback_slot_busy"],
        "frames_freed": freed,
        "frames_freed_per_object": round(freed / wb, 4) if wb else 0.0,
        "objects_per_frame_freed": round(wb / freed, 4) if freed else None,
        "lru_inversions": c["lru_inversions"],
        "shrinker_runs": c["shrinker_runs"],
        "depth_histogram": {str(k + 1): n for k, n in enumerate(depth) if n},
        "max_depth": max((k + 1 for k, n in enumerate(depth) if n), default=0),
        "device_writes": c["device_writes"],
        "device_reads": c["device_reads"],
        "load_device": c["load_device"],
    }


def soak_check(t: float, verify: dict) -> dict:
    """One of a soak's whole-pool verifications, at ``t`` seconds into the measured window."""
    return {"t": round(t, 3), "verified": verify["verified"], "device_verified": verify["device_verified"],
            "mismatches": verify["mismatches"], "leaked": verify["leaked"], "accounting_ok": not verify["accounting"],
            "tree_error": verify["tree_error"], "pool_error": verify["pool_error"], "lru_error": verify["lru_error"]}


def soak_figures(samples: list, checks: list) -> dict:
    """A soak's summary: every verification's outcome and the throughput drift."""
    rates = [sum(s["ops_s"]) for s in samples]
    k = max(1, len(rates) // 10)
    first, last = sum(rates[:k]) / k, sum(rates[-k:]) / k
    bad = [c for c in checks if c["mismatches"] or c["leaked"] or not c["accounting_ok"] or c["tree_error"]
           or c["pool_error"] or c["lru_error"]]
    return {
        "verifications": len(checks),
        "entries_verified": sum(c["verified"] + c["device_verified"] for c in checks),
        "mismatches": sum(c["mismatches"] for c in checks),
        "leaks": sum(c["leaked"] for c in checks) + sum(not c["accounting_ok"] for c in checks),
        "failed_checks": bad[:20],
        "throughput_first_tenth": round(first, 1),
        "throughput_last_tenth": round(last, 1),
        "drift": round(last / first - 1, 4) if first else 0.0,
        "checks": checks,
    }


def integrity_ok(rec: dict) -> bool:
    """The run's pool verified clean: no mismatch, no broken structure, no leak."""
    i = rec["integrity"]
    return (i["mismatches"] == 0 and i["load_mismatches"] == 0 and i["tree_error"] == 0
            and i["pool_error"] == 0 and i["accounting_ok"] and i["leaked_entries"] == 0
            and i.get("lru_error", 0) == 0 and i.get("frames_counter_ok", True))
