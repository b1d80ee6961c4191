"""Build hook (the rest of the build is pyproject.toml): record the git revision the package is built
from, so that an installed copy with no clone around it can still say which code produced a result
(``zswap_conc.results.meta.git_revision``).  A tree with uncommitted changes is recorded as -dirty."""

import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def source_revision() -> str | None:
    """HEAD of the clone this file is in (12 hex digits, -dirty if tracked files changed), or None."""
    def git(*args: str) -> subprocess.CompletedProcess:
        # safe.directory: a clone owned by another user (a CI checkout built as root) is still read
        return subprocess.run(["git", "-c", f"safe.directory={HERE}", "-C", str(HERE), *args],
                              capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0 or not head.stdout.strip():
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


class BuildWithRevision(build_py):
    def run(self) -> None:
        super().run()
        rev = source_revision()
        target = Path(self.build_lib) / "zswap_conc" / "_revision.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text('"""Written by setup.py at build time: the git revision of the source."""\n\n'
                          f"REVISION = {rev!r}\n")


setup(cmdclass={"build_py": BuildWithRevision})
