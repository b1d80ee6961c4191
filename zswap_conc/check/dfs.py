"""Bounded-preemption depth-first search (CHESS-style): every schedule with at most ``bound``
preemptions, each exactly once.  A preemption is switching away from a CPU that could have gone on
(runnable and not blocked).  Stateless: each execution replays a prefix of choices, then runs
non-preemptively; afterwards the deepest choice with an untried alternative inside the bound is
flipped."""

from __future__ import annotations

from zswap_conc.check.scheduler import Scheduler, default_choice


class DfsScheduler(Scheduler):
    name = "dfs"

    def __init__(self, bound: int = 1):
        self.bound = bound
        # one node per step: the choice made, alternatives left inside the bound, preemptions so far
        self.stack: list[dict] = []
        self.pos = 0
        self.started = False

    def new_execution(self) -> bool:
        if self.started:
            while self.stack:
                node = self.stack[-1]
                if node["todo"]:
                    c = node["todo"].pop(0)
                    node["choice"] = c
                    node["after"] = node["before"] + (1 if node["can_continue"] and c != node["current"] else 0)
                    break
                self.stack.pop()
            if not self.stack:
                return False
        self.started = True
        self.pos = 0
        return True

    def next_cpu(self, runnable, blocked, current, step):
        if self.pos < len(self.stack):
            node = self.stack[self.pos]
            self.pos += 1
            c = node["choice"]
            return c if c in runnable else default_choice(runnable, blocked, current)
        before = self.stack[-1]["after"] if self.stack else 0
        free = [c for c in runnable if c not in blocked] or runnable
        default = default_choice(runnable, blocked, current)
        can_continue = current in free

        def cost(c):
            return 1 if can_continue and c != current else 0

        todo = [c for c in free if c != default and before + cost(c) <= self.bound]
        node = {"choice": default, "todo": todo, "before": before, "current": current,
                "can_continue": can_continue}
        node["after"] = before + cost(default)
        self.stack.append(node)
        self.pos += 1
        return default
