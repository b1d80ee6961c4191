"""The one line a first compile prints.

numba builds the measured path once per source revision and checkout (the cache lives in
``jit.NUMBA_CACHE``, keyed by a hash of the sources; numba keys its files by each source's path).
On a 2-core machine that takes well over a minute, and a minute of silence looks like a hang.  So
whatever compiles says so, on one line, only when it will really compile: when no compile of this
revision from this checkout has finished into the cache before (or there is no cache at all).  The
expected time it quotes is the last compile's on this machine (``compile-times.json`` beside the
caches), or the figure measured when this was written when there is none.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# cold compiles measured on the 2-core Xeon VM (numba 0.61, load about 1): warm_up() ~90 s, the
# lockbench loop ~15 s; the quote falls back to these until this machine has done one
FALLBACK_S = {"measured path": 90.0, "lockbench loop": 15.0}
TICK_S = 1.0  # how often a terminal's line redraws its elapsed time


def _checkout_tag(what: str) -> str:
    here = str(Path(__file__).resolve().parent)
    return hashlib.sha256(f"{here}\0{what}".encode()).hexdigest()[:12]


def _marker(what: str) -> Path | None:
    from zswap_conc.jit import NUMBA_CACHE

    return Path(NUMBA_CACHE) / f".compiled-{_checkout_tag(what)}" if NUMBA_CACHE else None


def _times_file() -> Path | None:
    from zswap_conc.jit import NUMBA_CACHE

    return Path(NUMBA_CACHE).parent / "compile-times.json" if NUMBA_CACHE else None


def compile_pending(what: str) -> bool:
    """True when ``what`` has not been compiled into the cache from this checkout yet."""
    m = _marker(what)
    return m is None or not m.exists()


def expected_s(what: str) -> tuple[float, str]:
    """(seconds, where the figure comes from) for a cold compile of ``what`` here."""
    f = _times_file()
    if f is not None:
        try:
            t = json.loads(f.read_text()).get(what)
            if isinstance(t, (int, float)) and 0 < t < 3600:
                return float(t), "as last time on this machine"
        except (OSError, ValueError, AttributeError):
            pass
    return FALLBACK_S.get(what, 60.0), "on a 2-core machine"


def _remember(what: str, seconds: float) -> None:
    """Note that ``what`` is compiled (the marker) and how long it took (for the next quote)."""
    m, f = _marker(what), _times_file()
    try:
        if m is not None:
            m.write_text(f"{seconds:.1f}\n")
        if f is not None:
            try:
                times = json.loads(f.read_text())
                times = times if isinstance(times, dict) else {}
            except (OSError, ValueError):
                times = {}
            times[what] = round(seconds, 1)
            tmp = f.with_name(f".{f.name}.{os.getpid()}")
            tmp.write_text(json.dumps(times))
            os.replace(tmp, f)
    except OSError:
        pass  # a read-only cache: the next start quotes the fallback and compiles again anyway


@contextmanager
def compile_notice(what: str, stream=None) -> Iterator[None]:
    """Around code that compiles ``what``: one line on stderr when it will really compile, with the
    elapsed time (redrawn each second on a terminal), finished by how long it took."""
    if not compile_pending(what):
        yield
        return
    stream = stream or sys.stderr
    secs, source = expected_s(what)
    head = f"zswap-conc: compiling the {what} (first use, ~{secs:.0f} s {source}) ..."
    tty = hasattr(stream, "isatty") and stream.isatty()
    t0 = time.perf_counter()
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(TICK_S):
            stream.write(f"\r{head} {time.perf_counter() - t0:.0f} s")
            stream.flush()

    stream.write(head)
    stream.flush()
    ticker = threading.Thread(target=tick, daemon=True) if tty else None
    if ticker:
        ticker.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        stop.set()
        if ticker:
            ticker.join()
        took = time.perf_counter() - t0
        end = f" done in {took:.0f} s" if ok else f" stopped after {took:.0f} s"
        stream.write((f"\r{head}" if tty else "") + end + "\n")
        stream.flush()
        if ok:
            _remember(what, took)
