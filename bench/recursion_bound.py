"""The review's first concern, measured honestly: does writeback that recurses into the store path
make forward progress, or does every page leave the pool only because the recursion is cut off?

    python3 bench/recursion_bound.py --out docs/results/recursion-bound-2core     # about 2 minutes

For each frame bound (the per-CPU stack of operation frames: 2, 4, 8, 16, 32) it runs the 2012
profile with ``--writeback recursive`` (writeback calls swap_writepage, which calls frontswap_store
again: the chain Dan Magenheimer asked about in review) on a full pool, and, side by side, the same
workload with ``--writeback direct`` (the __swap_writepage that Seth Jennings wrote to avoid it).
Runs alternate (bounds and baseline in turn, ``--repeats`` rounds) so drift hits all alike.

Per bound it reports: the pages written back, how many left through the bound (the store at the
deepest frame could not recurse and wrote to the device: ``writeback_overflow``), re-stores per
page written back (so the store levels each page went through), frames freed per object, and the time per
operation against direct writeback.  It writes ``runs/*.json`` (every run record), ``recursion.json``
(the table, versioned) and ``recursion.md``.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from zswap_conc.config import Config, validate
from zswap_conc.results.document import document_new, dump
from zswap_conc.results.meta import loadavg, machine_meta
from zswap_conc.runner import run

BOUNDS = (2, 4, 8, 16, 32)
BASELINE = "direct"


def config(writeback: str, bound: int, cpus: int, ns: argparse.Namespace) -> Config:
    return validate(Config(kernel="2012", writeback=writeback, frame_depth=bound, cpus=cpus,
                           max_pool_frames=ns.max_pool_frames, duration=ns.duration, warmup=ns.warmup))


def row(recs: list[dict], base_us: float | None) -> dict:
    wb = [r["writeback"] for r in recs]
    us = statistics.median(1e6 / r["throughput"]["ops_s"] * r["config"]["cpus"] for r in recs)
    written = statistics.median(w["written_back_pages"] for w in wb)
    overflow = statistics.median(w["overflow"] for w in wb)
    return {
        "written_back_pages": written,
        "left_through_bound": overflow,
        "share_through_bound": round(sum(w["overflow"] for w in wb) / max(1, sum(w["written_back_pages"] for w in wb)),
                                     4),
        "restores_per_page": round(sum(w["restores"] for w in wb) / max(1, sum(w["written_back_pages"] for w in wb)),
                                   3),
        # each re-store is one more level: the depth histogram's last bucket is 8-and-deeper
        "levels_per_page": round(1 + sum(w["restores"] for w in wb) / max(1, sum(w["written_back_pages"] for w in wb)),
                                 2),
        "frames_freed_per_object": round(statistics.median(w["frames_freed_per_object"] for w in wb), 3),
        "us_per_op_per_cpu": round(us, 2),
        "vs_direct": round(us / base_us, 2) if base_us else None,
        "integrity_mismatches": sum(r["integrity"]["mismatches"] for r in recs),
        "runs": len(recs),
    }


def table(doc: dict) -> str:
    lines = [f"{doc['meta']['cpu_model']}, {doc['meta']['cores_allowed']} cores; 2012 profile, pool limit "
             f"{doc['settings']['max_pool_frames']} frames; median of {doc['settings']['repeats']} runs of "
             f"{doc['settings']['duration']:g} s per row; load {doc['meta'].get('loadavg_start')} at the start, "
             f"{doc['meta'].get('loadavg_end')} at the end.", ""]
    for cpus, rows in doc["table"].items():
        lines += [f"{cpus} CPU{'s' if cpus != '1' else ''}:", "",
                  "| writeback | frame bound | store levels per page | pages written back | left through the bound "
                  "| re-stores per page | frames freed per object | us per op (per CPU) | vs direct |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['writeback']} | {r['bound']} | {r['levels_per_page']:.2f} | "
                         f"{r['written_back_pages']:,.0f} | "
                         f"{r['left_through_bound']:,.0f} ({r['share_through_bound']:.0%}) | "
                         f"{r['restores_per_page']:.2f} | {r['frames_freed_per_object']:.3f} | "
                         f"{r['us_per_op_per_cpu']:.2f} | {r['vs_direct'] if r['vs_direct'] else '1.00'} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpus", default="1,2", help="CPU counts (default 1,2)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=0.3)
    ap.add_argument("--max-pool-frames", type=int, default=256)
    ns = ap.parse_args()
    out = Path(ns.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    meta = machine_meta()
    meta["loadavg_start"] = loadavg()
    cpus_list = [int(x) for x in ns.cpus.split(",")]
    plan = [(BASELINE, 8)] + [("recursive", b) for b in BOUNDS]
    recs: dict = {}
    for rep in range(ns.repeats):
        for cpus in cpus_list:
            for wb, bound in plan:
                rec = run(config(wb, bound, cpus, ns))
                name = f"{wb}-f{bound}-c{cpus}-r{rep}"
                dump(rec, out / "runs" / f"{name}.json")
                recs.setdefault((cpus, wb, bound), []).append(rec)
                print(f"{name}: {rec['throughput']['ops_s']:,.0f} ops/s, overflow {rec['writeback']['overflow']}, "
                      f"written back {rec['writeback']['written_back_pages']}", flush=True)
    meta["loadavg_end"] = loadavg()
    tab: dict = {}
    for cpus in cpus_list:
        base = row(recs[(cpus, BASELINE, 8)], None)
        rows = [dict(base, writeback=BASELINE, bound="-")]
        rows += [dict(row(recs[(cpus, "recursive", b)], base["us_per_op_per_cpu"]), writeback="recursive", bound=b)
                 for b in BOUNDS]
        tab[str(cpus)] = rows
    doc = document_new("recursion-bound", meta=meta, settings={
        "kernel": "2012", "bounds": list(BOUNDS), "cpus": cpus_list, "repeats": ns.repeats, "duration": ns.duration,
        "warmup": ns.warmup, "max_pool_frames": ns.max_pool_frames}, table=tab)
    dump(doc, out / "recursion.json")
    (out / "recursion.md").write_text(table(doc))
    print(table(doc))


if __name__ == "__main__":
    main()
