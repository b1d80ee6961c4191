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


class WriteFailed(Exception):
    """A results file could not be written partway through (its folder vanished or filled up); what
    was saved before stays where it was (``kept_in``), marked incomplete unless it was complete."""

    def __init__(self, path: object, why: str, kept: int, total: int, kept_in: object = None,
                 complete: bool = False, unit: str = "runs"):
        kept_in = kept_in or path
        if complete:
            saved = f"{kept_in} holds all {total} {unit} (complete)"
        elif kept:
            saved = f"{kept_in} holds the {kept} of {total} {unit} finished before (marked incomplete)"
        else:
            saved = f"none of the {total} {unit} had been saved"
        super().__init__(f"cannot write {path} ({why}); {saved}")
        self.path = path
        self.kept = kept
        self.total = total
