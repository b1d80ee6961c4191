"""Where results go: proving before any work that a file or folder can be written.

Every command that writes results checks its destination first, so a run never ends with nothing
saved because the path was wrong; the numba cache directory is probed the same way.  A destination
that breaks later anyway (its folder removed or full mid-sweep) is the caller's to report
(``errors.WriteFailed``); a finished run's record then goes to ``fallback_file``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from zswap_conc.config import ConfigError

RESULTS_ROOT = "zswap-results"  # default folder for results, relative to the working directory


def folder_problem(path: str | os.PathLike) -> str | None:
    """None if ``path`` is (or can be made) a folder we can write a file into, else why not."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".zswap-probe.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        return e.strerror or str(e)
    return None


def out_dir_prepare(path: str | None, default_name: str, flag: str = "--out") -> Path:
    """The results folder (default ``zswap-results/<default_name>-<time>``), created and proven
    writable; a ConfigError naming ``flag`` otherwise."""
    if path is None:
        path = os.path.join(RESULTS_ROOT, time.strftime(f"{default_name}-%Y%m%d-%H%M%S"))
    why = folder_problem(path)
    if why is not None:
        raise ConfigError(f"{flag}: cannot write results to {path} ({why}); accepted: a writable folder")
    return Path(path)


def out_file_check(path: str, flag: str = "--out") -> None:
    """Prove that a results file can be written at ``path`` (not a folder, in a writable folder, not
    a read-only file); a ConfigError naming ``flag`` otherwise."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag}: {path} is a folder; accepted: a file path (e.g. {p / 'results.json'})")
    if p.exists() and not os.access(p, os.W_OK):
        raise ConfigError(f"{flag}: cannot write {path} (the file is read-only); accepted: a writable file path")
    why = folder_problem(os.path.dirname(os.path.abspath(path)))
    if why is not None:
        raise ConfigError(f"{flag}: cannot write {path} ({why}); accepted: a path in a writable folder")


def fallback_file(kind: str) -> str:
    """Where a finished record goes when its own path broke after the run: the temporary folder."""
    import tempfile

    return os.path.join(tempfile.gettempdir(), time.strftime(f"zswap-conc-{kind}-%Y%m%d-%H%M%S-{os.getpid()}.json"))


def default_file(kind: str, suffix: str = "") -> str:
    """``zswap-results/<kind>-<time><suffix>.json``: where a command writes when not told."""
    return os.path.join(RESULTS_ROOT, time.strftime(f"{kind}-%Y%m%d-%H%M%S{suffix}.json"))
