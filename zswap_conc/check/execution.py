"""One checked execution: a variant's program stepped under a scheduler, invariants after every step.

Invariants checked after every step:
  integrity        a completed load returned the newest data for its slot (and, at the end, every
                   live entry and every device slot holds its newest data)
  use-after-free   no operation holds a reference to a freed entry
  tree invariants  every tree the program touches is a sound red-black tree
  lock order       a CPU nests locks only in the documented order (ops/locking.py): swap_lock ->
                   tree_lock -> lru_lock -> pool_lock / class_lock (a small lockdep over the held stacks)
  deadlock         some CPU with work left can make progress
  recursion bound  no store re-enters store (writeback must not recurse into the store path)
and when the program has finished:
  no leak          every entry is free or live, pool objects and bytes match the live entries,
                   and the LRUs hold exactly the pool's objects
"""

from __future__ import annotations

from zswap_conc import sync
from zswap_conc.arena import (
    CS_DEPTH,
    CS_STORE_DEPTH,
    LOCK_CLASS_NAMES,
    LOCKCLASS_CLASS,
    LOCKCLASS_LRU,
    LOCKCLASS_POOL,
    LOCKCLASS_SWAP,
    LOCKCLASS_SWAP_CACHE,
    LOCKCLASS_TREE,
    PHASE_MEASURE,
    SL_BUSY,
    SL_KEY,
    Arena,
)
from zswap_conc.check.variants import VARIANTS
from zswap_conc.config import Config, validate
from zswap_conc.cpu import op_run
from zswap_conc.index import NIL, index_check
from zswap_conc.ops.counters import C_MISMATCH
from zswap_conc.ops.entry import E_STATE, ENTRY_FREE
from zswap_conc.ops.frame import (
    BLOCKED,
    DONE,
    F_ENTRY,
    F_OP,
    F_PC,
    F_RESULT,
    OP_INVALIDATE,
    OP_LOAD,
    OP_NAMES,
    OP_STORE,
    OP_WRITEBACK,
    PROGRESS,
    RES_MISMATCH,
    op_begin,
    op_begin_writeback,
)
from zswap_conc.ops.step import op_step, step_name
from zswap_conc.params import P_LOCK_KIND, P_LOCKSTAT, P_MAX_FRAMES, P_POOL_LOCK0, P_TREE_LOCK0
from zswap_conc.pool import PM_FRAMES_USED
from zswap_conc.strategies import tree_for_key
from zswap_conc.verify import (
    V_ACCOUNTING,
    V_LEAKED,
    V_LRU_ERROR,
    V_MISMATCHES,
    V_POOL_ERROR,
    V_TREE_ERROR,
    arena_verify,
)

PREFILL = 4  # slots 0..3 are stored before the program runs
# the documented lock order (ops/locking.py) as ranks: a lock may be taken only under lower ranks
LOCK_RANK = {LOCKCLASS_SWAP: 0, LOCKCLASS_TREE: 1, LOCKCLASS_LRU: 2, LOCKCLASS_POOL: 3, LOCKCLASS_CLASS: 3,
             LOCKCLASS_SWAP_CACHE: 4}
OP_KINDS = {"store": OP_STORE, "load": OP_LOAD, "invalidate": OP_INVALIDATE}
RECURSION_BOUND = 1  # store frames a CPU may have on its stack at once
MAX_STEPS = 4000  # an execution longer than this is cut off (counted, not a violation)


class Violation(Exception):
    """An invariant broke; ``invariant`` names it."""

    def __init__(self, invariant: str, detail: str):
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail


class World:
    """A variant's arena, filled and snapshotted once; every execution starts from the snapshot."""

    def __init__(self, variant: str, strategy: str = "per-swaptype", kernel: str | None = None):
        spec = VARIANTS[variant]
        self.spec = spec
        self.program = spec.program
        self.ncpus = len(spec.program)
        settings = dict(strategy=strategy, buckets=16, cpus=max(3, self.ncpus), clusters_per_cpu=1,
                        pool_size=512 * 4096, swap_size=1 << 30, writeback="direct", think_ns=0)
        if kernel is not None:
            settings["kernel"] = kernel
        settings.update(spec.config)
        cfg = Config(**settings)
        self.cfg = validate(cfg)
        self.arena = Arena(self.cfg, shared=False)
        a = self.arena.v
        a.ctl[0, 0] = 1
        for s in range(PREFILL):
            op_run(a, 0, OP_STORE, PHASE_MEASURE, s)
        # the pool is now "full": the next store must write back the oldest entry (slot 0)
        a.params[P_MAX_FRAMES] = a.pool_meta[:, PM_FRAMES_USED].sum()
        self.tree_lock = int(a.params[P_TREE_LOCK0] + tree_for_key(a.params, a.slots[0, SL_KEY]))
        self.pool_lock = int(a.params[P_POOL_LOCK0])
        self.trees = sorted({int(tree_for_key(a.params, a.slots[s, SL_KEY])) for s in range(8)})
        self.snapshot = self.arena.snapshot()

    def close(self) -> None:
        self.arena.close()

    def execution(self) -> Execution:
        self.arena.restore(self.snapshot)
        return Execution(self)


class Execution:
    def __init__(self, world: World):
        self.w = world
        self.a = world.arena.v
        self.n = world.ncpus
        self.program = [list(p) for p in world.program]  # the state machine appends to it
        self.next_op = [0] * self.n
        self.current: list[tuple | None] = [None] * self.n
        self.abba_pc = [0] * self.n
        self.blocked: set[int] = set()
        self.trace: list[str] = []
        self.schedule: list[int] = []
        self.last: int | None = None

    def runnable(self) -> list[int]:
        return [c for c in range(self.n) if self.current[c] is not None or self.next_op[c] < len(self.program[c])]

    # ---- one step ----------------------------------------------------------------------------
    def step(self, cpu: int) -> int:
        a = self.a
        self.schedule.append(cpu)
        self.last = cpu
        op = self.current[cpu]
        if op is None:
            op = self.program[cpu][self.next_op[cpu]]
            st, label = self._start(cpu, op)
        elif op[0] == "abba":
            st, label = self._abba_step(cpu, op)
        else:
            d = int(a.cpu_state[cpu, CS_DEPTH])
            fr = a.frames[cpu, d - 1]
            label = step_name(int(fr[F_OP]), int(fr[F_PC]))
            if d > 1:
                label += f" (nested {d})"
            st = op_step(a, cpu)
            if st == DONE and a.cpu_state[cpu, CS_DEPTH] == 0:
                self._finish(cpu, op)
        self.trace.append(f"cpu{cpu}: {op[0]} {op[1]}: {label}" + (" [blocked]" if st == BLOCKED else ""))
        if st == BLOCKED:
            self.blocked.add(cpu)
        else:
            self.blocked.clear()
        self._check_step()
        return st

    def _start(self, cpu, op):
        a = self.a
        kind, arg = op
        if kind == "abba":
            self.current[cpu] = op
            self.next_op[cpu] += 1
            self.abba_pc[cpu] = 0
            return PROGRESS, "begin"
        if kind == "writeback":
            op_begin_writeback(a, cpu, 0, PHASE_MEASURE)
        else:
            if a.slots[arg, SL_BUSY] != 0:  # the kernel's page lock: wait for the other operation
                return BLOCKED, "wait for the slot"
            a.slots[arg, SL_BUSY] = cpu + 1
            op_begin(a, cpu, OP_KINDS[kind], arg, PHASE_MEASURE)
        self.current[cpu] = op
        self.next_op[cpu] += 1
        return PROGRESS, "begin (slot claimed)"

    def _finish(self, cpu, op):
        a = self.a
        kind, arg = op
        if kind in OP_KINDS:
            a.slots[arg, SL_BUSY] = 0
        if kind == "load" and a.frames[cpu, 0, F_RESULT] == RES_MISMATCH:
            raise Violation("integrity", f"cpu{cpu}'s load of slot {arg} did not return the newest data")
        self.current[cpu] = None

    def _abba_step(self, cpu, op):
        a = self.a
        order = [self.w.tree_lock, self.w.pool_lock]
        names = ["tree_lock", "pool_lock"]
        if op[1] == "pool,tree":
            order.reverse()
            names.reverse()
        pc = self.abba_pc[cpu]
        kind, stats = int(a.params[P_LOCK_KIND]), int(a.params[P_LOCKSTAT])
        if pc < 2:
            if not sync.spin_trylock_step(a.locks, a.held, kind, stats, order[pc], cpu, 0):
                return BLOCKED, f"lock {names[pc]}"
            self.abba_pc[cpu] += 1
            return PROGRESS, f"lock {names[pc]}"
        k = 3 - pc  # unlock in reverse order
        sync.spin_unlock(a.locks, a.held, a.lstat, a.lsite, kind, stats, PHASE_MEASURE, order[k], cpu)
        self.abba_pc[cpu] += 1
        if self.abba_pc[cpu] == 4:
            self.current[cpu] = None
        return PROGRESS, f"unlock {names[k]}"

    # ---- invariants --------------------------------------------------------------------------
    def _check_step(self) -> None:
        a = self.a
        if a.cnt[PHASE_MEASURE, :, C_MISMATCH].sum() > 0:
            raise Violation("integrity", "an operation read stale or wrong data")
        for cpu in range(self.n):
            for k in range(int(a.cpu_state[cpu, CS_DEPTH])):
                fr = a.frames[cpu, k]
                e = int(fr[F_ENTRY])
                if int(fr[F_OP]) in (OP_LOAD, OP_WRITEBACK) and e != NIL and a.nodes[e, E_STATE] == ENTRY_FREE:
                    raise Violation("use-after-free",
                                    f"cpu{cpu}'s {OP_NAMES[int(fr[F_OP])]} holds entry {e}, which was freed")
            held = sync.held_locks(a.held, cpu)
            for k in range(1, len(held)):
                outer = int(a.locks[held[k - 1], sync.LK_CLASS])
                inner = int(a.locks[held[k], sync.LK_CLASS])
                if LOCK_RANK[outer] >= LOCK_RANK[inner]:
                    raise Violation("lock order", f"cpu{cpu} took {LOCK_CLASS_NAMES[inner]} while holding "
                                                  f"{LOCK_CLASS_NAMES[outer]}; the documented order is swap_lock -> "
                                                  f"tree_lock -> lru_lock -> pool_lock/class_lock")
            if a.cpu_state[cpu, CS_STORE_DEPTH] > RECURSION_BOUND:
                raise Violation("recursion bound", f"cpu{cpu}'s store re-entered store through writeback "
                                                   f"(depth {int(a.cpu_state[cpu, CS_STORE_DEPTH])} > "
                                                   f"{RECURSION_BOUND})")
        for t in self.w.trees:
            c = index_check(a.params, a.roots, a.nodes, a.xa, t)
            if c < 0:
                raise Violation("tree invariants", f"tree {t} fails check {c}")
        run = self.runnable()
        if run and all(c in self.blocked for c in run):
            raise Violation("deadlock", f"CPUs {run} all wait and none can make progress")

    def check_end(self) -> None:
        v = arena_verify(self.a, 0)
        if v[V_MISMATCHES]:
            raise Violation("integrity", f"{int(v[V_MISMATCHES])} slot(s) do not hold their newest data")
        if v[V_TREE_ERROR]:
            raise Violation("tree invariants", f"check code {int(v[V_TREE_ERROR])}")
        if v[V_LEAKED] or v[V_ACCOUNTING] or v[V_POOL_ERROR] or v[V_LRU_ERROR]:
            raise Violation("no leak", f"{int(v[V_LEAKED])} entries neither free nor live; pool accounting "
                                       f"{'wrong' if v[V_ACCOUNTING] else 'ok'}; pool check {int(v[V_POOL_ERROR])}; "
                                       f"lru check {int(v[V_LRU_ERROR])}")


def execute(world: World, scheduler, on_step=None) -> Execution:
    """Run one execution to its end under ``scheduler``; raises Violation with ``.execution`` set."""
    ex = world.execution()
    step = 0
    try:
        while True:
            run = ex.runnable()
            if not run:
                break
            if step >= MAX_STEPS:
                ex.truncated = True
                return ex
            cpu = scheduler.next_cpu(run, ex.blocked, ex.last, step)
            ex.step(cpu)
            step += 1
        ex.check_end()
    except Violation as v:
        v.execution = ex
        raise
    ex.truncated = False
    return ex

