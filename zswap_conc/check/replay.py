"""Replay: follow a recorded schedule, then continue non-preemptively (lowest runnable CPU)."""

from __future__ import annotations

from zswap_conc.check.scheduler import Scheduler, default_choice


class ReplayScheduler(Scheduler):
    name = "replay"

    def __init__(self, schedule: list[int]):
        self.schedule = list(schedule)

    def next_cpu(self, runnable, blocked, current, step):
        if step < len(self.schedule):
            c = self.schedule[step]
            if c in runnable:
                return c
            # leniently interpreted (Hypothesis draws any list): the next runnable CPU in order
            later = [r for r in runnable if r > c]
            return (later or runnable)[0]
        return default_choice(runnable, blocked, current)
