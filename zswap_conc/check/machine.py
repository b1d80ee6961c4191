"""Hypothesis integration: a strategy that draws schedules, and a RuleBasedStateMachine that
issues store / load / invalidate / writeback from several CPUs on a few slots and steps them in an
order Hypothesis chooses.  The invariants of execution.py are checked after every step, and a
failure shrinks to a short program that Hypothesis prints as runnable code.

Imported by the tests only: Hypothesis is a test dependency.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from zswap_conc.check.execution import Violation, World
from zswap_conc.check.hunt import replay
from zswap_conc.ops.frame import BLOCKED
from zswap_conc.sync import held_locks

NCPUS = 3
SLOTS = 2  # slots 0 and 1 start in the pool: few slots, so operations collide
QUEUE = 3  # operations a CPU may have waiting

_WORLDS: dict[tuple[str, str], World] = {}


def world_get(variant: str, strategy: str = "per-swaptype") -> World:
    """One World per variant for the whole session: each execution restores its snapshot."""
    key = (variant, strategy)
    if key not in _WORLDS:
        _WORLDS[key] = World(variant, strategy)
    return _WORLDS[key]


def schedules(ncpus: int = NCPUS, max_runs: int = 12, max_run: int = 24):
    """Schedules drawn as runs of one CPU's steps (races need one CPU to get a whole operation done
    between two steps of another); any list of CPU ids is a schedule (replay reads it leniently), so
    shrinking is free to cut runs and steps."""
    runs = st.lists(st.tuples(st.integers(0, ncpus - 1), st.integers(1, max_run)), max_size=max_runs)
    return runs.map(lambda rs: [cpu for cpu, n in rs for _ in range(n)])


def schedule_fails(variant: str, schedule: list[int], strategy: str = "per-swaptype") -> Violation | None:
    v, _ = replay(world_get(variant, strategy), schedule)
    return v


class PoolMachine(RuleBasedStateMachine):
    """Operations issued and stepped by Hypothesis on a pool at its limit."""

    variant = "none"

    def __init__(self):
        super().__init__()
        world = world_get(self.variant)
        self.ex = world.execution()
        self.ex.program = [[] for _ in range(world.ncpus)]

    def _idle(self, cpu: int) -> bool:
        return self.ex.current[cpu] is None and self.ex.next_op[cpu] >= len(self.ex.program[cpu])

    @rule(cpu=st.integers(0, NCPUS - 1), op=st.sampled_from(("store", "load", "invalidate", "writeback")),
          slot=st.integers(0, SLOTS - 1))
    def issue(self, cpu, op, slot):
        """Queue an operation; a CPU may have a few queued, so that one run of steps can take it
        through a whole invalidate-then-store between two steps of another CPU."""
        if len(self.ex.program[cpu]) - self.ex.next_op[cpu] < QUEUE:
            self.ex.program[cpu].append((op, slot))

    @precondition(lambda self: bool(self.ex.runnable()))
    @rule(cpu=st.integers(0, NCPUS - 1), steps=st.integers(1, 24))
    def step(self, cpu, steps):
        """Up to ``steps`` steps of one CPU (fewer once it runs out of work or blocks): races need
        one CPU to get a whole operation done between two steps of another."""
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
        a = self.ex.a
        for cpu in range(self.ex.n):
            if self._idle(cpu):
                assert not held_locks(a.held, cpu), f"cpu{cpu} is idle but holds a lock"


def machine_for(variant: str) -> type[PoolMachine]:
    return type(f"PoolMachine_{variant.replace('-', '_')}", (PoolMachine,), {"variant": variant})
