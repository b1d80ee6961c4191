"""The hunt: run executions under a scheduler until an invariant breaks or the budget is spent,
then shrink the failure to a minimal program and schedule that replay to the same broken invariant,
and say whether it is a race or fails without any interleaving.

Work comes in trials.  Trial i checks one program: the variant's own, or for ``--variant none`` one
drawn from ``Random((seed, i))`` (programs.py: configuration and operations).  A sampling scheduler
(random, pct) runs PER_TRIAL executions of it seeded by (seed, i); a tree search (dfs, dpor) explores
it exhaustively within its bound (at most PER_TRIAL_TREE executions for a drawn program).  Because
trial i's work depends on (seed, i) alone, ``--jobs N`` (jobs.py) gives trial i to job i mod N and
finds the same first failing trial as one job; the lowest failing trial wins and stops the others.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from zswap_conc.check.encoding import encode
from zswap_conc.check.execution import Execution, Violation, World, execute
from zswap_conc.check.programs import Program, program_draw, settings_normal
from zswap_conc.check.replay import ReplayScheduler
from zswap_conc.check.scheduler import TREE_SEARCHES, Scheduler, default_choice, scheduler_make
from zswap_conc.check.variants import RACE, SERIAL, VARIANTS

PER_TRIAL = 100  # executions of one drawn program under random or pct
PER_TRIAL_TREE = 400  # under dfs or dpor: the most one drawn program gets
SERIAL_ORDERS = 300  # serial orders of whole operations tried before calling a failure a race
WORLDS_KEPT = 12  # checked worlds kept built (a world is an arena and a snapshot)


@dataclass
class HuntResult:
    variant: str
    scheduler: str
    executions: int = 0
    steps: int = 0
    seconds: float = 0.0
    trials: int = 0  # programs checked
    exhausted: bool = False  # a tree search explored everything inside its bound
    truncated: int = 0  # executions cut off at MAX_STEPS
    pruned: int = 0  # executions a reducing search ended early (state seen, or another job's path)
    states: int = 0  # dpor: distinct states explored
    end_states: int = 0  # dfs/dpor: distinct states at the end of an execution
    pct_k: int = 0  # pct: the step bound it measured
    jobs: int = 1
    invariant: str | None = None
    detail: str = ""
    kind: str = ""  # RACE or SERIAL once found
    trial: int = -1  # the failing trial
    program: Program | None = None  # the minimal failing program
    schedule: list[int] = field(default_factory=list)  # its minimal failing schedule
    trace: list[str] = field(default_factory=list)  # its replay, step by step

    @property
    def found(self) -> bool:
        return self.invariant is not None

    @property
    def schedule_string(self) -> str:
        return encode(self.program, self.schedule) if self.program is not None else ""


class Worlds:
    """Built checked worlds, by (settings, CPUs, mutant); the least recently used goes first."""

    def __init__(self, keep: int = WORLDS_KEPT):
        self.keep = keep
        self.cache: OrderedDict = OrderedDict()

    def get(self, program: Program) -> World:
        from zswap_conc.check import mutants

        key = (program.settings, program.ncpus, tuple(program.slots()), mutants.active())
        w = self.cache.pop(key, None)
        if w is None:
            w = World(program)
        else:
            w.program = program
        self.cache[key] = w
        while len(self.cache) > self.keep:
            _, old = self.cache.popitem(last=False)
            old.close()
        return w

    def close(self) -> None:
        for w in self.cache.values():
            w.close()
        self.cache.clear()


def replay(world: World, schedule: list[int], program: Program | None = None) -> tuple[Violation | None, list[str]]:
    """Replay a schedule (then run on non-preemptively); the violation it hits, and the trace."""
    try:
        ex = execute(world, ReplayScheduler(schedule), program)
        return None, ex.trace
    except Violation as v:
        return v, v.execution.trace


def minimize(world: World, program: Program, schedule: list[int], invariant: str) -> tuple[Program, list[int]]:
    """Drop operations the failure does not need, then the shortest schedule prefix that still
    breaks ``invariant``, then whole runs of one CPU's steps, then single steps, greedily."""

    def fails(p, s):
        v, _ = replay(world, s, p)
        return v is not None and v.invariant == invariant

    ops = [list(c) for c in program.ops]
    for cpu in range(len(ops)):
        i = len(ops[cpu]) - 1
        while i >= 0:
            trial = [list(c) for c in ops]
            del trial[cpu][i]
            p = Program(program.settings, tuple(tuple(c) for c in trial))
            if fails(p, schedule):
                ops = trial
            i -= 1
    program = Program(program.settings, tuple(tuple(c) for c in ops))
    best = schedule
    for n in range(len(schedule) + 1):
        if fails(program, schedule[:n]):
            best = schedule[:n]
            break
    i = 0
    while i < len(best):  # drop the run of same-CPU steps starting at i
        j = i
        while j < len(best) and best[j] == best[i]:
            j += 1
        trial = best[:i] + best[j:]
        if fails(program, trial):
            best = trial
        else:
            i = j
    i = 0
    while i < len(best):
        trial = best[:i] + best[i + 1:]
        if fails(program, trial):
            best = trial
        else:
            i += 1
    return program, best


class SerialScheduler(Scheduler):
    """Every serial order of whole operations (a CPU is switched only between two of its
    operations, or when it waits): depth-first, one order per execution."""

    name = "serial"

    def __init__(self):
        self.stack: list[list] = []  # per operation boundary: [options, index]
        self.pos = 0
        self.started = False
        self.ex: Execution | None = None

    def bind(self, ex) -> None:
        self.ex = ex

    def new_execution(self) -> bool:
        if self.started:
            while self.stack and self.stack[-1][1] + 1 >= len(self.stack[-1][0]):
                self.stack.pop()
            if not self.stack:
                return False
            self.stack[-1][1] += 1
        self.started = True
        self.pos = 0
        return True

    def next_cpu(self, runnable, blocked, current, step):
        ex = self.ex
        if current in runnable and current not in blocked and ex.current[current] is not None:
            return current  # inside an operation: never switch
        free = [c for c in runnable if c not in blocked] or runnable
        if len(free) == 1:
            return free[0]
        if self.pos == len(self.stack):
            self.stack.append([free, 0])
        node = self.stack[self.pos]
        self.pos += 1
        c = node[0][node[1]]
        return c if c in runnable else default_choice(runnable, blocked, current)


def classify(world: World, program: Program, schedule: list[int], invariant: str) -> str:
    """SERIAL if some serial order of whole operations breaks ``invariant`` (or the failing schedule
    runs no two operations interleaved), else RACE."""
    if _serial_schedule(world, program, schedule):
        return SERIAL
    sched = SerialScheduler()
    for _ in range(SERIAL_ORDERS):
        if not sched.new_execution():
            break
        try:
            execute(world, sched, program)
        except Violation as v:
            if v.invariant == invariant:
                return SERIAL
    return RACE


class _Watch(ReplayScheduler):
    """Replay, noting whether a CPU ever steps while another is inside an operation."""

    def bind(self, ex) -> None:
        self.ex = ex
        self.interleaved = False

    def next_cpu(self, runnable, blocked, current, step):
        c = super().next_cpu(runnable, blocked, current, step)
        if any(self.ex.current[o] is not None for o in range(self.ex.n) if o != c):
            self.interleaved = True
        return c


def _serial_schedule(world: World, program: Program, schedule: list[int]) -> bool:
    """Does replaying ``schedule`` run every operation without another CPU stepping inside it?"""
    w = _Watch(schedule)
    try:
        execute(world, w, program)
    except Violation:
        pass
    return not w.interleaved


def trial_program(variant: str, trial: int, seed: int, fixed: bool, kernel: str | None,
                  strategy: str | None) -> Program:
    """Trial ``trial``'s program: the variant's own, or (variant none) a drawn one."""
    if variant == "none" and not fixed:
        return program_draw(random.Random(f"{seed}:{trial}"))
    p = VARIANTS[variant].program
    s = p.settings_dict
    if kernel is not None:
        s["kernel"] = kernel
    if strategy is not None:
        s["strategy"] = strategy
    return Program(settings_normal(s), p.ops)


def hunt(variant: str = "none", scheduler: str = "pct", budget_executions: int | None = None,
         budget_seconds: float | None = None, seed: int = 0, depth: int = 3, preemptions: int = 1,
         kernel: str | None = None, strategy: str | None = None, fixed: bool = False, jobs: int = 1,
         cluster: str | None = None, per_trial: int | None = None) -> HuntResult:
    """Search for a violation; ``jobs`` > 1 (or ``cluster``, a Dask scheduler address) splits the
    work between processes (jobs.py)."""
    if jobs > 1 or cluster:
        from zswap_conc.check.jobs import hunt_parallel

        return hunt_parallel(dict(variant=variant, scheduler=scheduler, budget_executions=budget_executions,
                                  budget_seconds=budget_seconds, seed=seed, depth=depth, preemptions=preemptions,
                                  kernel=kernel, strategy=strategy, fixed=fixed, per_trial=per_trial),
                             jobs, cluster)
    return hunt_job(variant, scheduler, budget_executions, budget_seconds, seed, depth, preemptions, kernel,
                    strategy, fixed, per_trial)


def hunt_job(variant: str, scheduler: str, budget_executions: int | None, budget_seconds: float | None,
             seed: int, depth: int, preemptions: int, kernel: str | None, strategy: str | None, fixed: bool,
             per_trial: int | None, job: int = 0, jobs: int = 1, stop=None) -> HuntResult:
    """One job's share of a hunt: trials job, job + jobs, ... (a tree search of one fixed program:
    its share of the tree).  ``stop()`` returns the lowest failing trial any job has found."""
    res = HuntResult(variant, scheduler, jobs=jobs)
    drawn = variant == "none" and not fixed
    tree = scheduler in TREE_SEARCHES
    if per_trial is None:
        per_trial = (PER_TRIAL_TREE if drawn else None) if tree else PER_TRIAL
    worlds = Worlds()
    t0 = time.perf_counter()
    k_seen = 0
    try:
        trial = job if (drawn or not tree) else 0
        while True:
            if stop is not None and trial >= stop():
                break
            if budget_executions is not None and res.executions >= budget_executions:
                break
            if budget_seconds is not None and time.perf_counter() - t0 >= budget_seconds:
                break
            program = trial_program(variant, trial, seed, fixed, kernel, strategy)
            world = worlds.get(program)
            if res.trials == 0:
                replay(world, [])  # compile the checked path before the clock starts
                t0 = time.perf_counter()
            res.trials += 1
            part = (job, jobs) if (tree and not drawn) else (0, 1)
            sched = scheduler_make(scheduler, seed=hash((seed, trial)) & 0xFFFFFFFF, depth=depth,
                                   preemptions=preemptions, part=part)
            n = 0
            while per_trial is None or n < per_trial:
                if budget_executions is not None and res.executions >= budget_executions:
                    break
                if budget_seconds is not None and time.perf_counter() - t0 >= budget_seconds:
                    break
                if not sched.new_execution():
                    if not drawn:
                        res.exhausted = True
                    break
                res.executions += 1
                n += 1
                try:
                    ex = execute(world, sched)
                    ex.failed = False
                    res.steps += len(ex.schedule)
                    res.truncated += ex.truncated
                    res.pruned += ex.pruned
                    sched.execution_done(ex)
                except Violation as v:
                    v.execution.failed = True
                    res.steps += len(v.execution.schedule)
                    _found(res, world, program, v, trial)
                    return res
            k_seen = max(k_seen, getattr(sched, "k", 0))
            res.states += getattr(sched, "states", 0)
            res.end_states += len(getattr(sched, "end_states", ()))
            if res.exhausted:
                break
            trial += jobs if (drawn or not tree) else 1
            if tree and not drawn:
                break
    finally:
        res.seconds = time.perf_counter() - t0
        res.pct_k = k_seen
        worlds.close()
    return res


def _found(res: HuntResult, world: World, program: Program, v: Violation, trial: int) -> None:
    res.invariant = v.invariant
    res.trial = trial
    res.program, res.schedule = minimize(world, program, v.execution.schedule, v.invariant)
    v2, res.trace = replay(world, res.schedule, res.program)
    res.detail = v2.detail if v2 is not None else v.detail
    res.kind = classify(world, res.program, res.schedule, res.invariant)
