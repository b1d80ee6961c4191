"""The sweep document and its points: every run of a sweep, and one point per (variant, CPUs) --
the median and spread of its repeats -- which the summary table, the CSV, the plots and the
comparisons all derive from the same runs here, so they can never disagree with the data.
"""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

from zswap_conc.results.document import ResultsError, document_new
from zswap_conc.results.lockbench import lockbench_points
from zswap_conc.results.prediction import prediction_check, prediction_points
from zswap_conc.results.run import integrity_ok, lock_stat_table

RUN_FIELDS = ("seconds", "throughput", "samples", "mix", "counters", "zswap", "lock_stat", "contention",
              "integrity", "writeback", "lock_spread")
CSV_COLUMNS = ("variant", "strategy", "swap_types", "cpus", "oversubscribed", "repeats", "ops_s_median", "ops_s_min",
               "ops_s_max", "linear", "speedup", "efficiency", "wait_share", "contentions_per_acquisition",
               "integrity_ok", "disturbed_runs")


def variant_label(strategy: str, swap_types: int, writeback: str | None = None) -> str:
    """``STRATEGY[:SWAPTYPES][@WRITEBACK]``, as ``--strategies`` takes it (a record that names no
    strategy, which a valid run never writes, is labelled ``unknown`` rather than refused here)."""
    strategy = strategy if isinstance(strategy, str) and strategy else "unknown"
    s = strategy if swap_types == 1 else f"{strategy}:{swap_types}"
    return s if writeback is None else f"{s}@{writeback}"


def sweep_document(meta: dict, experiment: dict) -> dict:
    """A sweep with no runs yet, marked incomplete until its last run is in."""
    return document_new("sweep", complete=False, meta=meta, experiment=experiment, runs=[])


def sweep_entry(label: str, strategy: str, swap_types: int, cpus: int, repeat: int, rec: dict) -> dict:
    """One run of a sweep: where it stands in the experiment, and the run record's measurements."""
    entry = {"variant": label, "strategy": strategy, "swap_types": swap_types,
             "writeback": rec["config"]["writeback"], "cpus": cpus,
             "repeat": repeat, "oversubscribed": rec["meta"]["oversubscribed"],
             "pinned": rec["meta"].get("pinned"), "loadavg_start": rec["meta"].get("loadavg_start"),
             "loadavg_end": rec["meta"].get("loadavg_end"), "rt": rec["meta"].get("rt"),
             "cycles_per_ns": rec["meta"]["cycles_per_ns"]}
    entry.update({k: rec[k] for k in RUN_FIELDS})
    if "disturbance" in rec:
        entry["disturbance"] = rec["disturbance"]
    return entry


def run_disturbed(r: dict) -> bool:
    """A run (record or entry) the rest of the machine disturbed (``disturbance.verdict``)."""
    d = r.get("disturbance")
    return bool(d and d.get("disturbed"))


def _median(xs):
    return statistics.median(xs) if xs else 0.0


def _median_known(xs: list) -> float | None:
    """The median of the figures a run has (None: measured with lock statistics off)."""
    known = [x for x in xs if x is not None]
    return round(statistics.median(known), 5) if known else None


def sweep_points(doc: dict) -> list[dict]:
    """Aggregate a sweep's runs into one point per (variant, CPUs), in the experiment's order."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for r in doc.get("runs", []):
        groups.setdefault((r["variant"], r["cpus"]), []).append(r)
    order = doc.get("experiment", {}).get("variants") or sorted({k[0] for k in groups})
    points = []
    base: dict[str, tuple[int, float]] = {}
    for variant in order:
        keys = sorted(k for k in groups if k[0] == variant)
        for _, n in keys:
            rs = groups[(variant, n)]
            ops = [r["throughput"]["ops_s"] for r in rs]
            med = _median(ops)
            if variant not in base:  # the smallest CPU count measured is the reference
                base[variant] = (n, med)
            n0, ops0 = base[variant]
            linear = ops0 / n0 * n if n0 else 0.0
            speedup = med / ops0 if ops0 else 0.0  # over the smallest CPU count measured
            points.append({
                "variant": variant,
                "strategy": rs[0]["strategy"],
                "swap_types": rs[0]["swap_types"],
                "cpus": n,
                "oversubscribed": any(r.get("oversubscribed") for r in rs),
                "repeats": len(rs),
                "ops_s": {"median": round(med, 1), "min": round(min(ops), 1), "max": round(max(ops), 1),
                          "runs": [round(x, 1) for x in ops]},
                "linear": round(linear, 1),
                "speedup": round(speedup, 3),
                "efficiency": round(speedup * n0 / n, 3),
                "wait_share": _median_known([r["contention"]["wait_share"] for r in rs]),
                "contentions_per_acquisition": _median_known(
                    [r["contention"]["contentions_per_acquisition"] for r in rs]),
                "integrity_ok": all(integrity_ok(r) for r in rs),
                "disturbed_runs": sum(run_disturbed(r) for r in rs),
                "disturbed": any(run_disturbed(r) for r in rs),
            })
    return points


def run_point(doc: dict) -> dict:
    """A run document as a single point (its own median, min and max)."""
    c = doc["config"]
    ops = doc["throughput"]["ops_s"]
    return {
        "variant": variant_label(c["strategy"], c["swap_types"]), "strategy": c["strategy"],
        "swap_types": c["swap_types"], "cpus": c["cpus"],
        "oversubscribed": doc["meta"].get("oversubscribed", False), "repeats": 1,
        "ops_s": {"median": ops, "min": ops, "max": ops, "runs": [ops]}, "linear": ops, "speedup": 1.0,
        "efficiency": 1.0, "wait_share": doc["contention"]["wait_share"],
        "contentions_per_acquisition": doc["contention"]["contentions_per_acquisition"],
        "integrity_ok": integrity_ok(doc), "disturbed_runs": int(run_disturbed(doc)), "disturbed": run_disturbed(doc),
    }


def doc_points(doc: dict, source: str) -> list[dict]:
    """Points of a sweep, lockbench or prediction document, or the single point of a run document."""
    if doc["kind"] in ("lockbench", "prediction"):
        try:
            if doc["kind"] == "lockbench":
                return lockbench_points(doc)
            return prediction_points(prediction_check(doc, source))
        except (KeyError, TypeError) as e:
            raise ResultsError(f"{source}: field {e} is missing") from None
    if doc["kind"] == "sweep":
        if "runs" not in doc:
            raise ResultsError(f"{source}: field 'runs' is missing")
        try:
            return sweep_points(doc)
        except (KeyError, TypeError) as e:
            raise ResultsError(f"{source}: a run lacks field {e}") from None
    if doc["kind"] == "run":
        if "throughput" not in doc:
            raise ResultsError(f"{source}: an incomplete run ({doc.get('stopped_by') or 'stopped early'}) has no "
                               f"results to read; accepted: a complete run, sweep, lockbench or prediction")
        try:
            return [run_point(doc)]
        except (KeyError, TypeError) as e:
            raise ResultsError(f"{source}: field {e} is missing") from None
    raise ResultsError(f"{source}: field 'kind' is {doc['kind']!r}; accepted: sweep, run, lockbench, prediction")


def csv_write(doc: dict, path: Path) -> None:
    """The sweep's points as CSV, one row per (variant, CPUs), with will-it-scale's linear column."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for p in sweep_points(doc):
            w.writerow([p["variant"], p["strategy"], p["swap_types"], p["cpus"], p["oversubscribed"], p["repeats"],
                        p["ops_s"]["median"], p["ops_s"]["min"], p["ops_s"]["max"], p["linear"], p["speedup"],
                        p["efficiency"], p["wait_share"], p["contentions_per_acquisition"], p["integrity_ok"],
                        p["disturbed_runs"]])


def lockstat_text(doc: dict) -> str:
    """lock_stat of the median run of every point."""
    parts = []
    for p in sweep_points(doc):
        rs = [r for r in doc["runs"] if r["variant"] == p["variant"] and r["cpus"] == p["cpus"]]
        rs.sort(key=lambda r: r["throughput"]["ops_s"])
        r = rs[len(rs) // 2]
        parts.append(f"== {p['variant']} cpus={p['cpus']} (median of {len(rs)} runs: "
                     f"{r['throughput']['ops_s']:,.0f} ops/s, repeat {r['repeat'] + 1})\n"
                     + lock_stat_table(r["lock_stat"]))
    return "\n\n".join(parts) + "\n"
