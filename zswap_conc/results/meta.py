"""What the numbers depend on: the machine, the software, and the load on it, recorded in every
results document's ``meta``."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from zswap_conc import __version__


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision_of(root: Path) -> str | None:
    def git(*args: str) -> subprocess.CompletedProcess:
        # safe.directory: a clone owned by another user (a CI checkout run as root) is still read
        return subprocess.run(["git", "-c", f"safe.directory={root}", "-C", str(root), *args],
                              capture_output=True, text=True, timeout=5)

    try:
        out = git("rev-parse", "--short=12", "HEAD")
        # published results are outputs, not code: regenerating them must not make their own records dirty
        dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)docs/results")
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return out.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def git_revision() -> str | None:
    """The revision of the code that runs: asked of git when the package runs from a clone (a
    checkout, an editable install), else the one ``setup.py`` recorded when it was built from one
    (``zswap_conc/_revision.py``); ``-dirty``: tracked files outside ``docs/results`` had uncommitted
    changes."""
    here = Path(__file__).resolve().parent.parent.parent
    if (here / ".git").exists():  # a directory in a clone, a file in a worktree
        rev = git_revision_of(here)
        if rev is not None:
            return rev
    try:
        from zswap_conc._revision import REVISION
    except ImportError:
        return None
    return REVISION if isinstance(REVISION, str) else None


def cpufreq_governor() -> str | None:
    try:
        return Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        return None


def machine_meta() -> dict[str, Any]:
    """What the numbers depend on: the machine, the software, and the load on it."""
    import llvmlite
    import numba
    import numpy as np

    from zswap_conc.compress import library_versions

    return {
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "cores_online": os.cpu_count(),
        "cores_allowed": len(os.sched_getaffinity(0)),
        "cpufreq_governor": cpufreq_governor(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "numpy": np.__version__,
        "libraries": library_versions(),
        "package_version": __version__,
        "git_revision": git_revision(),
    }


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None
