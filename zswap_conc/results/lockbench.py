"""The lockbench records: one record per run (one CPU count), the lockbench document that holds a
shape's runs at every CPU count, and its points -- the same point fields as a sweep's, plus the
hand-off latency, so ``plot`` and ``compare`` read both alike.
"""

from __future__ import annotations

import statistics

from zswap_conc.results.document import document_new
from zswap_conc.results.run import lock_stat_rows

LOCK_CLASS = "lock"  # lockbench's one lock class
RUN_FIELDS = ("seconds", "throughput", "samples", "lock_stat", "contention", "handoff", "integrity")


def shape_label(config: dict) -> str:
    """``LOCK:hHOLD:oOUTSIDE:kLOCKS``, e.g. ``ticket:h100:o1000:k1`` (times in ns)."""
    return f"{config['lock']}:h{config['hold_ns']:g}:o{config['outside_ns']:g}:k{config['locks']}"


def lockbench_run_record(config: dict, meta: dict, samples: list, seconds: float, per_cpu_ops: list[int],
                         lock_raw: list[dict], ns_per_cycle: float, acquisitions: int, guarded: int) -> dict:
    """One CPU count measured: ``lock_raw`` is lock_stat in cycles (``sync.lstat_sum``);
    ``acquisitions`` (every phase) against ``guarded`` (the increments made under the locks) proves
    mutual exclusion."""
    ops = sum(per_cpu_ops)
    rows = lock_stat_rows(lock_raw, ns_per_cycle)
    row = rows[0]
    cpu_ns = config["cpus"] * seconds * 1e9
    con, acq = row["contentions"], row["acquisitions"]
    return document_new(
        "lockbench-run",
        meta=meta,
        config=config,
        seconds=round(seconds, 4),
        throughput={"ops_s": round(ops / seconds, 1), "per_cpu_ops_s": [round(x / seconds, 1) for x in per_cpu_ops]},
        samples=samples,
        lock_stat=rows,
        contention={
            "wait_share": round(row["waittime-total"] / cpu_ns, 5) if cpu_ns else 0.0,
            "contentions_per_acquisition": round(con / acq, 5) if acq else 0.0,
            "acquisitions_per_op": round(acq / max(1, ops), 4),
        },
        handoff={
            "avg_ns": row["handoff-avg"],  # release by one CPU to the acquisition by a waiting one
            "max_ns": row["handoff-max"],
            "samples": con,  # contended acquisitions it averages
        },
        integrity={"acquisitions": acquisitions, "guarded": guarded, "lost_updates": acquisitions - guarded},
    )


def lockbench_document(meta: dict, config: dict) -> dict:
    """A lockbench with no runs yet (incomplete until its last run is in); ``config`` is the shape,
    the CPU counts and the repeats."""
    return document_new("lockbench", complete=False, meta=meta, config=config, runs=[])


def lockbench_entry(cpus: int, repeat: int, rec: dict) -> dict:
    """One run of a lockbench: its place in the experiment and its measurements."""
    entry = {"variant": shape_label(rec["config"]), "cpus": cpus, "repeat": repeat,
             "oversubscribed": rec["meta"]["oversubscribed"], "pinned": rec["meta"].get("pinned"),
             "loadavg_start": rec["meta"].get("loadavg_start"), "cycles_per_ns": rec["meta"]["cycles_per_ns"],
             "lockstat_cost_ns": rec["meta"].get("lockstat_cost_ns")}
    entry.update({k: rec[k] for k in RUN_FIELDS})
    if "disturbance" in rec:
        entry["disturbance"] = rec["disturbance"]
    return entry


def run_hold_ns(r: dict) -> float:
    """A lockbench run's mean hold, as lock_stat measured it."""
    return r["lock_stat"][0]["holdtime-avg"]


def lockbench_points(doc: dict) -> list[dict]:
    """One point per CPU count: median and spread of the repeats, will-it-scale's linear ideal (the
    smallest CPU count's throughput per CPU, times CPUs) and the median hand-off latency."""
    label = shape_label(doc["config"])
    groups: dict[int, list[dict]] = {}
    for r in doc.get("runs", []):
        groups.setdefault(r["cpus"], []).append(r)
    points = []
    base = None
    for n in sorted(groups):
        rs = groups[n]
        ops = [r["throughput"]["ops_s"] for r in rs]
        med = statistics.median(ops)
        if base is None:
            base = (n, med)
        n0, ops0 = base
        speedup = med / ops0 if ops0 else 0.0
        handoffs = [r["handoff"]["avg_ns"] for r in rs if r["handoff"]["samples"]]
        points.append({
            "variant": label,
            "strategy": "lockbench",
            "swap_types": 1,
            "cpus": n,
            "oversubscribed": any(r.get("oversubscribed") for r in rs),
            "repeats": len(rs),
            "ops_s": {"median": round(med, 1), "min": round(min(ops), 1), "max": round(max(ops), 1),
                      "runs": [round(x, 1) for x in ops]},
            "linear": round(ops0 / n0 * n, 1) if n0 else 0.0,
            "speedup": round(speedup, 3),
            "efficiency": round(speedup * n0 / n, 3),
            "wait_share": round(statistics.median(r["contention"]["wait_share"] for r in rs), 5),
            "contentions_per_acquisition": round(statistics.median(
                r["contention"]["contentions_per_acquisition"] for r in rs), 5),
            "hold_ns": round(statistics.median(run_hold_ns(r) for r in rs), 1),
            "handoff_ns": round(statistics.median(handoffs), 1) if handoffs else None,
            "integrity_ok": all(r["integrity"]["lost_updates"] == 0 for r in rs),
            "disturbed_runs": sum(bool((r.get("disturbance") or {}).get("disturbed")) for r in rs),
            "disturbed": any(bool((r.get("disturbance") or {}).get("disturbed")) for r in rs),
        })
    return points


def lockbench_table(doc: dict) -> str:
    """One line per CPU count: throughput and its spread, the linear ideal, contention, hand-off."""
    pts = lockbench_points(doc)
    lines = [f"{'cpus':>4} {'ops/s (median)':>15} {'min..max':>23} {'linear':>12} {'speedup':>7} {'wait share':>10} "
             f"{'cont/acq':>8} {'hold ns':>8} {'hand-off ns':>11}"]
    for p in pts:
        o = p["ops_s"]
        mark = "*" if p["oversubscribed"] else " "
        handoff = f"{p['handoff_ns']:>11,.1f}" if p["handoff_ns"] is not None else f"{'-':>11}"
        lines.append(f"{p['cpus']:>3}{mark} {o['median']:>15,.0f} {o['min']:>11,.0f}..{o['max']:<11,.0f}"
                     f"{p['linear']:>12,.0f} {p['speedup']:>7.2f} {p['wait_share']:>10.2%} "
                     f"{p['contentions_per_acquisition']:>8.4f} {p['hold_ns']:>8,.1f} {handoff}"
                     + ("" if p["integrity_ok"] else "  LOST UPDATES: the lock failed"))
    if any(p["oversubscribed"] for p in pts):
        lines.append("* oversubscribed: more workers than cores; spinlock figures include preempted holders")
    lines.append("hand-off: from the release by one CPU to the acquisition by a waiting one (contended "
                 "acquisitions only)")
    return "\n".join(lines)
