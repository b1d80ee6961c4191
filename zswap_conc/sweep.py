"""The contention sweep: every variant at every CPU count, repeated, interleaved, saved as it goes.

After each run the whole results document is rewritten atomically (marked incomplete until the
end), so an interrupted or killed sweep keeps every finished run.  Points -- medians and spreads
per (variant, CPUs) -- are derived from the runs by ``sweep_points``, which plot and compare use
too, so the figure and the tables can never disagree with the data.
"""

from __future__ import annotations

import csv
import os
import statistics
import sys
import time
from pathlib import Path

from zswap_conc.config import ConfigError
from zswap_conc.experiment import Experiment
from zswap_conc.results import FORMAT_VERSION, SCHEMA, dump, loadavg, lock_stat_table, machine_meta
from zswap_conc.runner import Interrupted, WorkerDied, integrity_ok, run

RUN_FIELDS = ("seconds", "throughput", "samples", "mix", "counters", "zswap", "lock_stat", "contention",
              "integrity", "writeback")


def out_dir_prepare(path: str | None) -> Path:
    """The results folder, created and proven writable before any work starts."""
    if path is None:
        path = os.path.join("zswap-results", time.strftime("sweep-%Y%m%d-%H%M%S"))
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".probe.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ConfigError(
            f"--out: cannot write results to {path} ({e.strerror}); accepted: a writable folder") from None
    return p


def _median(xs):
    return statistics.median(xs) if xs else 0.0


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
                "ops_s": {"median": round(med, 1), "min": round(min(ops), 1), "max": round(max(ops), 1)},
                "linear": round(linear, 1),
                "speedup": round(speedup, 3),
                "efficiency": round(speedup * n0 / n, 3),
                "wait_share": round(_median([r["contention"]["wait_share"] for r in rs]), 5),
                "contentions_per_acquisition": round(
                    _median([r["contention"]["contentions_per_acquisition"] for r in rs]), 5),
                "integrity_ok": all(integrity_ok(r) for r in rs),
            })
    return points


CSV_COLUMNS = ("variant", "strategy", "swap_types", "cpus", "oversubscribed", "repeats", "ops_s_median", "ops_s_min",
               "ops_s_max", "linear", "speedup", "efficiency", "wait_share", "contentions_per_acquisition",
               "integrity_ok")


def csv_write(doc: dict, path: Path) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for p in sweep_points(doc):
            w.writerow([p["variant"], p["strategy"], p["swap_types"], p["cpus"], p["oversubscribed"], p["repeats"],
                        p["ops_s"]["median"], p["ops_s"]["min"], p["ops_s"]["max"], p["linear"], p["speedup"],
                        p["efficiency"], p["wait_share"], p["contentions_per_acquisition"], p["integrity_ok"]])


def lockstat_write(doc: dict, path: Path) -> None:
    """lock_stat of the median run of every point."""
    parts = []
    for p in sweep_points(doc):
        rs = [r for r in doc["runs"] if r["variant"] == p["variant"] and r["cpus"] == p["cpus"]]
        rs.sort(key=lambda r: r["throughput"]["ops_s"])
        r = rs[len(rs) // 2]
        parts.append(f"== {p['variant']} cpus={p['cpus']} (median of {len(rs)} runs: "
                     f"{r['throughput']['ops_s']:,.0f} ops/s, repeat {r['repeat'] + 1})\n"
                     + lock_stat_table(r["lock_stat"]))
    path.write_text("\n\n".join(parts) + "\n")


def summary_table(doc: dict) -> str:
    pts = sweep_points(doc)
    w = max([16] + [len(p["variant"]) for p in pts])
    head = (f"{'variant':<{w}} {'cpus':>4} {'ops/s (median)':>15} {'min..max':>21} {'speedup':>8} {'eff.':>6} "
            f"{'wait share':>10} {'cont/acq':>9}")
    lines = [head]
    for p in pts:
        mark = "*" if p["oversubscribed"] else " "
        bad = "" if p["integrity_ok"] else "  INTEGRITY FAILED"
        o = p["ops_s"]
        lines.append(f"{p['variant']:<{w}} {p['cpus']:>3}{mark} {o['median']:>15,.0f} "
                     f"{o['min']:>10,.0f}..{o['max']:<10,.0f} {p['speedup']:>8.2f} {p['efficiency']:>6.0%} "
                     f"{p['wait_share']:>10.2%} {p['contentions_per_acquisition']:>9.4f}{bad}")
    if any(p["oversubscribed"] for p in sweep_points(doc)):
        lines.append("* oversubscribed: more workers than cores; spinlock figures include preempted holders")
    return "\n".join(lines)


class _Progress:
    def __init__(self, total: int, stream=sys.stderr):
        self.total = total
        self.stream = stream
        self.t0 = time.perf_counter()
        self.tty = stream.isatty()

    def show(self, i: int, label: str) -> None:
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / i * (self.total - i) if i else 0.0
        width = 24
        filled = int(width * i / self.total) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        msg = f"[{bar}] {i}/{self.total} {label}  elapsed {elapsed:4.0f}s  ETA {eta:4.0f}s"
        if self.tty:
            self.stream.write("\r" + msg.ljust(100))
        else:
            self.stream.write(msg + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


class SweepStopped(Exception):
    """A sweep ended early; its finished runs are saved (``path``)."""

    def __init__(self, cause: BaseException, path: Path, kept: int, total: int):
        super().__init__(str(cause))
        self.cause = cause
        self.path = path
        self.kept = kept
        self.total = total


def sweep_run(exp: Experiment, out: Path, progress: bool = True) -> dict:
    """Run the experiment, saving after every run; raises SweepStopped if it ends early."""
    meta = machine_meta()
    meta["loadavg_start"] = loadavg()
    doc = {
        "schema": SCHEMA,
        "format_version": FORMAT_VERSION,
        "kind": "sweep",
        "complete": False,
        "meta": meta,
        "experiment": exp.to_dict(),
        "runs": [],
    }
    from zswap_conc.runner import warm_up

    meta["compile_s"] = round(warm_up(), 2)  # before the clock: the first run must not pay for it
    plan = list(exp.configs())
    bar = _Progress(len(plan)) if progress else None
    json_path = out / "sweep.json"
    harness: list[float] = []
    t_start = time.perf_counter()
    try:
        for i, (rep, v, n, cfg) in enumerate(plan):
            if bar:
                bar.show(i, f"{v.label} cpus={n} repeat {rep + 1}/{exp.repeats}")
            t = time.perf_counter()
            rec = run(cfg)
            harness.append(time.perf_counter() - t - cfg.warmup - rec["seconds"])
            entry = {"variant": v.label, "strategy": v.strategy, "swap_types": v.swap_types,
                     "writeback": cfg.writeback, "cpus": n,
                     "repeat": rep, "oversubscribed": rec["meta"]["oversubscribed"],
                     "pinned": rec["meta"].get("pinned"), "loadavg_start": rec["meta"].get("loadavg_start"),
                     "cycles_per_ns": rec["meta"]["cycles_per_ns"]}
            entry.update({k: rec[k] for k in RUN_FIELDS})
            doc["runs"].append(entry)
            doc["points"] = sweep_points(doc)
            dump(doc, json_path)
        if bar:
            bar.show(len(plan), "done")
            bar.done()
    except (Interrupted, KeyboardInterrupt, WorkerDied) as e:
        if bar:
            bar.done()
        doc["stopped_by"] = str(e) if not isinstance(e, KeyboardInterrupt) else "interrupted by SIGINT"
        doc["meta"]["loadavg_end"] = loadavg()
        doc["points"] = sweep_points(doc)
        dump(doc, json_path)
        csv_write(doc, out / "sweep.csv")
        raise SweepStopped(e, json_path, len(doc["runs"]), len(plan)) from None
    doc["complete"] = True
    doc["meta"]["loadavg_end"] = loadavg()
    doc["wall_s"] = round(time.perf_counter() - t_start, 2)
    doc["harness_overhead_s"] = {"median": round(_median(harness), 3), "max": round(max(harness), 3)}
    doc["points"] = sweep_points(doc)
    dump(doc, json_path)
    csv_write(doc, out / "sweep.csv")
    lockstat_write(doc, out / "lockstat.txt")
    from zswap_conc.plot import plot_docs

    plot_docs([doc], [str(json_path)], out / "contention")
    return doc
