"""The kernel's own figures beside the testbed's: one row per claim with a direction.

    python3 bench/kernel_claims.py --out docs/results/kernel-claims-2core     # about 4 minutes

Each claim compares two or three designs that differ in the one change the commit made, on the
same workload and the same think time (sized once, from the first arm, as ``think_ns=auto`` would).
Arms alternate (A B C A B C ...) for ``--repeats`` rounds, at each of ``--cpus``.  For each arm it
reports the CPU time per operation (what the kernel's sys-time figures measure: CPU time for a
fixed amount of work), the wait share of the lock class the commit changed, and the ratio to the
first arm.  The kernel measured 24-32 CPUs; this machine has 2, so only the direction can agree,
and a change that relieves contention shows little where there is little.

It writes ``runs/*.json``, ``claims.json`` (versioned) and ``claims.md``.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from zswap_conc.config import Config, validate
from zswap_conc.results.document import document_new, dump
from zswap_conc.results.meta import loadavg, machine_meta
from zswap_conc.runner import run, think_calibrate

# (commit, the kernel's claim, the kernel's figure as (arm label -> value, what it is), the lock class
#  the change is about, [(arm label, config settings)], the direction the kernel saw for arm 2 vs 1)
CLAIMS = [
    ("b8cf32dc6e8c", "32 zpools instead of one spread zsmalloc's lock",
     "zsmalloc spinlock 8.38% -> 0.51% of cycles; zswap_store 28.99% -> 16.73%", "pool_lock",
     [("1 pool", dict(kernel="6.6", pools=1)), ("32 pools", dict(kernel="6.6", pools=32))], "less"),
    ("44c7c734a513", "one tree per 64 MiB instead of one per swap type",
     "make -j32 sys 7m37s -> 4m54s (-36%), real 1m9.2s -> 1m3.8s", "tree_lock",
     [("tree per type", dict(kernel="6.9", strategy="per-swaptype")), ("tree per 64 MiB", dict(kernel="6.9"))],
     "less"),
    ("64bd0197ae0c + 8edc9c4e72fe", "one pool with per-class locks is about as good as 32 pools",
     "make -j32 sys: 32 pools 1452.73 s, one pool 1844.69 s (+27%), one pool + class locks 1469.71 s (+1.2%)",
     "pool_lock+class_lock",
     [("32 pools", dict(kernel="6.11", pools=32, alloc_lock="pool")),
      ("1 pool", dict(kernel="6.11", pools=1, alloc_lock="pool")),
      ("1 pool + class locks", dict(kernel="6.11"))], "about equal (arm 3 vs 1); more (arm 2 vs 1)"),
    ("796c2c23e14e", "an xarray instead of the rb-tree (per 64 MiB)",
     "24 cores, 32 jobs: sys 522.2 -> 521.0 s, real 202.8 -> 200.9 s (about equal)", "tree_lock",
     [("rb-tree", dict(kernel="6.10", index="rbtree")), ("xarray", dict(kernel="6.10"))], "about equal"),
]


def arm_config(settings: dict, cpus: int, ns: argparse.Namespace, think_ns: int | None) -> Config:
    return validate(Config(**settings, cpus=cpus, duration=ns.duration, warmup=ns.warmup, think_ns=think_ns))


def wait_ns_per_op(rec: dict, classes: str) -> float:
    """Nanoseconds spent waiting for the claim's lock classes per operation (all CPUs)."""
    ops = rec["throughput"]["ops_s"] * rec["seconds"]
    want = classes.split("+")
    return sum(r["waittime-total"] for r in rec["lock_stat"] if r["class"] in want) / max(1.0, ops)


def summarise(recs: list[dict], classes: str) -> dict:
    cpu_us = statistics.median(r["config"]["cpus"] / r["throughput"]["ops_s"] * 1e6 for r in recs)
    wait = statistics.median(wait_ns_per_op(r, classes) for r in recs)
    return {"cpu_us_per_op": round(cpu_us, 3), "lock_wait_ns_per_op": round(wait, 1),
            "lock_wait_share": round(wait / 1e3 / cpu_us, 4) if cpu_us else None,
            "ops_s": [r["throughput"]["ops_s"] for r in recs],
            "mismatches": sum(r["integrity"]["mismatches"] for r in recs), "runs": len(recs)}


def table(doc: dict) -> str:
    m = doc["meta"]
    s = doc["settings"]
    lines = [f"{m['cpu_model']}, {m['cores_allowed']} cores; median of {s['repeats']} runs of {s['duration']:g} s "
             f"per arm, arms alternating; load {m.get('loadavg_start')} at the start, {m.get('loadavg_end')} at "
             f"the end.", "",
             "| commit | kernel's claim | kernel's figure | testbed arm | CPUs | CPU us per op | vs first arm "
             "| wait for the lock, share of CPU time |", "|---|---|---|---|---|---|---|---|"]
    for c in doc["claims"]:
        for cpus, arms in c["results"].items():
            first = arms[0]["cpu_us_per_op"]
            for i, a in enumerate(arms):
                head = (f"| {c['commit']} | {c['claim']} | {c['kernel_figure']} "
                        if i == 0 and cpus == min(c["results"]) else "| | | ")
                lines.append(f"{head}| {a['arm']} | {cpus} | {a['cpu_us_per_op']:.2f} | "
                             f"{a['cpu_us_per_op'] / first - 1:+.1%} | {a['lock_wait_share']:.2%} ({c['classes']}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpus", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=0.3)
    ns = ap.parse_args()
    out = Path(ns.out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    meta = machine_meta()
    meta["loadavg_start"] = loadavg()
    cpus_list = [int(x) for x in ns.cpus.split(",")]
    claims = []
    for commit, claim, figure, classes, arms, direction in CLAIMS:
        _, think = think_calibrate(arm_config(arms[0][1], 1, ns, None))
        recs: dict = {}
        for rep in range(ns.repeats):
            for cpus in cpus_list:
                for label, settings in arms:
                    rec = run(arm_config(settings, cpus, ns, think["think_ns"]))
                    tag = f"{commit.split()[0]}-{label.replace(' ', '_').replace('+', 'plus')}-c{cpus}-r{rep}"
                    dump(rec, out / "runs" / f"{tag}.json")
                    recs.setdefault((cpus, label), []).append(rec)
                    print(f"{tag}: {rec['throughput']['ops_s']:,.0f} ops/s", flush=True)
        claims.append({"commit": commit, "claim": claim, "kernel_figure": figure, "classes": classes,
                       "kernel_direction": direction, "think": think,
                       "arms": [{"arm": label, "settings": settings} for label, settings in arms],
                       "results": {cpus: [dict(summarise(recs[(cpus, label)], classes), arm=label)
                                          for label, _ in arms] for cpus in cpus_list}})
    meta["loadavg_end"] = loadavg()
    doc = document_new("kernel-claims", meta=meta, settings={"cpus": cpus_list, "repeats": ns.repeats,
                                                              "duration": ns.duration, "warmup": ns.warmup},
                       claims=claims)
    dump(doc, out / "claims.json")
    (out / "claims.md").write_text(table(doc))
    print(table(doc))


if __name__ == "__main__":
    main()
