"""Where results go: proving before any work that a file or folder can be written.

Every command that writes results checks its destination first, so a run never ends with nothing
saved because the path was wrong; the numba cache directory is probed the same way.
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
    """Prove that a results file can be written at ``path``; a ConfigError naming ``flag`` otherwise."""
    why = folder_problem(os.path.dirname(os.path.abspath(path)))
    if why is not None:
        raise ConfigError(f"{flag}: cannot write {path} ({why}); accepted: a path in a writable folder")


def default_file(kind: str, suffix: str = "") -> str:
    """``zswap-results/<kind>-<time><suffix>.json``: where a command writes when not told."""
    return os.path.join(RESULTS_ROOT, time.strftime(f"{kind}-%Y%m%d-%H%M%S{suffix}.json"))
