"""Bounded-preemption depth-first search (CHESS-style): every schedule with at most ``bound``
preemptions, each exactly once.  A preemption is switching away from a CPU that could have gone on
(runnable and not blocked).  Stateless: each execution replays a prefix of choices, then runs
non-preemptively; afterwards the deepest choice with an untried alternative inside the bound is
flipped.

Parallel jobs split the tree (``part`` = (job, jobs)): a path belongs to the job that the choices at
its first SPLIT_DEPTH branching points hash to; a job ends every other path right after that point,
so the jobs together explore each path once, and each job's order is fixed (reproducible).
"""

from __future__ import annotations

import zlib

from zswap_conc.check.scheduler import Scheduler, default_choice

SPLIT_DEPTH = 2  # branching points whose choices decide which job owns a path


def part_owner(key: tuple, jobs: int) -> int:
    return zlib.crc32(repr(key).encode()) % jobs


def stack_backtrack(stack: list[dict], on_node=None) -> bool:
    """Move the search to its next path: the deepest node with an alternative left takes it (the
    nodes below it are dropped); False when none is left.  ``on_node(node)`` sees each node looked
    at, before its alternatives are (dpor moves the explored choice into the node's sleep set)."""
    while stack:
        node = stack[-1]
        if on_node is not None:
            on_node(node)
        if node["todo"]:
            c = node["todo"].pop(0)
            node["choice"] = c
            node["idx"] += 1
            node["after"] = node["before"] + (1 if node["can_continue"] and c != node["current"] else 0)
            return True
        stack.pop()
    return False


class DfsScheduler(Scheduler):
    name = "dfs"

    def __init__(self, bound: int = 1, part: tuple[int, int] = (0, 1)):
        self.bound = bound
        self.job, self.jobs = part
        # one node per step: the choice made, alternatives left inside the bound, preemptions so far
        self.stack: list[dict] = []
        self.pos = 0
        self.started = False
        self.disowned = False  # this path belongs to another job
        self.end_states: set[bytes] = set()  # distinct states at the end of an execution

    def new_execution(self) -> bool:
        if self.started and not stack_backtrack(self.stack):
            return False
        self.started = True
        self.pos = 0
        self.branches: list[int] = []
        self.disowned = False
        return True

    def _split(self, node: dict) -> bool:
        """Note a branching choice; False once the path is known to be another job's."""
        if self.jobs == 1 or not node["branching"] or len(self.branches) >= SPLIT_DEPTH:
            return True
        self.branches.append(node["idx"])
        if len(self.branches) == SPLIT_DEPTH and part_owner(tuple(self.branches), self.jobs) != self.job:
            self.disowned = True
        return True

    def path_end(self) -> bool:
        """The execution reached its end: is the path this job's (one with fewer branching points
        than SPLIT_DEPTH is decided by those it has)?"""
        if self.jobs > 1 and len(self.branches) < SPLIT_DEPTH and not self.disowned:
            self.disowned = part_owner(tuple(self.branches), self.jobs) != self.job
        return not self.disowned

    def execution_done(self, ex) -> None:
        if not ex.pruned and not ex.failed and not ex.truncated:
            self.end_states.add(ex.state_hash())

    def next_cpu(self, runnable, blocked, current, step):
        if self.disowned:
            return None
        if self.pos < len(self.stack):
            node = self.stack[self.pos]
            self.pos += 1
            self._split(node)
            c = node["choice"]
            return c if c in runnable else default_choice(runnable, blocked, current)
        before = self.stack[-1]["after"] if self.stack else 0
        free = [c for c in runnable if c not in blocked] or runnable
        default = default_choice(runnable, blocked, current)
        can_continue = current in free

        def cost(c):
            return 1 if can_continue and c != current else 0

        todo = [c for c in free if c != default and before + cost(c) <= self.bound]
        node = {"choice": default, "todo": todo, "before": before, "current": current, "idx": 0,
                "can_continue": can_continue, "branching": bool(todo)}
        node["after"] = before + cost(default)
        self.stack.append(node)
        self.pos += 1
        self._split(node)
        return default
