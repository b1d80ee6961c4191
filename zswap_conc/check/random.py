"""Uniformly random scheduling among the CPUs that can make progress."""

from __future__ import annotations

import random

from zswap_conc.check.scheduler import Scheduler


class RandomScheduler(Scheduler):
    name = "random"

    def __init__(self, seed: int = 0):
        self.rng = random.Random(seed)

    def next_cpu(self, runnable, blocked, current, step):
        free = [c for c in runnable if c not in blocked]
        return self.rng.choice(free or runnable)
