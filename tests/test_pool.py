"""Pool allocators against a dict model: stateful Hypothesis runs plus exhaustion and isolation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zswap_conc.pool import (
    ALLOC_ZBUD,
    ALLOC_ZSMALLOC,
    ALLOCATORS,
    CHECK_FREE_STACK,
    CHECK_OBJECTS,
    FRAME_SIZE,
    NHEADS,
    PM_BYTES,
    PM_FRAMES_USED,
    PM_FREE_COUNT,
    PM_FREE_HEAD,
    PM_NCOLS,
    PM_OBJECTS,
    pool_alloc,
    pool_check,
    pool_free,
    pool_handle_frame,
    pool_init,
    pool_max_size,
    pool_obj_read,
    pool_obj_write,
)
from zswap_conc.pool.zsmalloc import ZS_CLASS_FRAMES, ZS_CLASS_OBJS, ZS_NFRAMES

FPP = 12  # small, so runs reach exhaustion
# a few popular sizes (less up to 31 bytes, staying in one zsmalloc class) fill spans and frames
POPULAR = [32, 96, 700, 1408, 2048, 2752, 3072, 4096]
SIZES = st.one_of(
    st.integers(1, 4096),
    st.tuples(st.sampled_from(POPULAR), st.integers(0, 31)).map(lambda t: t[0] - t[1]),
)


class Pools:
    """The shared arrays for ``npools`` pools, as the caller would lay them out."""

    def __init__(self, alloc: int, npools: int = 2, fpp: int = FPP) -> None:
        self.allocator, self.npools, self.fpp = alloc, npools, fpp
        n = npools * fpp
        self.meta = np.zeros((npools, PM_NCOLS), np.int64)
        self.heads = np.zeros((npools, NHEADS), np.int64)
        self.fmeta = np.zeros((n, 16), np.int64)
        self.ffree = np.zeros(n, np.int64)
        self.data = np.zeros(n * FRAME_SIZE, np.uint8)
        pool_init(alloc, self.meta, self.heads, self.fmeta, self.ffree, npools, fpp)

    def alloc_obj(self, p: int, size: int) -> int:
        before = self.meta[p, PM_FRAMES_USED]
        handle, taken = pool_alloc(self.allocator, self.meta, self.heads, self.fmeta, self.ffree, p, size)
        assert taken == self.meta[p, PM_FRAMES_USED] - before  # the frames it reports are the ones it took
        return handle

    def free_obj(self, p: int, handle: int, size: int) -> None:
        before = self.meta[p, PM_FRAMES_USED]
        freed = pool_free(self.allocator, self.meta, self.heads, self.fmeta, self.ffree, p, handle, size)
        assert freed == before - self.meta[p, PM_FRAMES_USED]

    def check(self, p: int) -> int:
        return pool_check(self.allocator, self.meta, self.heads, self.fmeta, self.ffree, p)

    def write(self, handle: int, src: np.ndarray) -> None:
        pool_obj_write(self.allocator, self.fmeta, self.data, handle, src, len(src))

    def read(self, handle: int, n: int) -> np.ndarray:
        dst = np.zeros(n, np.uint8)
        pool_obj_read(self.allocator, self.fmeta, self.data, handle, dst, n)
        return dst


def content(serial: int, size: int) -> np.ndarray:
    return np.random.default_rng(serial).integers(0, 256, size, dtype=np.uint8)


class PoolMachine(RuleBasedStateMachine):
    """Allocates and frees in pool 1 of 2; pool 0 must stay untouched."""

    allocator = ALLOC_ZBUD

    @initialize()
    def setup(self) -> None:
        self.pools = Pools(self.allocator)
        self.idle = self.pools.meta[0].copy()
        self.model: dict[int, tuple[int, int]] = {}  # handle -> (size, content serial)
        self.serial = 0

    def live(self, i: int) -> int:
        return sorted(self.model)[i % len(self.model)]

    def put(self, handle: int, size: int) -> None:
        self.serial += 1
        self.pools.write(handle, content(self.serial, size))
        self.model[handle] = (size, self.serial)

    @rule(size=SIZES)
    def obj_alloc(self, size: int) -> None:
        size = min(size, pool_max_size(self.allocator))
        handle = self.pools.alloc_obj(1, size)
        if handle < 0:
            assert self.pools.meta[1, PM_FREE_COUNT] < FPP
            return
        assert handle not in self.model
        assert pool_handle_frame(self.allocator, handle) // FPP == 1
        self.put(handle, size)

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 1 << 16))
    def obj_free(self, i: int) -> None:
        handle = self.live(i)
        size, _ = self.model.pop(handle)
        self.pools.free_obj(1, handle, size)

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 1 << 16))
    def obj_rewrite(self, i: int) -> None:
        handle = self.live(i)
        self.put(handle, self.model[handle][0])

    @invariant()
    def consistent(self) -> None:
        meta = self.pools.meta
        assert self.pools.check(1) == 0
        assert self.pools.check(0) == 0
        assert (meta[0] == self.idle).all()
        assert meta[1, PM_OBJECTS] == len(self.model)
        assert meta[1, PM_BYTES] == sum(size for size, _ in self.model.values())
        assert meta[1, PM_FRAMES_USED] == FPP - meta[1, PM_FREE_COUNT]
        assert meta[1, PM_FRAMES_USED] == self.frames_holding_objects()
        if not self.model:
            assert meta[1, PM_FRAMES_USED] == 0

    @invariant()
    def contents_intact(self) -> None:
        # a second object overlapping one would have overwritten some of its bytes
        for handle, (size, serial) in self.model.items():
            assert (self.pools.read(handle, size) == content(serial, size)).all()

    def frames_holding_objects(self) -> int:
        raise NotImplementedError


class ZbudMachine(PoolMachine):
    allocator = ALLOC_ZBUD

    def frames_holding_objects(self) -> int:
        per_frame: dict[int, int] = {}
        for handle in self.model:
            frame = pool_handle_frame(self.allocator, handle)
            per_frame[frame] = per_frame.get(frame, 0) + 1
        assert all(n <= 2 for n in per_frame.values())
        assert len(per_frame) >= math.ceil(len(self.model) / 2)
        return len(per_frame)


class ZsmallocMachine(PoolMachine):
    allocator = ALLOC_ZSMALLOC

    def frames_holding_objects(self) -> int:
        spans = {pool_handle_frame(self.allocator, handle) for handle in self.model}
        return sum(int(self.pools.fmeta[s, ZS_NFRAMES]) for s in spans)


SETTINGS = settings(
    max_examples=100,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestZbud = ZbudMachine.TestCase
TestZbud.settings = SETTINGS
TestZsmalloc = ZsmallocMachine.TestCase
TestZsmalloc.settings = SETTINGS


@pytest.mark.parametrize("name", sorted(ALLOCATORS))
def test_exhaustion_and_isolation(name: str) -> None:
    alloc = ALLOCATORS[name]
    pools = Pools(alloc)
    size = pool_max_size(alloc)  # one frame per object for both allocators
    handles = [pools.alloc_obj(0, size) for _ in range(FPP)]
    assert min(handles) >= 0
    assert pools.alloc_obj(0, size) == -1
    assert pools.alloc_obj(0, 1) == -1  # zbud: every frame has a full-size first buddy
    assert pools.meta[0, PM_FRAMES_USED] == FPP
    assert pools.check(0) == 0
    # pool 1 still has all its frames
    other = [pools.alloc_obj(1, size) for _ in range(FPP)]
    assert min(other) >= 0
    assert {pool_handle_frame(alloc, h) // FPP for h in other} == {1}
    assert pools.alloc_obj(1, size) == -1
    # a freed frame is usable again
    pools.free_obj(0, handles[3], size)
    assert pools.alloc_obj(0, size) >= 0
    assert pools.check(0) == 0 and pools.check(1) == 0


def test_zsmalloc_span_needs_all_frames() -> None:
    pools = Pools(ALLOC_ZSMALLOC)
    k = int(np.flatnonzero(ZS_CLASS_FRAMES == 4)[0])
    for _ in range(FPP - 3):
        assert pools.alloc_obj(0, FRAME_SIZE) >= 0
    free = pools.meta[0, PM_FREE_COUNT]
    assert pools.alloc_obj(0, (k + 1) * 32) == -1  # needs 4 frames, 3 are free: it takes none of them
    assert pools.meta[0, PM_FREE_COUNT] == free == 3
    assert pools.check(0) == 0


def test_zsmalloc_class_table() -> None:
    assert ((ZS_CLASS_FRAMES >= 1) & (ZS_CLASS_FRAMES <= 4)).all()
    sizes = np.arange(1, 129) * 32
    assert ((ZS_CLASS_OBJS >= 1) & (ZS_CLASS_OBJS <= 512)).all()
    assert (ZS_CLASS_OBJS * sizes <= ZS_CLASS_FRAMES * FRAME_SIZE).all()
    # some objects must straddle frames, or the two-part copy would go untested
    assert ((FRAME_SIZE % sizes != 0) & (ZS_CLASS_FRAMES > 1)).any()


def test_zbud_two_buddies_per_frame() -> None:
    pools = Pools(ALLOC_ZBUD)
    a = pools.alloc_obj(0, 1000)
    b = pools.alloc_obj(0, 3000)
    c = pools.alloc_obj(0, 1000)
    assert pool_handle_frame(ALLOC_ZBUD, a) == pool_handle_frame(ALLOC_ZBUD, b)
    assert pool_handle_frame(ALLOC_ZBUD, c) != pool_handle_frame(ALLOC_ZBUD, a)
    assert (a & 1, b & 1) == (0, 1)
    assert pools.meta[0, PM_FRAMES_USED] == 2
    for h in (a, b, c):
        pools.free_obj(0, h, 1000 if h != b else 3000)
    assert pools.meta[0, PM_FRAMES_USED] == 0 and pools.check(0) == 0


def test_check_catches_corruption() -> None:
    for alloc in ALLOCATORS.values():
        pools = Pools(alloc)
        pools.alloc_obj(0, 100)
        pools.meta[0, PM_OBJECTS] += 1
        assert pools.check(0) == CHECK_OBJECTS
        pools.meta[0, PM_OBJECTS] -= 1
        top = (pools.meta[0, PM_FREE_HEAD] & 0xFFFFFFFF) - 1
        pools.ffree[top] = top  # the free stack loops on itself
        assert pools.check(0) == CHECK_FREE_STACK


@pytest.mark.parametrize("kernel, pools, per_class", [("6.11", 2, True), ("2012", 1, True), ("6.10", 4, False),
                                                       ("6.2", 1, False)])
def test_allocator_lock_is_per_size_class_or_per_pool(kernel, pools, per_class) -> None:
    """zsmalloc's class->lock (before 6.2, again from 64bd0197ae0c in 6.11) against one pool->lock
    (c0547d0b6a4b, 6.2-6.10): which lock an object of each size takes, and its lock_stat class."""
    from zswap_conc.arena import LOCKCLASS_CLASS, LOCKCLASS_POOL, Arena
    from zswap_conc.config import Config, validate
    from zswap_conc.ops.locking import pool_lock_id
    from zswap_conc.pool.zsmalloc import ZS_CLASS_SIZE, ZS_NCLASSES, zs_class

    cfg = validate(Config(kernel=kernel, pools=pools, cpus=1, clusters_per_cpu=1, swap_size=1 << 30,
                          pool_size=pools << 22, think_ns=0))
    with Arena(cfg, shared=False) as ar:
        sizes = range(1, 4097, ZS_CLASS_SIZE // 2)
        ids = {(pl, s): pool_lock_id(ar.v, pl, s) for pl in range(pools) for s in sizes}
        want = LOCKCLASS_CLASS if per_class else LOCKCLASS_POOL
        assert {int(ar.layout.lock_classes[i]) for i in ids.values()} == {want}
        for pl in range(pools):
            mine = {s: ids[pl, s] for s in sizes}
            if per_class:  # one lock per size class: same class, same lock; another class, another
                assert len(set(mine.values())) == ZS_NCLASSES
                assert all((mine[s] == mine[t]) == (zs_class(s) == zs_class(t)) for s in sizes for t in sizes)
            else:
                assert len(set(mine.values())) == 1
        # pools never share an allocator lock
        by_pool = [{ids[pl, s] for s in sizes} for pl in range(pools)]
        assert sum(len(x) for x in by_pool) == len(set().union(*by_pool))
