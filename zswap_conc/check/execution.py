"""One checked execution: a program stepped under a scheduler, invariants after every step.

A ``World`` is a checked arena (``Arena(checked=True)``: the step code's hooks compiled in, see
checked.py) built from a program's settings, filled with slots 0..3 and snapshotted once; every
execution starts from the snapshot.  An ``Execution`` steps the program's operations, one step of
one CPU at a time, as the scheduler picks.

Checked after every step:
  assert_held      every access to a tree, pool, LRU or refcount is made holding its lock, every
                   write to a slot's row or device page holding the slot's busy bit (checked.py)
  oracle           each finished operation against the sequential reference model (oracle.py): a
                   load's result, the pages written to the device
  use-after-free   no operation holds an entry that was freed, or freed and allocated again (the
                   entry row's generation changed since the operation took it); no tree is used
                   after swapoff freed it
  tree invariants  every tree the program touches is sound
  lock order       a CPU nests locks only in the documented order (ops/locking.py): swap_lock ->
                   tree_lock -> lru_lock -> pool_lock / class_lock (a small lockdep)
  deadlock         some CPU with work left can make progress
  recursion bound  no store re-enters store (writeback must not recurse into the store path)
and when the program has finished:
  oracle           the tree and the device hold what the model says, slot by slot
  no leak          every entry is free or live, pool objects and bytes match the live entries,
                   and the LRUs hold exactly the pool's objects
"""

from __future__ import annotations

import hashlib

import numpy as np

from zswap_conc import sync
from zswap_conc.arena import (
    CS_DEPTH,
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
from zswap_conc.check import mutants
from zswap_conc.check.invariants import (
    STEP_FREED,
    STEP_HOOK,
    STEP_LOCK_ORDER,
    STEP_MISMATCH,
    STEP_OK,
    STEP_RECURSION,
    STEP_REUSED,
    checked_step,
    rank_table,
    step_check,
)
from zswap_conc.check.oracle import Oracle, OracleError
from zswap_conc.check.programs import PREFILL, Program, world_config
from zswap_conc.checked import (
    CHK_CODE,
    CHK_CPU,
    CHK_MUTANT,
    CHK_NAMES,
    CHK_OBJ,
    CHK_TREE_FREED,
    CHK_WHAT,
    FP_ALL,
    FP_SLOT,
    W_DEVICE,
    W_LOCK,
    W_NAMES,
    W_SLOT,
)
from zswap_conc.cpu import op_run, shrink_claim, shrink_done
from zswap_conc.index import NIL
from zswap_conc.ops.frame import (
    BLOCKED,
    DONE,
    F_ENTRY,
    F_OP,
    F_PC,
    F_RESULT,
    F_SLOT,
    OP_INVALIDATE,
    OP_LOAD,
    OP_NAMES,
    OP_STORE,
    PROGRESS,
    op_begin,
    op_begin_writeback,
)
from zswap_conc.ops.step import step_name
from zswap_conc.params import P_LOCK_KIND, P_LOCKSTAT, P_MAX_FRAMES, P_POOL_LOCK0, P_TREE_LOCK0
from zswap_conc.pool import PM_FRAMES_USED
from zswap_conc.strategies import tree_for_key
from zswap_conc.verify import V_ACCOUNTING, V_LEAKED, V_LRU_ERROR, V_POOL_ERROR, V_TREE_ERROR, arena_verify

# the documented lock order (ops/locking.py) as ranks: a lock may be taken only under lower ranks
LOCK_RANK = {LOCKCLASS_SWAP: 0, LOCKCLASS_TREE: 1, LOCKCLASS_LRU: 2, LOCKCLASS_POOL: 3, LOCKCLASS_CLASS: 3,
             LOCKCLASS_SWAP_CACHE: 4}
OP_KINDS = {"store": OP_STORE, "load": OP_LOAD, "invalidate": OP_INVALIDATE}
_RANKS = rank_table(LOCK_RANK)
RECURSION_BOUND = 1  # store frames a CPU may have on its stack at once
MAX_STEPS = 4000  # an execution longer than this is cut off (counted, not a violation)
# arrays whose contents make up the state (state hashing): everything the step code reads, less
# statistics, timestamps, scratch buffers and the read-only corpus
_STATE_ARRAYS = ("roots", "xa", "lru_meta", "pool_meta", "pool_heads", "frame_meta", "frame_free", "frame_lru",
                 "obj_owner", "chk_gen", "chk_tree_dead")


class Violation(Exception):
    """An invariant broke; ``invariant`` names it."""

    def __init__(self, invariant: str, detail: str):
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail
        self.execution: Execution | None = None


class World:
    """A program's checked arena, filled and snapshotted once; every execution starts from the
    snapshot.  ``mutant`` (mutants.py) is the hidden knob of the mutation suite; None reads
    ``mutants.active()``."""

    def __init__(self, program: Program, mutant: str | None = None):
        self.program = program
        self.settings = program.settings_dict
        self.ncpus = program.ncpus
        self.cfg = world_config(self.settings, self.ncpus)
        self.arena = Arena(self.cfg, shared=False, checked=True)
        a = self.arena.v
        self.mutant = mutant if mutant is not None else mutants.active()
        a.ctl[0, 0] = 1
        for s in range(PREFILL):
            a.slots[s, SL_BUSY] = 1
            op_run(a, 0, OP_STORE, PHASE_MEASURE, s)
            a.slots[s, SL_BUSY] = 0
        # the pool is now "full" (room 0): the next store must write back the oldest entry (slot 0)
        a.params[P_MAX_FRAMES] = a.pool_meta[:, PM_FRAMES_USED].sum() + int(self.settings.get("room", 0))
        a.chk_ctl[:] = 0
        a.chk_ctl[CHK_MUTANT] = mutants.MUTANTS[self.mutant].id if self.mutant else 0
        self.tree_lock = int(a.params[P_TREE_LOCK0] + tree_for_key(a.params, a.slots[0, SL_KEY]))
        self.pool_lock = int(a.params[P_POOL_LOCK0])
        self.slots = program.slots()
        self.trees = np.array(sorted({int(tree_for_key(a.params, a.slots[s, SL_KEY])) for s in self.slots}),
                              np.int64)
        self.exclusive = self.cfg.load == "exclusive"
        self.recursion_bound = self.cfg.frame_depth if self.settings.get("recursion") == "allowed" else RECURSION_BOUND
        # every execution starts from here: the arrays the step code can write (the corpus is
        # read-only; of the device only the program's slots are ever written)
        self._device_rows = np.array(self.slots, np.int64)
        self.snapshot = {name: getattr(a, name).copy() for name in self.arena.layout.fields
                         if name not in ("corpus", "corpus_clen", "device")}
        self.snapshot_device = a.device[self._device_rows].copy()
        self.buf = np.zeros(a.cpu_out.shape[1], np.uint8)
        rows = sorted({r for s in self.slots for r in (2 * s, 2 * s + 1)})
        self._node_rows = np.array(rows, np.int64)
        self._slot_rows = np.array(self.slots, np.int64)

    def close(self) -> None:
        self.arena.close()

    def execution(self, program: Program | None = None) -> Execution:
        """A fresh execution of ``program`` (this world's own by default; the Hypothesis machine
        gives one with the same settings and CPUs, whose operations it adds as it goes)."""
        a = self.arena.v
        for name, saved in self.snapshot.items():
            getattr(a, name)[...] = saved
        a.device[self._device_rows] = self.snapshot_device
        return Execution(self, program or self.program)


class Execution:
    def __init__(self, world: World, program: Program):
        self.w = world
        self.a = world.arena.v
        self.n = program.ncpus
        self.program = [list(p) for p in program.ops]  # the state machine appends to it
        self.next_op = [0] * self.n
        self.current: list[tuple | None] = [None] * self.n
        self.sub = [0] * self.n  # the step within a driver-level operation (abba, swapoff)
        self.unuse = [-1] * self.n  # swapoff: the slot whose invalidate is running
        self.blocked: set[int] = set()
        self.trace: list[str] = []
        self.schedule: list[int] = []
        self.last: int | None = None
        self.truncated = False
        self.pruned = False
        self.failed = False
        self.footprint: set[int] = set()  # the last step's objects (checked.FP_*), -1 for all
        self.oracle = Oracle(self.a, world.slots, PREFILL, world.exclusive)
        depth = self.a.frames.shape[1]
        self.ref_e = np.full((self.n, depth), NIL, np.int64)  # [cpu, depth]: the entry a frame holds
        self.ref_gen = np.zeros((self.n, depth), np.int64)  # ... and its generation when it took it
        self._out = np.zeros(8, np.int64)
        self._busy = np.zeros(len(world.slots), np.int64)
        self._checked = -1  # the invariants' code when checked_step already ran them this step
        self.want_footprint = False  # a reducing scheduler asks for each step's footprint
        self.claims: dict[int, tuple[int, bytes]] = {}  # slot -> (cpu, device page) of a writeback's claim

    def runnable(self) -> list[int]:
        return [c for c in range(self.n) if self.current[c] is not None or self.next_op[c] < len(self.program[c])]

    def next_label(self, cpu: int) -> str:
        """What ``cpu``'s next step is (as traces print it)."""
        op = self.current[cpu]
        if op is None:
            return "begin"
        d = int(self.a.cpu_state[cpu, CS_DEPTH])
        if op[0] in ("abba", "swapoff") or d == 0:
            return op[0]
        fr = self.a.frames[cpu, d - 1]
        return step_name(int(fr[F_OP]), int(fr[F_PC]))

    # ---- one step ----------------------------------------------------------------------------
    def step(self, cpu: int) -> int:
        a = self.a
        self.schedule.append(cpu)
        self.last = cpu
        a.chk_fp[cpu, 0] = 0
        fp_slots = self._frame_slots(cpu) if self.want_footprint else None
        op = self.current[cpu]
        if op is None:
            op = self.program[cpu][self.next_op[cpu]]
            st, label = self._start(cpu, op)
        elif op[0] == "abba":
            st, label = self._abba_step(cpu, op)
        elif op[0] == "swapoff" and a.cpu_state[cpu, CS_DEPTH] == 0:
            st, label = self._swapoff_step(cpu)
        else:
            st, label = self._op_step(cpu, op)
        self.trace.append(f"cpu{cpu}: {op[0]}{'' if op[0] in ('writeback', 'shrink', 'swapoff') else ' ' + str(op[1])}"
                          f": {label}" + (" [blocked]" if st == BLOCKED else ""))
        if st == BLOCKED:
            self.blocked.add(cpu)
        else:
            self.blocked.clear()
        if self.want_footprint:
            self._footprint(cpu, fp_slots)
        self._check_step(cpu)
        return st

    def _op_step(self, cpu, op):
        a = self.a
        d = int(a.cpu_state[cpu, CS_DEPTH])
        fr = a.frames[cpu, d - 1]
        label = step_name(int(fr[F_OP]), int(fr[F_PC]))
        if d > 1:
            label += f" (nested {d})"
        w = self.w
        out = self._out
        st = checked_step(a, cpu, w._slot_rows, self._busy, self.n, w.trees, _RANKS, w.recursion_bound, self.ref_e,
                          self.ref_gen, out)
        self._checked = int(out[6])
        if out[7]:
            self._claims_after()
        if st == DONE and a.cpu_state[cpu, CS_DEPTH] == 0:
            self._finish(cpu, op)
        return st, label

    def _start(self, cpu, op):
        a = self.a
        kind, arg = op
        if kind in ("abba", "swapoff"):
            self.current[cpu] = op
            self.next_op[cpu] += 1
            self.sub[cpu] = 0
            return PROGRESS, "begin"
        if kind == "writeback":
            op_begin_writeback(a, cpu, 0, PHASE_MEASURE)
        elif kind == "shrink":
            lru = shrink_claim(a, cpu)
            self.next_op[cpu] += 1
            if lru < 0:
                return PROGRESS, "no shrink work queued"
            op_begin_writeback(a, cpu, lru, PHASE_MEASURE)
            self.current[cpu] = op
            return PROGRESS, "shrink work claimed"
        else:
            if a.slots[arg, SL_BUSY] != 0:  # the kernel's page lock: wait for the other operation
                a.chk_fp[cpu, 1] = FP_SLOT + arg
                a.chk_fp[cpu, 0] = 1
                return BLOCKED, "wait for the slot"
            a.slots[arg, SL_BUSY] = cpu + 1
            op_begin(a, cpu, OP_KINDS[kind], arg, PHASE_MEASURE)
        self.current[cpu] = op
        self.next_op[cpu] += 1
        return PROGRESS, "begin (slot claimed)" if kind in OP_KINDS else "begin"

    def _finish(self, cpu, op):
        a = self.a
        kind, arg = op
        self.current[cpu] = None
        if kind == "shrink":
            shrink_done(a, cpu, PHASE_MEASURE)
            return
        if kind == "swapoff":  # one of swapoff's invalidates
            s = self.unuse[cpu]
            a.slots[s, SL_BUSY] = 0
            self.current[cpu] = op
            self._oracle(lambda: self.oracle.invalidate_done(s), cpu)
            return
        if kind not in OP_KINDS:
            return
        a.slots[arg, SL_BUSY] = 0
        res = int(a.frames[cpu, 0, F_RESULT])
        if kind == "store":
            self._oracle(lambda: self.oracle.store_done(arg, res), cpu)
        elif kind == "load":
            self._oracle(lambda: self.oracle.load_done(arg, res, a.cpu_out[cpu]), cpu)
        else:
            self._oracle(lambda: self.oracle.invalidate_done(arg), cpu)

    def _oracle(self, check, cpu):
        try:
            check()
        except OracleError as e:
            raise Violation("oracle", f"cpu{cpu}: {e}") from None

    # ---- writeback claims: the oracle sees a writeback when it releases its victim -------------
    def _claims_after(self):
        a = self.a
        busy = a.slots[self.w._slot_rows, SL_BUSY]
        for i, s in enumerate(self.w.slots):
            now = int(busy[i])
            was = int(self._busy[i])
            if now == was:
                continue
            # busy bits change inside op_step only by a writeback's claim and release (the driver
            # claims and releases those of store, load, invalidate and swapoff outside it)
            if was == 0 and now:
                self.claims[s] = (now - 1, a.device[s].tobytes())
            elif now == 0 and s in self.claims:
                _, before = self.claims.pop(s)
                self._oracle(lambda s=s, before=before: self.oracle.writeback_done(s, before), was - 1)

    # ---- driver-level operations ----------------------------------------------------------------
    def _abba_step(self, cpu, op):
        a = self.a
        order = [self.w.tree_lock, self.w.pool_lock]
        names = ["tree_lock", "pool_lock"]
        if op[1] == "pool,tree":
            order.reverse()
            names.reverse()
        pc = self.sub[cpu]
        kind, stats = int(a.params[P_LOCK_KIND]), int(a.params[P_LOCKSTAT])
        if pc < 2:
            a.chk_fp[cpu, 1] = order[pc]
            a.chk_fp[cpu, 0] = 1
            if not sync.spin_trylock_step(a.locks, a.held, kind, stats, order[pc], cpu, 0):
                return BLOCKED, f"lock {names[pc]}"
            self.sub[cpu] += 1
            return PROGRESS, f"lock {names[pc]}"
        k = 3 - pc  # unlock in reverse order
        a.chk_fp[cpu, 1] = order[k]
        a.chk_fp[cpu, 0] = 1
        sync.spin_unlock(a.locks, a.held, a.lstat, a.lsite, kind, stats, PHASE_MEASURE, order[k], cpu)
        self.sub[cpu] += 1
        if self.sub[cpu] == 4:
            self.current[cpu] = None
        return PROGRESS, f"unlock {names[k]}"

    def _swapoff_step(self, cpu):
        """swapoff: wait until no other CPU has a store, load or invalidate left (try_to_unuse waits
        for every page of the swap type), invalidate each slot in turn (waiting for its busy bit, so
        for a writeback that holds it), then free the swap type's trees."""
        a = self.a
        sub = self.sub[cpu]
        if sub == 0:
            others = [c for c in range(self.n) if c != cpu and (
                (self.current[c] is not None and self.current[c][0] in OP_KINDS)
                or any(k in OP_KINDS for k, _ in self.program[c][self.next_op[c]:]))]
            if others:
                return BLOCKED, f"wait for CPUs {others} (try_to_unuse)"
            self.sub[cpu] = 1
            return PROGRESS, "swap users gone"
        slots = self.w.slots
        i = sub - 1
        if i < len(slots):
            s = slots[i]
            a.chk_fp[cpu, 1] = FP_SLOT + s
            a.chk_fp[cpu, 0] = 1
            if a.slots[s, SL_BUSY] != 0:
                return BLOCKED, f"wait for slot {s}"
            a.slots[s, SL_BUSY] = cpu + 1
            op_begin(a, cpu, OP_INVALIDATE, s, PHASE_MEASURE)
            self.sub[cpu] = sub + 1
            self.unuse[cpu] = s
            return PROGRESS, f"unuse slot {s}"
        a.chk_tree_dead[:] = 1  # one swap type: every tree goes with it
        a.chk_fp[cpu, 1] = FP_ALL
        a.chk_fp[cpu, 0] = 1
        self.current[cpu] = None
        return PROGRESS, "free the swap type's trees"

    # ---- footprints (for the reduction) -----------------------------------------------------------
    def _frame_slots(self, cpu) -> set[int]:
        a = self.a
        out = set()
        for d in range(int(a.cpu_state[cpu, CS_DEPTH])):
            fr = a.frames[cpu, d]
            if fr[F_SLOT] >= 0:
                out.add(FP_SLOT + int(fr[F_SLOT]))
            if fr[F_ENTRY] != NIL:
                out.add(FP_SLOT + int(fr[F_ENTRY]) // 2)
        return out

    def _footprint(self, cpu, before: set[int]) -> None:
        a = self.a
        n = int(a.chk_fp[cpu, 0])
        if n < 0 or FP_ALL in a.chk_fp[cpu, 1:1 + max(n, 0)]:
            self.footprint = {FP_ALL}
            return
        self.footprint = set(int(x) for x in a.chk_fp[cpu, 1:1 + n]) | before | self._frame_slots(cpu)

    # ---- invariants --------------------------------------------------------------------------
    def _check_step(self, cpu_stepped: int) -> None:
        a = self.a
        out = self._out
        code = self._checked
        self._checked = -1
        if code < 0:
            code = step_check(a, self.n, self.w.trees, _RANKS, self.w.recursion_bound, self.ref_e, self.ref_gen, out)
        if code != STEP_OK:
            self._step_violation(code, [int(x) for x in out])
        run = self.runnable()
        if run and all(c in self.blocked for c in run):
            raise Violation("deadlock", f"CPUs {run} all wait and none can make progress")

    def _step_violation(self, code: int, out: list[int]) -> None:
        a = self.a
        if code == STEP_HOOK:
            self._hook_violation(int(a.chk_ctl[CHK_CODE]))
        if code == STEP_MISMATCH:
            raise Violation("integrity", "an operation read stale or wrong data (the code's own check)")
        if code in (STEP_FREED, STEP_REUSED):
            cpu, k, e = out[0], out[1], out[2]
            who = f"cpu{cpu}'s {OP_NAMES[int(a.frames[cpu, k, F_OP])]}"
            if code == STEP_FREED:
                raise Violation("use-after-free", f"{who} holds entry {e}, which was freed")
            raise Violation("use-after-free", f"{who} holds entry {e}, which was freed and allocated again "
                                              f"(generation {out[3]} -> {out[4]})")
        if code == STEP_LOCK_ORDER:
            raise Violation("lock order", f"cpu{out[0]} took {LOCK_CLASS_NAMES[out[2]]} while holding "
                                          f"{LOCK_CLASS_NAMES[out[1]]}; the documented order is swap_lock -> "
                                          f"tree_lock -> lru_lock -> pool_lock/class_lock")
        if code == STEP_RECURSION:
            raise Violation("recursion bound", f"cpu{out[0]}'s store re-entered store through writeback "
                                               f"(depth {out[1]} > {self.w.recursion_bound})")
        raise Violation("tree invariants", f"tree {out[0]} fails check {out[1]}")

    def _hook_violation(self, code: int) -> None:
        a = self.a
        cpu, obj, what = int(a.chk_ctl[CHK_CPU]), int(a.chk_ctl[CHK_OBJ]), int(a.chk_ctl[CHK_WHAT])
        name = CHK_NAMES[code]
        if code == CHK_TREE_FREED:
            raise Violation(name, f"cpu{cpu} used tree {obj} after swapoff freed it")
        if what in (W_SLOT, W_DEVICE):
            raise Violation(name, f"cpu{cpu} wrote slot {obj}'s {W_NAMES[what]} without holding its busy bit")
        lock = f"{LOCK_CLASS_NAMES[int(a.locks[obj, sync.LK_CLASS])]} {obj}"
        if what == W_LOCK:
            raise Violation(name, f"cpu{cpu} released {lock}, which it does not hold")
        raise Violation(name, f"cpu{cpu} touched a {W_NAMES[what]} without holding {lock}")

    def check_end(self) -> None:
        a = self.a
        try:
            self.oracle.check_end(self.w.buf)
        except OracleError as e:
            raise Violation("oracle", str(e)) from None
        v = arena_verify(a, 0)
        if v[V_TREE_ERROR]:
            raise Violation("tree invariants", f"check code {int(v[V_TREE_ERROR])}")
        if v[V_LEAKED] or v[V_ACCOUNTING] or v[V_POOL_ERROR] or v[V_LRU_ERROR]:
            raise Violation("no leak", f"{int(v[V_LEAKED])} entries neither free nor live; pool accounting "
                                       f"{'wrong' if v[V_ACCOUNTING] else 'ok'}; pool check {int(v[V_POOL_ERROR])}; "
                                       f"lru check {int(v[V_LRU_ERROR])}")

    # ---- state hashing (the reduction's visited set) ---------------------------------------------
    def state_hash(self) -> bytes:
        """A digest of everything the rest of the execution depends on: the driver's and the
        oracle's state, each CPU's frames and held locks, the locks' owners and queues, and the
        shared structures (the rows of the program's slots and their entries)."""
        a = self.a
        h = hashlib.blake2b(digest_size=16)
        h.update(repr((self.next_op, self.current, self.sub, self.unuse, sorted(self.blocked), self.oracle.state(),
                       sorted((s, c) for s, (c, _) in self.claims.items()))).encode())
        h.update(self.ref_e.tobytes())
        h.update(self.ref_gen.tobytes())
        locks = a.locks
        h.update(locks[:, sync.LK_OWNER].tobytes())
        h.update((locks[:, sync.LK_WORD] - locks[:, sync.LK_SERVING]).tobytes())
        held = a.held
        for cpu in range(self.n):
            depth = int(held[cpu, sync.H_DEPTH])
            pend = int(held[cpu, sync.H_PEND_LOCK])
            ticket = int(held[cpu, sync.H_PEND_TICKET] - locks[pend, sync.LK_SERVING]) if pend >= 0 else 0
            h.update(repr((depth, pend, ticket, sync.held_locks(held, cpu))).encode())
            d = int(a.cpu_state[cpu, CS_DEPTH])
            h.update(a.frames[cpu, :d].tobytes())
        h.update(a.nodes[self.w._node_rows, :15].tobytes())  # column 15 is a timestamp (LRU age)
        h.update(a.slots[self.w._slot_rows].tobytes())
        h.update(a.device[self.w._slot_rows].tobytes())
        h.update(a.ctl[2].tobytes())
        h.update(a.cpu_state[:, :6].tobytes())
        for name in _STATE_ARRAYS:
            h.update(getattr(a, name).tobytes())
        return h.digest()


def execute(world: World, scheduler, program: Program | None = None) -> Execution:
    """Run one execution to its end under ``scheduler``; raises Violation with ``.execution`` set.
    A scheduler may end an execution early (``next_cpu`` returns None: the rest was explored)."""
    ex = world.execution(program)
    step = 0
    observe = getattr(scheduler, "observe", None)
    if hasattr(scheduler, "bind"):
        scheduler.bind(ex)
    try:
        while True:
            run = ex.runnable()
            if not run:
                break
            if step >= MAX_STEPS:
                ex.truncated = True
                return ex
            cpu = scheduler.next_cpu(run, ex.blocked, ex.last, step)
            if cpu is None:
                ex.pruned = True
                return ex
            ex.step(cpu)
            step += 1
            if observe is not None:
                observe(ex, cpu)
        if hasattr(scheduler, "path_end") and not scheduler.path_end():
            ex.pruned = True  # another job's path
            return ex
        ex.check_end()
    except Violation as v:
        v.execution = ex
        raise
    ex.truncated = False
    return ex
