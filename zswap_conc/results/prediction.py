"""The prediction record: what the contention model (``model``) says a workload would do at each CPU
count, with the inputs it came from (the results file and CPU count, the hand-off calibration) and
the model's assumptions, so that a figure drawn from it can say what it is.  Its points have the
fields of a sweep's, marked ``predicted``, so ``plot`` and ``compare`` read it beside measurements.
"""

from __future__ import annotations

from zswap_conc.results.document import ResultsError, document_new

MODEL_ASSUMPTIONS = (
    "holds are exponentially distributed around their mean, locks never nest, and a CPU waits for nothing but "
    "locks (no preemption, no oversubscription)",
    "holds, acquisitions per op and the time outside locks stay what the input measured: cache misses on data "
    "that other CPUs wrote are not modelled, so an input measured at 1 CPU predicts the best case",
    "operations spread over a lock class's instances as the configuration says (strategy, buckets, swap types, "
    "pools, clusters), alike for every CPU",
    "a ticket lock's hand-off costs one cache-line transfer per waiting CPU, a ttas lock's one transfer; the "
    "transfer time is the hand-off latency lockbench measured with one waiter on this machine",
    "with C cores at most C - 1 CPUs wait, so how the hand-off grows beyond that is the model's, not a "
    "measurement, until a machine with more cores measures it",
)  # stated in 'predict --help', the README and every prediction record
MEASURED_WAITERS_NOTE = ("on a machine with C cores at most C - 1 CPUs wait: beyond that, how the hand-off cost "
                         "grows with waiters is the model's, not a measurement")


def prediction_document(meta: dict, inputs: dict, model: dict, cpus: list[int], variants: list[dict]) -> dict:
    """A prediction: ``inputs`` (source, source kind, config, calibration), ``model`` (method,
    assumptions), the CPU counts, and per variant its workload, peak and points."""
    doc = document_new("prediction", meta=meta, inputs=inputs, model=model, cpus=cpus, variants=variants)
    doc["points"] = prediction_points(doc)
    return doc


def prediction_points(doc: dict) -> list[dict]:
    """Every variant's predicted points with a sweep point's fields; ``input`` marks the CPU count
    the model's input was measured at (a prediction there checks nothing)."""
    out = []
    for v in doc["variants"]:
        for p in v["points"]:
            out.append({
                "variant": v["variant"], "strategy": v.get("strategy"), "swap_types": v.get("swap_types", 1),
                "cpus": p["cpus"], "oversubscribed": False, "repeats": 0,
                "ops_s": {"median": p["ops_s"], "min": p["ops_s"], "max": p["ops_s"], "runs": []},
                "linear": p["linear"], "speedup": p["speedup"], "efficiency": p["efficiency"],
                "wait_share": p["wait_share"], "contentions_per_acquisition": p["contentions_per_acquisition"],
                "integrity_ok": True, "predicted": True, "input": p["cpus"] == v.get("from_cpus"),
                "disturbed_runs": 0, "disturbed": False,
            })
    return out


def prediction_check(doc: dict, source: str) -> dict:
    """Refuse a prediction record without what readers need, naming the field."""
    for field in ("inputs", "model", "variants"):
        if field not in doc:
            raise ResultsError(f"{source}: field {field!r} is missing")
    for v in doc["variants"]:
        for field in ("variant", "points"):
            if field not in v:
                raise ResultsError(f"{source}: a variant lacks field {field!r}")
        for p in v["points"]:
            for field in ("cpus", "ops_s", "linear", "speedup", "efficiency", "wait_share",
                          "contentions_per_acquisition"):
                if field not in p:
                    raise ResultsError(f"{source}: a point of {v['variant']} lacks field {field!r}")
    return doc


def shown_cpus(cpus: list[int], extra: set[int], limit: int = 24) -> list[int]:
    """All CPU counts when few; else powers of two, the ends and ``extra`` (peaks, inputs)."""
    if len(cpus) <= limit:
        return cpus
    keep = {cpus[0], cpus[-1], *extra} | {n for n in cpus if n & (n - 1) == 0}
    return [n for n in cpus if n in keep]


def prediction_table(doc: dict) -> str:
    """Per variant: predicted ops/s, speedup, wait share and contentions at a readable set of CPU
    counts, its peak, and where it stops adding throughput."""
    lines = []
    cal = doc["inputs"].get("calibration") or {}
    for v in doc["variants"]:
        pts = {p["cpus"]: p for p in v["points"]}
        show = shown_cpus(sorted(pts), {v.get("from_cpus"), v.get("peak_cpus")} & set(pts))
        w = v.get("workload", {})
        cls = ", ".join(f"{c['class']} {c['acquisitions_per_op']:g}/op x {c['hold_ns']:,.0f} ns"
                        for c in w.get("classes", []))
        lines.append(f"== {v['variant']} (predicted; input: {v.get('from_cpus', '-')} CPU(s) of "
                     f"{doc['inputs'].get('source', '?')}; outside locks {w.get('outside_ns', 0):,.0f} ns/op; {cls}; "
                     f"lock {w.get('lock', '?')})")
        lines.append(f"{'cpus':>5} {'ops/s':>14} {'linear':>14} {'speedup':>8} {'eff.':>6} {'wait share':>10} "
                     f"{'cont/acq':>8}")
        for n in show:
            p = pts[n]
            mark = " <- input" if n == v.get("from_cpus") else (" <- peak" if n == v.get("peak_cpus") else "")
            lines.append(f"{n:>5} {p['ops_s']:>14,.0f} {p['linear']:>14,.0f} {p['speedup']:>8.2f} "
                         f"{p['efficiency']:>6.0%} {p['wait_share']:>10.2%} {p['contentions_per_acquisition']:>8.4f}"
                         f"{mark}")
        sat = v.get("saturation_cpus")
        lines.append(f"peak: {v.get('peak_ops_s', 0):,.0f} ops/s at {v.get('peak_cpus')} CPUs; "
                     + (f"from {sat} CPUs on, one more CPU adds under 5% of one CPU's throughput"
                        if sat else "every CPU still adds at least 5% of one CPU's throughput"))
    hand = (f"hand-off {cal['handoff_ns']:.1f} ns with one waiter ({cal.get('source', '?')}, "
            f"{cal.get('cpus', '?')} CPUs, {cal.get('cpu_model', '?')})" if cal else "no hand-off cost (plain MVA)")
    lines.append(f"model: exact MVA of a closed queueing network; {hand}; the file holds every CPU count")
    lines.append(f"note: predictions, not measurements; {MEASURED_WAITERS_NOTE}")
    return "\n".join(lines)
