"""``zswap-conc run``: one configuration measured, its report, and its record."""

from __future__ import annotations

import argparse
import os
import sys

from zswap_conc.commands.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    add_config_flags,
    compile_notices,
    config_from,
    cores_allowed,
    oversub_warning,
    stale_notice,
)
from zswap_conc.config import ConfigError, validate
from zswap_conc.outputs import default_file, fallback_file, out_file_check
from zswap_conc.results.document import dump, json_text
from zswap_conc.results.run import (
    LOCK_STAT_COLUMNS,
    compressor_label,
    integrity_ok,
    kernel_label,
    lock_stat_table,
)

HELP = "one configuration, measured"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_flags(p)
    p.add_argument("--json", action="store_true", help="print the run record as one JSON document")
    p.add_argument("--out", help="also write the run record to this JSON file")
    p.add_argument("--sort", default="waittime-total", help="lock_stat column to sort by (default waittime-total)")


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def writeback_lines(rec: dict) -> list[str]:
    """The writeback section of a report, when the run had a pool limit."""
    w = rec.get("writeback")
    c = rec["config"]
    if not w or not (w["pool_limit_hit"] or c.get("max_pool_frames") or c.get("max_pool_percent")):
        return []
    depth = " ".join(f"{k}:{n}" for k, n in w["depth_histogram"].items()) or "none"
    return [
        f"writeback ({c['writeback']}, lru {c['lru']}): pool_limit_hit={w['pool_limit_hit']} "
        f"written_back_pages={w['written_back_pages']} reject_reclaim_fail={w['reject_reclaim_fail']} "
        f"re-stores={w['restores']} no-progress={w['no_progress']} overflow={w['overflow']} "
        f"denied={w['denied']} recheck_abort={w['recheck_abort']} slot_busy={w['slot_busy']}",
        f"recursion depth (stores that hit the limit, by store nesting): {depth}; max depth {w['max_depth']}",
        f"reclaim: frames freed {w['frames_freed']}, {w['frames_freed_per_object']:.3f} frames per object "
        f"written back, lru_inversions={w['lru_inversions']}; swap device: {w['device_writes']} writes, "
        f"{w['device_reads']} reads, {w['load_device']} loads served",
    ]


def lock_lines(rec: dict, sort: str) -> list[str]:
    """Contention, the lock_stat table, the contention points and lock_stat's own cost."""
    if not rec["config"].get("lockstat", True):
        return ["lock_stat: off (--lockstat off): no lock statistics were taken"]
    c = rec["contention"]
    lines = [f"contention: wait share {c['wait_share']:.2%} of CPU time, "
             f"{c['contentions_per_acquisition']:.4f} contentions per acquisition",
             f"lock_stat (times in ns, sorted by {sort}):",
             lock_stat_table(rec["lock_stat"], sort)]
    points = [f"{cls}: " + ", ".join(f"{p['site']} ({p['contentions']:,}, {p['waittime-total'] / 1e3:,.0f} us)"
                                     for p in pts) for cls, pts in rec.get("contention_points", {}).items() if pts]
    if points:
        lines.append("contention points (call site: contentions, wait): " + "; ".join(points))
    cost = rec["meta"].get("lockstat_cost_ns")
    if cost:
        lines.append(f"lock_stat's own cost: {cost['per_acquisition']:.0f} ns per acquisition; it reports "
                     f"{cost['empty_hold']:.0f} ns for an empty critical section (the floor of its holds)")
    return lines


def run_report(rec: dict, sort: str = "waittime-total") -> str:
    """The human-readable report of one run record."""
    c = rec["config"]
    m = rec["meta"]
    z = rec["zswap"]
    i = rec["integrity"]
    per = rec["throughput"]["per_cpu_ops_s"]
    lines = [
        f"zswap-conc run: {kernel_label(c)}: strategy={c['strategy']} index={c['index']} cpus={c['cpus']} "
        f"swap_types={c['swap_types']} "
        f"allocator={c['allocator']} ({c['alloc_lock']} lock) pools={c['pools'] or 'per-swaptype'} lock={c['lock']} "
        f"compressor={compressor_label(c)} think={c['think_ns']}ns measured={rec['seconds']:.2f}s",
        f"machine: {m['cpu_model']}, {m['cores_allowed']} cores allowed, {pin_label(m)}"
        f"{', real-time priority' if (m.get('rt') or {}).get('granted') else ''}, "
        f"load average {m.get('loadavg_start')} -> {m.get('loadavg_end')}",
        disturbance_label(rec),
        f"throughput: {_fmt_rate(rec['throughput']['ops_s'])} ops/s total; per CPU: "
        + "  ".join(f"cpu{k} {_fmt_rate(x)}" for k, x in enumerate(per)),
        f"op mix: store {rec['mix']['store']:.1%}  load {rec['mix']['load']:.1%}  "
        f"invalidate {rec['mix']['invalidate']:.1%}",
        f"zswap: stored_pages={z['stored_pages']} same_filled_pages={z['same_filled_pages']} "
        f"pool_total_size={z['pool_total_size']} reject_compress_poor={z['reject_compress_poor']} "
        f"reject_alloc_fail={z['reject_alloc_fail']} duplicate_entry={z['duplicate_entry']} "
        f"compression_ratio={z['compression_ratio']:.2f} pool_ratio={z['pool_ratio']:.2f}",
        *writeback_lines(rec),
        *lock_lines(rec, sort),
        f"integrity: {i['verified']} live entries verified, {i['mismatches'] + i['load_mismatches']} mismatches"
        + ("" if (i["tree_error"] == 0 and i["pool_error"] == 0 and i["accounting_ok"] and i["leaked_entries"] == 0)
           else f" (tree_error={i['tree_error']} pool_error={i['pool_error']} "
                f"accounting_ok={i['accounting_ok']} leaked_entries={i['leaked_entries']})"),
    ]
    if m.get("oversubscribed"):
        lines.insert(1, oversub_warning(c["cpus"], m["cores_allowed"]))
    return "\n".join(lines)


def pin_label(meta: dict) -> str:
    """Whether pinning held: asked for and every worker had only its core, or why not."""
    if meta.get("pinned"):
        return "pinned"
    if meta.get("pin_requested"):
        return "NOT pinned (asked for, but a worker could run elsewhere)"
    return "not pinned"


def disturbance_label(rec: dict) -> str:
    """The report's disturbance line: what the rest of the machine did to the run."""
    d = rec.get("disturbance")
    if not d:
        return "disturbance: not measured"
    o = d.get("others", {})
    others = o.get("cores_window")
    figures = (f"other processes {others:.2f} cores" if others is not None else "other processes: unknown") + \
        f", {len(d.get('preempted_holds', []))} preempted lock holder(s)"
    if not d["disturbed"]:
        return f"disturbance: none found ({figures})"
    return f"disturbance: DISTURBED ({'; '.join(d['reasons'])})"


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.config import oversubscribed
    from zswap_conc.disturbance import warning_line
    from zswap_conc.errors import Interrupted, WorkerDied
    from zswap_conc.runner import rt_check, run

    compile_notices()
    if ns.sort not in LOCK_STAT_COLUMNS:
        raise ConfigError(f"--sort: unknown column {ns.sort!r}; accepted: {', '.join(LOCK_STAT_COLUMNS)}")
    cfg = validate(config_from(ns))
    rt_check(cfg)
    if ns.out:
        out_file_check(ns.out)
    incomplete = ns.out or default_file("run", "-incomplete")  # where an early end keeps its samples
    if not ns.out:
        out_file_check(incomplete)
    stale_notice()
    if oversubscribed(cfg.cpus):
        print(oversub_warning(cfg.cpus, cores_allowed()), file=sys.stderr)

    def orphaned(reason: str, partial: dict) -> None:  # in a worker whose parent vanished: the file says why
        os.makedirs(os.path.dirname(incomplete) or ".", exist_ok=True)
        dump(partial, incomplete)

    try:
        rec = run(cfg, on_orphan=orphaned)
    except (WorkerDied, Interrupted) as e:
        if e.partial is not None:  # keep the samples taken so far
            os.makedirs(os.path.dirname(incomplete) or ".", exist_ok=True)
            dump(e.partial, incomplete)
            e.args = (f"{e.args[0]}; {len(e.partial['samples'])} per-second samples kept in {incomplete} "
                      f"(marked incomplete)",)
        raise
    if rec["disturbance"]["disturbed"]:
        print(warning_line(rec["disturbance"], bool((rec["meta"].get("rt") or {}).get("granted"))), file=sys.stderr)
    lost = None
    if ns.out:
        try:
            dump(rec, ns.out)
        except OSError as e:  # the path broke during the run: the finished record goes elsewhere
            lost = f"cannot write {ns.out} ({e.strerror or e})"
            ns.out = fallback_file("run")
            dump(rec, ns.out)
    if ns.json:
        print(json_text(rec))
    else:
        print(run_report(rec, ns.sort))
    if lost:
        print(f"zswap-conc: error: {lost}; the finished record was written to {ns.out} instead", file=sys.stderr)
        return EXIT_USAGE
    return 0 if integrity_ok(rec) else EXIT_FAILED
