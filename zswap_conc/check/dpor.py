"""Reduced bounded search: the preemption-bounded DFS of dfs.py with a visited-state table over the
arena (states reached twice are explored once), and optional sleep sets (Godefroid 1996:
interleavings that only reorder independent steps are explored once).  Not DPOR proper: no
backtracking sets are computed; the name is the scheduler slot DESIGN.md gives it.

- Sleep sets: after the subtree of CPU t's step at a node has been explored, t sleeps in the
  subtrees of the node's other choices for as long as the steps taken there are independent of
  t's; a sleeping CPU is not scheduled.  Two steps are independent when their footprints are
  disjoint: the objects the step code touched (checked.py: each lock id stands for what it
  protects, a slot for its row, its entries and its device page, one object for the pool's
  global counters), plus the slots of the CPU's frames.
- Visited states: ``Execution.state_hash`` digests the driver's and oracle's state, every CPU's
  frames and held locks, and the shared structures.  A state already explored with no more
  preemptions spent and no more CPUs asleep is not explored again: the execution ends there.

Both prune only interleavings the exhaustive search would also run, but a preemption bound breaks
the plain argument: the equivalent interleaving that a sleep set relies on may need more preemptions
than the bound allows (Coons, Musuvathi and McKinley, "Bounded partial-order reduction", OOPSLA
2013), and a footprint that misses an object makes two dependent steps look independent.  Measured
against dfs.py (bench/hunt_figures.py), plain sleep sets lost 3 of 13 distinct end states on the
default program at bound 1; emptying the sleep set after every preempting step fixed that program but
still lost 2 of 21 on the 2023 race's program under 6.6.  So sleep sets are **off by default**
(``sleep=True`` turns them on, for measurement): the hunt's ``dpor`` is the bounded DFS with the
visited-state table, whose key includes the CPU that ran last (a switch away from it is what costs a
preemption).  That reaches the same distinct end states as dfs.py on every program measured, in 2 to
10 times fewer schedules; it is a measured property, not a proof.  Parallel jobs split the tree as
dfs.py does.
"""

from __future__ import annotations

from zswap_conc.check.dfs import SPLIT_DEPTH, part_owner, stack_backtrack
from zswap_conc.check.scheduler import Scheduler, default_choice
from zswap_conc.checked import FP_ALL


def independent(f1: frozenset, f2: frozenset) -> bool:
    return FP_ALL not in f1 and FP_ALL not in f2 and not (f1 & f2)


class DporScheduler(Scheduler):
    name = "dpor"

    def __init__(self, bound: int = 1, part: tuple[int, int] = (0, 1), sleep: bool = False):
        self.bound = bound
        self.use_sleep = sleep  # off by default: see the module's docstring
        self.job, self.jobs = part
        self.stack: list[dict] = []
        self.pos = 0
        self.started = False
        self.disowned = False
        self.visited: dict[bytes, list[tuple[int, frozenset]]] = {}  # state -> (preemptions, sleeping CPUs)
        self.end_states: set[bytes] = set()
        self.pruned_visited = 0  # executions ended at a state seen before
        self.ex = None
        self.sleep: dict[int, frozenset] = {}  # CPUs asleep at the next node, with their footprints

    @property
    def states(self) -> int:
        """Distinct states explored."""
        return len(self.visited)

    def bind(self, ex) -> None:
        self.ex = ex
        ex.want_footprint = self.use_sleep  # footprints are for the sleep sets only

    @staticmethod
    def _sleep_explored(node: dict) -> None:
        if "fp" in node:  # its choice's subtree is explored: that CPU sleeps in the next ones
            node["done"][node["choice"]] = node.pop("fp")

    def new_execution(self) -> bool:
        if self.started and not stack_backtrack(self.stack, self._sleep_explored):
            return False
        self.started = True
        self.pos = 0
        self.branches: list[int] = []
        self.disowned = False
        self.sleep = {}
        return True

    def path_end(self) -> bool:
        if self.jobs > 1 and len(self.branches) < SPLIT_DEPTH and not self.disowned:
            self.disowned = part_owner(tuple(self.branches), self.jobs) != self.job
        return not self.disowned

    def _split(self, node: dict) -> None:
        if self.jobs == 1 or not node["branching"] or len(self.branches) >= SPLIT_DEPTH:
            return
        self.branches.append(node["idx"])
        if len(self.branches) == SPLIT_DEPTH and part_owner(tuple(self.branches), self.jobs) != self.job:
            self.disowned = True

    def observe(self, ex, cpu) -> None:
        """After node ``pos - 1``'s step: its footprint, and the sleep set of the next node."""
        node = self.stack[self.pos - 1]
        fp = frozenset(ex.footprint)
        node["fp"] = fp
        asleep = dict(node["sleep"])
        asleep.update(node["done"])
        if self.use_sleep and node["after"] == node["before"]:  # a preempting step wakes every CPU
            self.sleep = {t: f for t, f in asleep.items() if t != cpu and independent(f, fp)}
        else:
            self.sleep = {}

    def execution_done(self, ex) -> None:
        if not ex.pruned and not ex.failed and not ex.truncated:
            self.end_states.add(ex.state_hash())

    def _seen(self, h: bytes, spent: int, asleep: frozenset) -> bool:
        entries = self.visited.setdefault(h, [])
        for p, z in entries:
            if p <= spent and z <= asleep:
                return True
        entries.append((spent, asleep))
        return False

    def next_cpu(self, runnable, blocked, current, step):
        if self.disowned:
            return None
        if self.pos < len(self.stack):
            node = self.stack[self.pos]
            node["sleep"] = self.sleep
            self.pos += 1
            self._split(node)
            c = node["choice"]
            return c if c in runnable else default_choice(runnable, blocked, current)
        before = self.stack[-1]["after"] if self.stack else 0
        asleep = self.sleep
        # the CPU that ran last is part of the state: it decides what a switch costs
        if self._seen(self.ex.state_hash() + bytes([255 if current is None else current]), before,
                      frozenset(asleep)):
            self.pruned_visited += 1
            return None
        free = [c for c in runnable if c not in blocked] or runnable
        awake = [c for c in free if c not in asleep]
        if not awake:
            return None  # every enabled step is asleep: this state's interleavings were explored
        default = default_choice(runnable, blocked, current)
        if default not in awake:
            default = awake[0]
        can_continue = current in free

        def cost(c):
            return 1 if can_continue and c != current else 0

        if before + cost(default) > self.bound:
            within = [c for c in awake if before + cost(c) <= self.bound]
            if not within:
                return None
            default = within[0]
        todo = [c for c in awake if c != default and before + cost(c) <= self.bound]
        node = {"choice": default, "todo": todo, "before": before, "current": current, "idx": 0,
                "can_continue": can_continue, "branching": bool(todo), "sleep": asleep, "done": {}}
        node["after"] = before + cost(default)
        self.stack.append(node)
        self.pos += 1
        self._split(node)
        return default
