"""Compilation of the measured path: numba's flags, its on-disk cache, and a memcpy intrinsic.

``HOT`` turns off numba's reference counting (NRT) for functions that only read and write arrays
they are given.  With it on, every use of the arena's two dozen arrays costs an atomic increment
and decrement each, about half a microsecond per step on the machines we measured: more than
most steps' real work, and it would drown the locking we want to see.  Functions that allocate
(the checkers, the verifier) keep NRT and plain ``cache=True``.

``_nrt`` is a private numba option (tested up to the numba version ``pyproject.toml`` bounds).
``tests/test_jit.py`` fails when it is not in effect: the compiled ``op_step`` must contain no
reference-count call, and an empty step must cost nanoseconds.  If a numba release drops or
renames it, the fallback is to compile every HOT function with ``inline="always"`` (numba-level
inlining: the arena tuple is then never passed across a call, so there is nothing to count), at
about 50 s more cold compile; keep ``cache=True``.

Importing this module points numba's on-disk cache at a directory named after a hash of the
package's sources, before any compiled function is declared (numba picks a function's cache when
it is decorated).  numba checks only the timestamp of a cached function's *own* file, so a change
in a callee in another module (or an upgrade that leaves old cache files behind) would otherwise
run stale machine code.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from zswap_conc import __version__
from zswap_conc.outputs import folder_problem

HOT = {"cache": True, "_nrt": False}
# A step's body and its per-operation dispatcher are inlined at numba's IR level into op_step, so
# that a step is one compiled function, as the old single op_step was: numba passes each of the
# arena's ~27 arrays as separate scalar arguments, so every call that takes the arena costs tens of
# nanoseconds, which would land inside the critical sections being measured.
STEP = {**HOT, "inline": "always"}
CACHE_ENV = "NUMBA_CACHE_DIR"


# modules no compiled function imports, directly or through another: editing them (the command line,
# records, plots, the hunter's driver, the model, the runner's process handling, the schema) cannot
# make cached machine code stale; tests/test_jit.py checks that none of them defines a compiled function
NOT_COMPILED = ("commands/", "results/", "check/", "cli.py", "plot.py", "compare.py", "model.py", "experiment.py",
                "sweep.py", "reclaim.py", "errors.py", "outputs.py", "kernels.py", "runner.py", "disturbance.py",
                "schema.py", "compiling.py", "stats.py", "progress.py")
COMPILED_INSIDE = ("check/invariants.py",)  # the checker's per-step invariants: compiled, though check/ is not


def _source_hash() -> str:
    """A hash of every module compiled code may depend on (its functions, or the constants it reads);
    an edit to one of them, or a new version, gives a new cache."""
    h = hashlib.sha256(__version__.encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(NOT_COMPILED) and rel not in COMPILED_INSIDE:
            continue
        h.update(rel.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


CACHE_NOTE: str | None = None  # set when the cache is not where it should be; commands print it


def _cache_dir_setup() -> str | None:
    """Choose the numba cache directory; the user's NUMBA_CACHE_DIR wins if it is writable."""
    global CACHE_NOTE
    import numba

    user = os.environ.get(CACHE_ENV)
    if user and folder_problem(Path(user)) is None:
        return user
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "zswap-conc"
    tag = f"numba-{_source_hash()}"
    first = Path(user) if user else base / tag
    for candidate in (base / tag, Path(tempfile.gettempdir()) / f"zswap-conc-{os.getuid()}" / tag):
        if folder_problem(candidate) is None:
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


def _make_bytes_copy():
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def bytes_copy(typingctx, dst, doff, src, soff, n):
        """memcpy(dst + doff, src + soff, n) on uint8 arrays: numba's slice assignment may
        allocate a temporary (it guards against overlap), which needs NRT; this is llvm.memcpy."""
        if not (isinstance(dst, types.Array) and isinstance(src, types.Array)):
            raise TypeError("bytes_copy takes two arrays")
        sig = types.void(dst, types.intp, src, types.intp, types.intp)

        def codegen(context, builder, signature, args):
            d, do, s, so, cnt = args
            dptr = context.make_array(signature.args[0])(context, builder, d).data
            sptr = context.make_array(signature.args[2])(context, builder, s).data
            dptr = builder.gep(dptr, [do])
            sptr = builder.gep(sptr, [so])
            cgutils.raw_memcpy(builder, dptr, sptr, cnt, 1)
            return context.get_dummy_value()

        return sig, codegen

    return bytes_copy


bytes_copy = _make_bytes_copy()
