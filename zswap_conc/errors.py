"""How a measurement ends early.  Kept apart from the runner so that the command line can name these
outcomes (and give their exit status) without importing what runs workers."""

from __future__ import annotations


class WorkerDied(RuntimeError):
    """A worker process ended before it was told to stop; ``partial`` holds what was measured."""

    partial: dict | None = None


class Interrupted(Exception):
    """The run was stopped by a signal; ``partial`` holds what was measured before it."""

    def __init__(self, signame: str, partial: dict | None = None):
        super().__init__(f"interrupted by {signame}")
        self.signame = signame
        self.partial = partial
