"""The contention sweep: every variant at every CPU count, repeated, interleaved, saved as it goes.

After each run the whole results document is rewritten atomically (marked incomplete until the
end), so an interrupted or killed sweep keeps every finished run; if its parent is killed outright
(SIGKILL), the orphaned workers of the run in flight write why into it.  A write that fails midway
(the folder removed or full) stops the sweep with ``WriteFailed``, the file keeping the runs saved
before.  The document and its points are the results layer's (``results.sweep``); this module only
runs the experiment.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from pathlib import Path

from zswap_conc.errors import Interrupted, WorkerDied, WriteFailed
from zswap_conc.experiment import Experiment
from zswap_conc.outputs import fallback_file
from zswap_conc.progress import Progress
from zswap_conc.results.document import dump
from zswap_conc.results.meta import loadavg, machine_meta
from zswap_conc.results.sweep import csv_write, lockstat_text, sweep_document, sweep_entry, sweep_points
from zswap_conc.runner import run, think_calibrate, warm_up


class SweepStopped(Exception):
    """A sweep ended early; its finished runs are saved (``path``)."""

    def __init__(self, cause: BaseException, path: Path, kept: int, total: int):
        super().__init__(str(cause))
        self.cause = cause
        self.path = path
        self.kept = kept
        self.total = total


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def sweep_run(exp: Experiment, out: Path, progress: bool = True) -> dict:
    """Run the experiment, saving after every run; raises SweepStopped if it ends early, WriteFailed
    if the results folder breaks midway."""
    meta = machine_meta()
    meta["loadavg_start"] = loadavg()
    doc = sweep_document(meta, exp.to_dict())
    meta["compile_s"] = round(warm_up(), 2)  # before the clock: the first run must not pay for it
    base, meta["think"] = think_calibrate(exp.base)  # one think time for every variant: they compare alike
    exp = dataclasses.replace(exp, base=base)
    doc["experiment"]["base_config"]["think_ns"] = base.think_ns
    plan = list(exp.configs())
    bar = Progress(len(plan), unit="runs") if progress else None
    json_path = out / "sweep.json"
    harness: list[float] = []
    saved = 0

    def save(path: Path, write) -> None:
        try:
            write(path)
        except OSError as e:
            why = e.strerror or str(e)
            if not doc["complete"]:
                doc["stopped_by"] = f"cannot write {path} ({why})"
            kept_in, kept = (json_path, saved) if json_path.exists() else (None, 0)
            if kept < len(doc["runs"]):  # the folder is gone, or its file lacks the last runs: keep them elsewhere
                try:
                    other = Path(fallback_file("sweep"))
                    dump(doc, other)
                    kept_in, kept = other, len(doc["runs"])
                except OSError:
                    pass
            raise WriteFailed(path, why, kept, len(plan), kept_in=kept_in,
                              complete=doc["complete"] and kept == len(plan)) from None

    def save_doc() -> None:
        nonlocal saved
        save(json_path, lambda p: dump(doc, p))
        saved = len(doc["runs"])

    def orphaned(reason: str, partial: dict) -> None:  # in a worker whose parent vanished: the file says why
        doc["stopped_by"] = reason
        dump(doc, json_path)

    t_start = time.perf_counter()
    try:
        for i, (rep, v, n, cfg) in enumerate(plan):
            if bar:
                bar.show(i, f"{v.label} cpus={n} repeat {rep + 1}/{exp.repeats}")
            t = time.perf_counter()
            rec = run(cfg, on_orphan=orphaned)
            harness.append(time.perf_counter() - t - cfg.warmup - rec["seconds"])
            doc["runs"].append(sweep_entry(v.label, cfg.strategy, v.swap_types, n, rep, rec))
            doc["points"] = sweep_points(doc)
            save_doc()
        if bar:
            bar.show(len(plan), "done")
            bar.done()
    except (Interrupted, KeyboardInterrupt, WorkerDied) as e:
        if bar:
            bar.done()
        doc["stopped_by"] = str(e) if not isinstance(e, KeyboardInterrupt) else "interrupted by SIGINT"
        doc["meta"]["loadavg_end"] = loadavg()
        doc["points"] = sweep_points(doc)
        save_doc()
        save(out / "sweep.csv", lambda p: csv_write(doc, p))
        raise SweepStopped(e, json_path, len(doc["runs"]), len(plan)) from None
    doc["complete"] = True
    doc["meta"]["loadavg_end"] = loadavg()
    doc["wall_s"] = round(time.perf_counter() - t_start, 2)
    doc["harness_overhead_s"] = {"median": round(_median(harness), 3), "max": round(max(harness), 3)}
    doc["disturbed_runs"] = sum(bool((r.get("disturbance") or {}).get("disturbed")) for r in doc["runs"])
    doc["points"] = sweep_points(doc)
    save_doc()
    save(out / "sweep.csv", lambda p: csv_write(doc, p))
    save(out / "lockstat.txt", lambda p: p.write_text(lockstat_text(doc)))
    from zswap_conc.plot import plot_docs

    save(out / "contention.png", lambda p: plot_docs([doc], [str(json_path)], out / "contention"))
    return doc
