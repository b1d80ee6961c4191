"""zswap_conc: simulated CPUs hammering a shared-memory compressed swap pool (a model of Linux
zswap), to measure lock contention and hunt races in its designs.

Importing the package points numba's on-disk cache at a directory named after a hash of this
package's sources.  numba checks only the timestamp of a cached function's *own* file, so a change
in a callee in another module (or an upgrade that leaves old cache files behind) would otherwise
run stale machine code.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

__version__ = "0.1.0"

CACHE_ENV = "NUMBA_CACHE_DIR"


def _source_hash() -> str:
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".probe.{os.getpid()}"
        probe.write_text("")
        probe.unlink()
        return True
    except OSError:
        return False


CACHE_NOTE: str | None = None  # set when the cache is not where it should be; the CLI prints it


def _cache_dir_setup() -> str | None:
    """Choose the numba cache directory; the user's NUMBA_CACHE_DIR wins if it is writable."""
    global CACHE_NOTE
    import numba

    user = os.environ.get(CACHE_ENV)
    if user and _writable(Path(user)):
        return user
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zswap-conc"
    tag = f"numba-{_source_hash()}"
    first = Path(user) if user else base / tag
    for candidate in (base / tag, Path(tempfile.gettempdir()) / f"zswap-conc-{os.getuid()}" / tag):
        if _writable(candidate):
            numba.config.CACHE_DIR = str(candidate)
            os.environ[CACHE_ENV] = str(candidate)  # worker processes and subprocesses agree
            if candidate != first:
                CACHE_NOTE = f"note: numba cache {first} is not writable; using {candidate}"
            return str(candidate)
    # nowhere writable: numba compiles in memory each time (slower start, same code)
    numba.config.CACHE_DIR = ""
    os.environ.pop(CACHE_ENV, None)
    CACHE_NOTE = f"note: no writable numba cache directory ({first}); compiling in memory on every start"
    return None


NUMBA_CACHE = _cache_dir_setup()
