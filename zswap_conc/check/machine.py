"""Hypothesis integration: a strategy that draws schedules, one that draws checked worlds'
settings, and a RuleBasedStateMachine that draws a configuration and a number of CPUs, then issues
store / load / invalidate / writeback / shrink from those CPUs on a few slots and steps them in an
order Hypothesis chooses.  The invariants of execution.py (assert_held, the oracle, generations,
lockdep, ...) are checked after every step, and a failure shrinks to a short program that
Hypothesis prints as runnable code.

Imported by the tests only: Hypothesis is a test dependency.  README "Writing a race test for your
own protocol change" shows how to use it.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zswap_conc.check.execution import Violation, World
from zswap_conc.check.hunt import Worlds, replay
from zswap_conc.check.programs import (
    CPUS_MAX,
    CPUS_MIN,
    SETTING_VALUES,
    SLOTS,
    Program,
    recursion_note,
    settings_fit,
    settings_normal,
)
from zswap_conc.check.variants import VARIANTS
from zswap_conc.ops.frame import BLOCKED
from zswap_conc.sync import held_locks

QUEUE = 3  # operations a CPU may have waiting

_WORLDS = Worlds(keep=24)


def world_get(program: Program) -> World:
    """One World per (settings, CPUs) for the whole session: each execution restores its snapshot."""
    return _WORLDS.get(program)


def schedules(ncpus: int = 3, max_runs: int = 12, max_run: int = 24):
    """Schedules drawn as runs of one CPU's steps (races need one CPU to get a whole operation done
    between two steps of another); any list of CPU ids is a schedule (replay reads it leniently), so
    shrinking is free to cut runs and steps."""
    runs = st.lists(st.tuples(st.integers(0, ncpus - 1), st.integers(1, max_run)), max_size=max_runs)
    return runs.map(lambda rs: [cpu for cpu, n in rs for _ in range(n)])


@st.composite
def world_settings(draw) -> dict:
    """A kernel profile and some of the other settings drawn away from it (those that cannot run
    with the profile are dropped); shrinks toward the first profile with no overrides."""
    s = {"kernel": draw(st.sampled_from(SETTING_VALUES["kernel"]))}
    for k in ("writeback", "lru", "allocator", "pools", "strategy"):
        v = draw(st.none() | st.sampled_from(SETTING_VALUES[k]))
        if v is not None:
            s[k] = v
    s["room"] = draw(st.sampled_from((0, 1)))
    return recursion_note(settings_fit(s))


def schedule_fails(variant: str, schedule: list[int]) -> Violation | None:
    """Does the variant's own program break an invariant under ``schedule``?"""
    program = VARIANTS[variant].program
    v, _ = replay(world_get(program), schedule)
    return v


class PoolMachine(RuleBasedStateMachine):
    """Operations issued and stepped by Hypothesis on a pool at its limit.  ``variant`` pins the
    settings to a named variant's (its protocol); ``none`` draws them."""

    variant = "none"

    def __init__(self):
        super().__init__()
        self.ex = None
        self.n = 0

    @initialize(settings=world_settings(), ncpus=st.integers(CPUS_MIN, CPUS_MAX))
    def setup(self, settings, ncpus):
        if self.variant != "none":  # the variant's own world: its settings and its CPUs
            settings = VARIANTS[self.variant].program.settings_dict
            ncpus = VARIANTS[self.variant].program.ncpus
        program = Program(settings_normal(settings), ((),) * ncpus)
        self.ex = world_get(program).execution(program)
        self.n = ncpus

    def _idle(self, cpu: int) -> bool:
        return self.ex.current[cpu] is None and self.ex.next_op[cpu] >= len(self.ex.program[cpu])

    @rule(cpu=st.integers(0, CPUS_MAX - 1), op=st.sampled_from(("store", "load", "invalidate", "writeback", "shrink")),
          slot=st.integers(0, SLOTS - 1))
    def issue(self, cpu, op, slot):
        """Queue an operation; a CPU may have a few queued, so that one run of steps can take it
        through a whole invalidate-then-store between two steps of another CPU."""
        cpu %= self.n
        if len(self.ex.program[cpu]) - self.ex.next_op[cpu] < QUEUE:
            self.ex.program[cpu].append((op, slot if op in ("store", "load", "invalidate") else 0))

    @precondition(lambda self: self.ex is not None and bool(self.ex.runnable()))
    @rule(cpu=st.integers(0, CPUS_MAX - 1), steps=st.integers(1, 24))
    def step(self, cpu, steps):
        """Up to ``steps`` steps of one CPU (fewer once it runs out of work or blocks): races need
        one CPU to get a whole operation done between two steps of another."""
        cpu %= self.n
        for _ in range(steps):
            run = self.ex.runnable()
            if not run:
                return
            if cpu not in run:
                cpu = run[0]
            if self.ex.step(cpu) == BLOCKED:  # raises Violation when an invariant breaks
                return

    def teardown(self):
        """Let every CPU finish what it has, lowest first, then check the quiescent pool."""
        if self.ex is None:
            return
        for _ in range(2000):
            run = self.ex.runnable()
            if not run:
                break
            free = [c for c in run if c not in self.ex.blocked] or run
            self.ex.step(free[0])
        if not self.ex.runnable():
            self.ex.check_end()

    @invariant()
    def no_lock_held_when_idle(self):
        if self.ex is None:
            return
        a = self.ex.a
        for cpu in range(self.ex.n):
            if self._idle(cpu):
                assert not held_locks(a.held, cpu), f"cpu{cpu} is idle but holds a lock"


def machine_for(variant: str) -> type[PoolMachine]:
    return type(f"PoolMachine_{variant.replace('-', '_')}", (PoolMachine,), {"variant": variant})
