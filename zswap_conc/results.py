"""Results as data: immutable run records in versioned JSON, machine metadata, lock_stat tables.

A record is built once by the runner from the counters the workers left in shared memory and is
never edited afterwards; plots and comparisons read files only.  ``load`` refuses a file whose
schema or version it does not know, naming the file and the field.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from zswap_conc import sync

SCHEMA = "zswap-conc"
FORMAT_VERSION = 1

LOCK_STAT_COLUMNS = (
    "con-bounces", "contentions", "waittime-min", "waittime-max", "waittime-total",
    "waittime-avg", "acq-bounces", "acquisitions", "holdtime-min", "holdtime-max",
    "holdtime-total", "holdtime-avg",
)  # fmt: skip


class ResultsError(ValueError):
    """A results file that cannot be used; the message names the file and the field."""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str | None:
    here = Path(__file__).resolve().parent.parent
    if not (here / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def _cpufreq_governor() -> str | None:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        return None


def machine_meta() -> dict[str, Any]:
    """What the numbers depend on: the machine, the software, and the load on it."""
    import llvmlite
    import numba

    from zswap_conc import __version__
    from zswap_conc.compress import library_versions

    return {
        "cpu_model": _cpu_model(),
        "machine": platform.machine(),
        "cores_online": os.cpu_count(),
        "cores_allowed": len(os.sched_getaffinity(0)),
        "cpufreq_governor": _cpufreq_governor(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "numpy": np.__version__,
        "libraries": library_versions(),
        "package_version": __version__,
        "git_revision": _git_revision(),
    }


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def lock_stat_rows(lstat_phase: np.ndarray, class_names, ns_per_cycle: float) -> list[dict]:
    """Sum per-CPU slots into one lock_stat row per class; times converted to ns."""
    rows = []
    for c, name in enumerate(class_names):
        s = lstat_phase[c]  # (cpus, LS_WIDTH)
        acq = int(s[:, sync.LS_ACQUISITIONS].sum())
        con = int(s[:, sync.LS_CONTENTIONS].sum())
        wmin = int(s[:, sync.LS_WAIT_MIN].min()) if con else 0
        hmin = int(s[:, sync.LS_HOLD_MIN].min()) if acq else 0
        wtot = float(s[:, sync.LS_WAIT_TOTAL].sum()) * ns_per_cycle
        htot = float(s[:, sync.LS_HOLD_TOTAL].sum()) * ns_per_cycle
        rows.append({
            "class": name,
            "con-bounces": int(s[:, sync.LS_CON_BOUNCES].sum()),
            "contentions": con,
            "waittime-min": round(wmin * ns_per_cycle, 1),
            "waittime-max": round(float(s[:, sync.LS_WAIT_MAX].max()) * ns_per_cycle, 1),
            "waittime-total": round(wtot, 1),
            "waittime-avg": round(wtot / con, 1) if con else 0.0,
            "acq-bounces": int(s[:, sync.LS_ACQ_BOUNCES].sum()),
            "acquisitions": acq,
            "holdtime-min": round(hmin * ns_per_cycle, 1),
            "holdtime-max": round(float(s[:, sync.LS_HOLD_MAX].max()) * ns_per_cycle, 1),
            "holdtime-total": round(htot, 1),
            "holdtime-avg": round(htot / acq, 1) if acq else 0.0,
        })
    return rows


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


def record_check(rec: Any, source: str) -> dict:
    """Validate the envelope of a results document; raises ResultsError naming the field."""
    if not isinstance(rec, dict):
        raise ResultsError(f"{source}: not a results document (top level is not an object)")
    if rec.get("schema") != SCHEMA:
        raise ResultsError(f"{source}: field 'schema' is {rec.get('schema')!r}, expected {SCHEMA!r}")
    v = rec.get("format_version")
    if not isinstance(v, int):
        raise ResultsError(f"{source}: field 'format_version' is missing or not an integer")
    if v > FORMAT_VERSION:
        raise ResultsError(f"{source}: field 'format_version' is {v}, newer than this tool reads "
                           f"({FORMAT_VERSION}); upgrade zswap-conc")
    if v < FORMAT_VERSION:
        raise ResultsError(f"{source}: field 'format_version' is {v}, older than {FORMAT_VERSION}, "
                           f"and no converter exists; rerun the experiment")
    for field in ("kind", "meta"):
        if field not in rec:
            raise ResultsError(f"{source}: field {field!r} is missing")
    return rec


def dump(rec: dict, path: str | os.PathLike) -> None:
    """Write atomically: a reader never sees half a file, and a crash never truncates one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as fh:
        json.dump(rec, fh, indent=1, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, path)


def load(path: str | os.PathLike) -> dict:
    try:
        with open(path) as fh:
            rec = json.load(fh)
    except OSError as e:
        raise ResultsError(f"{path}: cannot read ({e.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from None
    return record_check(rec, str(path))
