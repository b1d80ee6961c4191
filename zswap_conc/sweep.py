"""The contention sweep: every variant at every CPU count, repeated, interleaved, saved as it goes.

After each run the whole results document is rewritten atomically (marked incomplete until the
end), so an interrupted or killed sweep keeps every finished run.  The document and its points are
the results layer's (``results.sweep``); this module only runs the experiment.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from pathlib import Path

from zswap_conc.errors import Interrupted, WorkerDied
from zswap_conc.experiment import Experiment
from zswap_conc.results.document import dump
from zswap_conc.results.meta import loadavg, machine_meta
from zswap_conc.results.sweep import csv_write, lockstat_text, sweep_document, sweep_entry, sweep_points
from zswap_conc.runner import run, think_calibrate, warm_up


class Progress:
    """One line per step (a redrawn bar on a terminal): where a long command is, and its ETA."""

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


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else 0.0


def sweep_run(exp: Experiment, out: Path, progress: bool = True) -> dict:
    """Run the experiment, saving after every run; raises SweepStopped if it ends early."""
    meta = machine_meta()
    meta["loadavg_start"] = loadavg()
    doc = sweep_document(meta, exp.to_dict())
    meta["compile_s"] = round(warm_up(), 2)  # before the clock: the first run must not pay for it
    base, meta["think"] = think_calibrate(exp.base)  # one think time for every variant: they compare alike
    exp = dataclasses.replace(exp, base=base)
    doc["experiment"]["base_config"]["think_ns"] = base.think_ns
    plan = list(exp.configs())
    bar = Progress(len(plan)) if progress else None
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
            doc["runs"].append(sweep_entry(v.label, cfg.strategy, v.swap_types, n, rep, rec))
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
    (out / "lockstat.txt").write_text(lockstat_text(doc))
    from zswap_conc.plot import plot_docs

    plot_docs([doc], [str(json_path)], out / "contention")
    return doc
