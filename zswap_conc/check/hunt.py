"""The hunt: run executions under a scheduler until an invariant breaks or the budget is spent,
then shrink the failing schedule to a minimal one that replays to the same broken invariant."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from zswap_conc.check.encoding import schedule_encode
from zswap_conc.check.execution import Violation, World, execute
from zswap_conc.check.replay import ReplayScheduler
from zswap_conc.check.scheduler import scheduler_make


@dataclass
class HuntResult:
    variant: str
    scheduler: str
    strategy: str
    executions: int = 0
    steps: int = 0
    seconds: float = 0.0
    exhausted: bool = False  # dfs explored everything inside its bound
    truncated: int = 0  # executions cut off at MAX_STEPS
    invariant: str | None = None
    detail: str = ""
    schedule: list[int] = field(default_factory=list)  # the minimal failing schedule
    trace: list[str] = field(default_factory=list)  # its replay, step by step

    @property
    def found(self) -> bool:
        return self.invariant is not None

    @property
    def schedule_string(self) -> str:
        return schedule_encode(self.schedule)


def replay(world: World, schedule: list[int]) -> tuple[Violation | None, list[str]]:
    """Replay a schedule (then run on non-preemptively); the violation it hits, and the trace."""
    try:
        ex = execute(world, ReplayScheduler(schedule))
        return None, ex.trace
    except Violation as v:
        return v, v.execution.trace


def minimize(world: World, schedule: list[int], invariant: str) -> list[int]:
    """The shortest prefix that still breaks ``invariant``; then whole runs of one CPU's steps, then
    single steps, dropped greedily while the same invariant still breaks."""

    def fails(s):
        v, _ = replay(world, s)
        return v is not None and v.invariant == invariant

    best = schedule
    for n in range(len(schedule) + 1):
        if fails(schedule[:n]):
            best = schedule[:n]
            break
    i = 0
    while i < len(best):  # drop the run of same-CPU steps starting at i
        j = i
        while j < len(best) and best[j] == best[i]:
            j += 1
        trial = best[:i] + best[j:]
        if fails(trial):
            best = trial
        else:
            i = j
    i = 0
    while i < len(best):
        trial = best[:i] + best[i + 1:]
        if fails(trial):
            best = trial
        else:
            i += 1
    return best


def hunt(variant: str, scheduler: str = "pct", strategy: str = "per-swaptype", budget_executions: int | None = None,
         budget_seconds: float | None = None, seed: int = 0, depth: int = 3, preemptions: int = 1,
         kernel: str | None = None) -> HuntResult:
    world = World(variant, strategy, kernel)
    res = HuntResult(variant, scheduler, strategy)
    sched = scheduler_make(scheduler, seed=seed, depth=depth, preemptions=preemptions, max_steps=80)
    replay(world, [])  # compile the checked path before the clock starts
    t0 = time.perf_counter()
    try:
        while True:
            if budget_executions is not None and res.executions >= budget_executions:
                break
            if budget_seconds is not None and time.perf_counter() - t0 >= budget_seconds:
                break
            if not sched.new_execution():
                res.exhausted = True
                break
            res.executions += 1
            try:
                ex = execute(world, sched)
                res.steps += len(ex.schedule)
                res.truncated += ex.truncated
            except Violation as v:
                res.steps += len(v.execution.schedule)
                res.invariant = v.invariant
                res.schedule = minimize(world, v.execution.schedule, v.invariant)
                v2, res.trace = replay(world, res.schedule)
                res.detail = v2.detail if v2 is not None else v.detail
                break
    finally:
        res.seconds = time.perf_counter() - t0
        world.close()
    return res
