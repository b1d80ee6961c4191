"""The measured path compiles without reference counting (jit.HOT): with NRT on, every step that
passes the arena paid for atomic increments on its ~27 arrays (measured here: a blocked op_step
costs ~110-180 ns without NRT and ~300-400 ns with it; the benchmark is bench/test_bench_core.py)."""

import importlib
import pkgutil

import pytest
from numba import njit
from numba.core.registry import CPUDispatcher

import zswap_conc
from zswap_conc.arena import CTL_GO, Arena
from zswap_conc.config import Config, validate
from zswap_conc.jit import HOT

# compiled functions that allocate (checkers, verifiers) keep NRT; they never run in a worker's loop
CHECKERS = {"arena_verify", "tree_check", "pool_check", "zbud_check", "zsmalloc_check", "lru_check", "frame_lru_check",
            "index_check", "xa_check", "_read_cycles"}


@njit(**HOT)
def _callee(a, cpu):
    return a.params[0] + a.cnt[0, cpu, 0]


def _caller(a, cpu):
    return _callee(a, cpu) + 1


def _ir(flags: dict, arena) -> str:
    f = njit(**{**flags, "cache": False})(_caller)
    f(arena.v, 0)
    return "\n".join(f.inspect_llvm().values())


@pytest.fixture(scope="module")
def arena():
    cfg = validate(Config(cpus=2, clusters_per_cpu=1, pool_size=64 * 4096, swap_size=1 << 30))
    with Arena(cfg, shared=False) as ar:
        ar.v.ctl[0, CTL_GO] = 1
        yield ar


def test_numba_honours_the_flags_that_turn_reference_counting_off(arena):
    assert "NRT_incref" not in _ir(HOT, arena)
    # the check can fail: the same function with NRT on counts references to the arena's arrays
    assert "NRT_incref" in _ir({"_nrt": True}, arena)


def _dispatchers():
    for info in pkgutil.walk_packages(zswap_conc.__path__, "zswap_conc."):
        if info.name.startswith(("zswap_conc.commands", "zswap_conc.cli")):
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == info.name:
                yield name, obj


def test_every_compiled_function_of_the_measured_path_is_built_without_reference_counting():
    seen = dict(_dispatchers())
    assert {"op_step", "store_step", "writeback_step", "cpu_run", "spin_trylock_step", "tree_insert",
            "pool_alloc"} <= set(seen)
    counted = sorted(name for name, d in seen.items() if name not in CHECKERS and d.targetoptions.get("_nrt", True))
    assert not counted, f"compiled with reference counting (use jit.HOT): {counted}"


def test_modules_left_out_of_the_compile_hash_define_no_compiled_function():
    """jit.NOT_COMPILED modules are left out of the cache's source hash: an edit to one of them must
    not be able to change machine code, so none may define a compiled function."""
    from pathlib import Path

    from zswap_conc.jit import COMPILED_INSIDE, NOT_COMPILED

    root = Path(zswap_conc.__file__).parent
    compiled_in = set()
    for info in pkgutil.walk_packages(zswap_conc.__path__, "zswap_conc."):
        mod = importlib.import_module(info.name)
        rel = Path(mod.__file__).relative_to(root).as_posix()
        if not rel.startswith(NOT_COMPILED) or rel in COMPILED_INSIDE:
            continue
        if any(isinstance(o, CPUDispatcher) and o.py_func.__module__ == info.name for o in vars(mod).values()):
            compiled_in.add(rel)
    assert not compiled_in, f"left out of the compile hash but compiled: {sorted(compiled_in)}"
    assert {"runner.py", "schema.py", "disturbance.py", "stats.py", "compiling.py"} <= {
        n for n in NOT_COMPILED if (root / n).exists()}
