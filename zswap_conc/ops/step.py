"""The dispatcher: one step of whatever operation is on top of a CPU's frame stack.

Both ways of running the operations enter here: a worker's compiled loop (``cpu.py``) calls
``op_step`` back to back, and the race hunter (``check/``) calls it for the CPU its scheduler picks.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.arena import CS_DEPTH
from zswap_conc.jit import HOT
from zswap_conc.ops.entry import FREE_STEP_NAMES, entry_free_step
from zswap_conc.ops.frame import (
    F_OP,
    F_PC,
    OP_INVALIDATE,
    OP_LOAD,
    OP_NAMES,
    OP_STORE,
    OP_WRITEBACK,
    PC_FREE_FIRST,
    PC_SP_LOCK,
)
from zswap_conc.ops.invalidate import INVALIDATE_STEP_NAMES, invalidate_step
from zswap_conc.ops.load import LOAD_STEP_NAMES, load_step
from zswap_conc.ops.locking import SITE_FREE, SITE_PCS, SITE_SWAP_PATH
from zswap_conc.ops.store import STORE_STEP_NAMES, store_step
from zswap_conc.ops.swappath import SWAP_PATH_STEP_NAMES, swap_path_step
from zswap_conc.ops.writeback import WRITEBACK_STEP_NAMES, writeback_step

STEP_NAMES = {OP_STORE: STORE_STEP_NAMES, OP_LOAD: LOAD_STEP_NAMES, OP_INVALIDATE: INVALIDATE_STEP_NAMES,
              OP_WRITEBACK: WRITEBACK_STEP_NAMES}
assert all(len(names) <= SITE_FREE for names in STEP_NAMES.values()), "an operation has more steps than site ids"


def step_name(op: int, pc: int) -> str:
    """The label of step ``pc`` of operation ``op``, as traces print it."""
    if pc >= PC_SP_LOCK:
        return SWAP_PATH_STEP_NAMES[pc - PC_SP_LOCK]
    if pc >= PC_FREE_FIRST:
        return FREE_STEP_NAMES[pc - PC_FREE_FIRST]
    return STEP_NAMES[op][pc]


def site_name(site: int) -> str:
    """The label of a lock call site (``locking.lock_site``): the operation and its lock step."""
    op, pc = divmod(site, SITE_PCS)
    if pc == SITE_SWAP_PATH:
        return f"{OP_NAMES[op]}: swap path"
    step = step_name(op, PC_FREE_FIRST if pc == SITE_FREE else pc)
    return step if step.startswith(OP_NAMES[op]) else f"{OP_NAMES[op]}: {step}"


@njit(**HOT)
def op_step(a, cpu) -> int:
    """Execute one step of ``cpu``'s innermost operation: PROGRESS, BLOCKED or DONE."""
    depth = a.cpu_state[cpu, CS_DEPTH]
    f = a.frames[cpu, depth - 1]
    if f[F_PC] >= PC_SP_LOCK:
        return swap_path_step(a, cpu, f)
    if f[F_PC] >= PC_FREE_FIRST:
        return entry_free_step(a, cpu, f)
    op = f[F_OP]
    if op == OP_STORE:
        return store_step(a, cpu, f, depth)
    if op == OP_LOAD:
        return load_step(a, cpu, f)
    if op == OP_INVALIDATE:
        return invalidate_step(a, cpu, f)
    return writeback_step(a, cpu, f, depth)
