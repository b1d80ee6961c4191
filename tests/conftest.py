"""Shared fixtures: a /dev/shm leak check that counts only this test process tree's segments, a
working directory outside the checkout, and a Hypothesis database outside it too.

The machine is shared: other runs of the tool (another user's sweep, a second test session) may be
live and own ``zswap_conc_*`` segments.  A segment's name carries the pid of the process that made it
(``arena.segment_create``), so the leak check counts a segment only when that pid is this test
process or a child it started (every ``subprocess.Popen`` is recorded)."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.database import DirectoryBasedExampleDatabase

SHM = "/dev/shm"
PREFIX = "zswap_conc_"
REPO = Path(__file__).resolve().parent.parent

# the pids whose segments are this session's: the test process and every child it starts
OWN_PIDS: set[int] = {os.getpid()}
_popen_init = subprocess.Popen.__init__


def _popen_recorded(self, *args, **kwargs):
    _popen_init(self, *args, **kwargs)
    OWN_PIDS.add(self.pid)


subprocess.Popen.__init__ = _popen_recorded

# Hypothesis keeps its example database and caches in the temporary folder, not in the checkout
_HYPOTHESIS_DIR = Path(tempfile.gettempdir()) / f"zswap-conc-hypothesis-{os.getuid()}"
set_hypothesis_home_dir(str(_HYPOTHESIS_DIR))
settings.register_profile("zswap-conc", database=DirectoryBasedExampleDatabase(str(_HYPOTHESIS_DIR / "examples")))
settings.load_profile("zswap-conc")


def segment_pid(name: str) -> int | None:
    try:
        return int(name[len(PREFIX):].split("_", 1)[0])
    except ValueError:
        return None


def shm_entries(own: bool = True) -> set[str]:
    """``zswap_conc_*`` segments in /dev/shm; ``own``: only those made by this test process tree."""
    try:
        names = {n for n in os.listdir(SHM) if n.startswith(PREFIX)}
    except FileNotFoundError:
        return set()
    return {n for n in names if segment_pid(n) in OWN_PIDS} if own else names


@pytest.fixture(scope="session", autouse=True)
def outside_the_checkout(tmp_path_factory):
    """Run every test (and the CLI it starts) in a temporary folder, so that a command writing to
    its default ``zswap-results/`` leaves nothing in the working tree; subprocesses still import this
    checkout's package."""
    import zswap_conc

    pkg_root = str(Path(zswap_conc.__file__).resolve().parent.parent)
    old_cwd, old_path = os.getcwd(), os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_root, old_path) if p)
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(old_cwd)
    if old_path is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = old_path


@pytest.fixture(scope="session", autouse=True)
def compiled(outside_the_checkout):
    """Compile (or load from numba's cache) the measured path once, before any test: a test that
    starts the CLI in a subprocess then times the run, not the first compile."""
    from zswap_conc.runner import warm_up

    warm_up()


@pytest.fixture
def no_shm_leak():
    before = shm_entries()
    yield
    leaked = shm_entries() - before
    assert not leaked, f"shared-memory segments leaked: {sorted(leaked)}"
