"""Per-operation costs of the core pieces, at 1 CPU (ns or us per operation in extra_info).

Run: ``python -m pytest bench/test_bench_core.py --benchmark-only``.  Each benchmarked call runs a
compiled loop of many operations, so call overhead from Python is amortised; ``extra_info``
carries the per-operation figure.
"""

import numpy as np
import pytest
from numba import njit

from zswap_conc import sync
from zswap_conc.arena import corpus_get
from zswap_conc.compress import compress, decompress
from zswap_conc.cpu import cpu_run
from zswap_conc.index import N_KEY, NIL, R_ROOT, R_WIDTH, tree_erase, tree_insert, tree_search
from zswap_conc.jit import HOT
from zswap_conc.ops.counters import C_COMPRESS_CYCLES, C_OPS
from zswap_conc.ops.frame import BLOCKED, OP_LOAD, op_begin
from zswap_conc.ops.step import op_step
from zswap_conc.params import P_LOCK_KIND, P_TREE_LOCK0

LOCK_LOOPS = 1_000_000
TREE_N = 1_000_000


@njit
def _lock_loop(locks, held, lstat, lsite, kind, stats, n):
    for _ in range(n):
        sync.spin_lock(locks, held, kind, stats, 0, 0, 0)
        sync.spin_unlock(locks, held, lstat, lsite, kind, stats, 1, 0, 0)


@pytest.mark.parametrize("stats", [1, 0], ids=["lockstat", "no-lockstat"])
@pytest.mark.parametrize("kind", sorted(sync.LOCK_KINDS))
def test_lock_uncontended(benchmark, kind, stats):
    locks, held, lstat, lsite = sync.lock_arrays(1, 1)
    k = sync.LOCK_KINDS[kind]
    _lock_loop(locks, held, lstat, lsite, k, stats, 10)
    benchmark.pedantic(_lock_loop, args=(locks, held, lstat, lsite, k, stats, LOCK_LOOPS), rounds=5)
    benchmark.extra_info["ns_per_acquire_release"] = round(benchmark.stats.stats.median / LOCK_LOOPS * 1e9, 1)


@njit(**HOT)
def _blocked_steps(a, cpu, n):
    blocked = 0
    for _ in range(n):
        blocked += op_step(a, cpu) == BLOCKED
    return blocked


STEPS = 200_000


def test_op_step_blocked(benchmark, arena_factory):
    """The cheapest real step: a load whose tree_lock another CPU holds.  Dispatch, one lock
    attempt (with its rdtsc) and a counter: the harness's floor under every step.  With numba's
    reference counting on (see jit.py) it costs 2-3 times as much."""
    ar = arena_factory(cpus=2)
    a = ar.v
    assert sync.spin_trylock_step(a.locks, a.held, a.params[P_LOCK_KIND], 1, a.params[P_TREE_LOCK0], 0, 0)
    op_begin(a, 1, OP_LOAD, 0, 1)
    _blocked_steps(a, 1, 10)
    benchmark.pedantic(_blocked_steps, args=(a, 1, STEPS), rounds=7)
    benchmark.extra_info["ns_per_blocked_step"] = round(benchmark.stats.stats.median / STEPS * 1e9, 1)


@njit
def _tree_fill(roots, nodes, keys):
    for i in range(keys.shape[0]):
        nodes[i, N_KEY] = keys[i]
        tree_insert(roots, nodes, 0, i)


@njit
def _tree_search_all(roots, nodes, keys):
    found = 0
    for i in range(keys.shape[0]):
        found += tree_search(roots, nodes, 0, keys[i]) != NIL
    return found


@njit
def _tree_erase_all(roots, nodes, n):
    for i in range(n):
        tree_erase(roots, nodes, 0, i)


def _tree():
    nodes = np.full((TREE_N, 16), NIL, np.int64)
    roots = np.zeros((1, R_WIDTH), np.int64)
    roots[:, R_ROOT] = NIL
    return roots, nodes


@pytest.mark.parametrize("what", ["insert", "search", "erase"])
def test_rbtree_1m(benchmark, what):
    keys = np.random.default_rng(1).permutation(TREE_N * 4)[:TREE_N].astype(np.int64)
    r0, n0 = _tree()
    _tree_fill(r0[:, :], n0[:16], keys[:16])  # compile

    def setup():
        roots, nodes = _tree()
        if what != "insert":
            _tree_fill(roots, nodes, keys)
        return (roots, nodes), {}

    def body(roots, nodes):
        if what == "insert":
            _tree_fill(roots, nodes, keys)
        elif what == "search":
            assert _tree_search_all(roots, nodes, keys) == TREE_N
        else:
            _tree_erase_all(roots, nodes, TREE_N)

    _tree_search_all(r0, n0, keys[:4])
    _tree_erase_all(r0, n0, 0)
    benchmark.pedantic(body, setup=setup, rounds=3)
    benchmark.extra_info[f"ns_per_{what}"] = round(benchmark.stats.stats.median / TREE_N * 1e9, 1)


OPS = 20_000


@pytest.mark.parametrize("op, mix", [("store", (100, 0, 0)), ("load", (5, 95, 0)), ("invalidate", (30, 0, 70))])
def test_op_excluding_compression(benchmark, arena_factory, op, mix):
    """Testbed cost of an operation at 1 CPU with a 1 ns synthetic compressor."""
    ar = arena_factory(mix=mix, compressor="synthetic", synthetic_ns=1)
    cpu_run(ar.v, 0, 2000)  # compile and populate
    benchmark.pedantic(cpu_run, args=(ar.v, 0, OPS), rounds=5)
    benchmark.extra_info[f"ns_per_{op}_workload_op"] = round(benchmark.stats.stats.median / OPS * 1e9, 1)


def test_lz4_page(benchmark, arena_factory):
    ar = arena_factory()
    corpus, clen, _, desc = corpus_get()
    real = corpus[: desc["real_pages"]]
    dst = np.zeros(8192, np.uint8)
    out = np.zeros(4096, np.uint8)

    @njit
    def roundtrip(p, pages, dst, out):
        total = 0
        for i in range(pages.shape[0]):
            n = compress(p, 0, pages[i], dst, 0, 0, 0, 0)
            total += decompress(p, 0, dst, n, out)
        return total

    @njit
    def compress_all(p, pages, dst):
        for i in range(pages.shape[0]):
            compress(p, 0, pages[i], dst, 0, 0, 0, 0)

    roundtrip(ar.v.params, real[:2], dst, out)
    compress_all(ar.v.params, real[:2], dst)
    benchmark.pedantic(compress_all, args=(ar.v.params, real, dst), rounds=5)
    both = min(__import__("timeit").repeat(lambda: roundtrip(ar.v.params, real, dst, out), number=1, repeat=5))
    c_us = benchmark.stats.stats.median / len(real) * 1e6
    benchmark.extra_info["us_compress_per_page"] = round(c_us, 3)
    benchmark.extra_info["us_decompress_per_page"] = round(both / len(real) * 1e6 - c_us, 3)


def test_fidelity_store_vs_compression(benchmark, arena_factory):
    """A full store at 1 CPU against compression alone, on the default page mix (target <= 1.25x)."""
    ar = arena_factory(mix=(100, 0, 0))
    a = ar.v
    cpu_run(a, 0, 2000)
    before_ops, before_c = a.cnt[1, 0, C_OPS], a.cnt[1, 0, C_COMPRESS_CYCLES]
    benchmark.pedantic(cpu_run, args=(a, 0, OPS), rounds=5)
    ops = a.cnt[1, 0, C_OPS] - before_ops
    comp_ns = (a.cnt[1, 0, C_COMPRESS_CYCLES] - before_c) / ar.cycles_per_ns / max(1, ops)
    ar.cycles_per_ns = sync.cycles_per_ns()
    comp_ns = (a.cnt[1, 0, C_COMPRESS_CYCLES] - before_c) / ar.cycles_per_ns / max(1, ops)
    store_ns = benchmark.stats.stats.median / OPS * 1e9
    benchmark.extra_info["ns_per_store"] = round(store_ns, 1)
    benchmark.extra_info["ns_compress_per_store"] = round(comp_ns, 1)
    benchmark.extra_info["store_over_compression"] = round(store_ns / comp_ns, 3)
