"""The scheduler interface (shuttle's): a scheduler starts executions and picks the next CPU.

``runnable`` lists CPUs with work left; ``blocked`` those whose last step found a lock or a slot
busy with nothing changed since, so a scheduler that picks one of them wastes the step.  Optional
hooks: ``observe(ex, cpu)`` after every step (the execution, for state hashes and footprints),
``execution_done(ex)`` after each execution.  ``next_cpu`` may return None to end an execution
early: a reducing scheduler has seen the rest already.
"""

from __future__ import annotations


class Scheduler:
    name = "?"

    def new_execution(self) -> bool:
        """Prepare the next execution; False when there is nothing left to explore."""
        return True

    def next_cpu(self, runnable: list[int], blocked: set[int], current: int | None, step: int) -> int | None:
        raise NotImplementedError

    def execution_done(self, ex) -> None:
        """Called after each execution (the hunt's loop), violations included."""


def default_choice(runnable: list[int], blocked: set[int], current: int | None) -> int:
    """Non-preemptive continuation: keep the current CPU while it can run, else the lowest."""
    if current in runnable and current not in blocked:
        return current
    free = [c for c in runnable if c not in blocked]
    return (free or runnable)[0]


def scheduler_make(name: str, seed: int = 0, depth: int = 3, preemptions: int = 1, max_steps: int | None = None,
                   schedule: list[int] | None = None, part: tuple[int, int] = (0, 1)) -> Scheduler:
    """A scheduler by name; ``part`` = (job, jobs): this job's share of a tree search."""
    from zswap_conc.check.dfs import DfsScheduler
    from zswap_conc.check.dpor import DporScheduler
    from zswap_conc.check.pct import PctScheduler
    from zswap_conc.check.random import RandomScheduler
    from zswap_conc.check.replay import ReplayScheduler

    if name == "random":
        return RandomScheduler(seed)
    if name == "pct":
        return PctScheduler(seed, depth, max_steps)
    if name == "dfs":
        return DfsScheduler(preemptions, part)
    if name == "dpor":
        return DporScheduler(preemptions, part)
    if name == "replay":
        return ReplayScheduler(schedule or [])
    raise ValueError(name)


SCHEDULERS = ("random", "pct", "dfs", "dpor")
TREE_SEARCHES = ("dfs", "dpor")  # exhaustive within a bound; the others sample
