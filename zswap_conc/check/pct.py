"""PCT, probabilistic concurrency testing: Burckhardt, Kothari, Musuvathi and Nagarakatte, "A
Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010.

Each execution gives the CPUs random distinct priorities d..d+n-1 and picks d-1 random change
points among the first k steps; the highest-priority CPU that can run takes every step, and at the
i-th change point the CPU that ran drops to priority d-i, below every initial one.  A bug of depth
d is found with probability at least 1/(n * k^(d-1)) per execution.

k is the execution's length.  Unless it is given, it is measured: the longest execution seen so
far (the first execution, before any was seen, uses K_FIRST; an execution cut off at the step limit
does not count), so that no change point falls after the execution has ended.  The estimate is kept per
program (a trial, hunt.py): carrying it from one trial to the next would make trial i's work depend
on which trials ran before it, and ``--jobs N`` would no longer find what one job finds.
"""

from __future__ import annotations

import random

from zswap_conc.check.scheduler import Scheduler

K_FIRST = 40  # steps assumed before the first execution was measured


class PctScheduler(Scheduler):
    name = "pct"

    def __init__(self, seed: int = 0, depth: int = 3, max_steps: int | None = None):
        self.rng = random.Random(seed)
        self.depth = max(1, depth)
        self.fixed = max_steps is not None
        self.k = max(2, max_steps) if max_steps is not None else K_FIRST
        self.seen = False  # an execution was measured
        self.prio: dict[int, int] = {}
        self.changes: dict[int, int] = {}

    def new_execution(self) -> bool:
        self.prio = {}
        points = self.rng.sample(range(1, self.k), min(self.depth - 1, self.k - 1))
        self.changes = {p: self.depth - 1 - i for i, p in enumerate(sorted(points))}
        return True

    def execution_done(self, ex) -> None:
        if not self.fixed and not ex.truncated:  # one cut off at the step limit says nothing of k
            n = len(ex.schedule)
            self.k = max(self.k, n) if self.seen else max(2, n)
            self.seen = True

    def next_cpu(self, runnable, blocked, current, step):
        for c in runnable:
            if c not in self.prio:
                self.prio[c] = self.depth + self.rng.random()  # random, distinct, above every change value
        free = [c for c in runnable if c not in blocked] or runnable
        chosen = max(free, key=lambda c: self.prio[c])
        if step in self.changes:
            self.prio[chosen] = self.changes[step]
        return chosen
