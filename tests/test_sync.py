"""Atomics and spinlocks: mutual exclusion across processes, and lock_stat accounting."""

import mmap

import multiprocess
import numpy as np
import pytest
from numba import njit

from zswap_conc import sync

NPROC = 2  # no more than the cores CI has: a preempted ticket waiter stalls the queue
ITERS = 200_000


def _shared_zeros(shape) -> np.ndarray:
    # an anonymous shared mapping survives fork and never appears in /dev/shm
    n = int(np.prod(shape))
    return np.frombuffer(mmap.mmap(-1, n * 8), dtype=np.int64).reshape(shape)


@njit
def _hammer(locks, held, lstat, lsite, kind, cpu, counter, iters):
    for _ in range(iters):
        sync.spin_lock(locks, held, kind, 1, 0, cpu, 0)
        # a deliberately non-atomic read-modify-write: only the lock keeps it exact
        v = counter[0]
        counter[0] = v + 1
        sync.spin_unlock(locks, held, lstat, lsite, kind, 1, 1, 0, cpu)


def _lock_arrays(ncpu: int):
    return sync.lock_arrays(1, ncpu, zeros=_shared_zeros)


@pytest.mark.parametrize("kind", sorted(sync.LOCK_KINDS))
def test_multiprocess_counter_loses_no_increment(kind):
    k = sync.LOCK_KINDS[kind]
    locks, held, lstat, lsite = _lock_arrays(NPROC)
    counter = _shared_zeros(8)
    _hammer(locks, held, lstat, lsite, k, 0, counter, 1)  # compile before forking
    counter[0] = 0
    lstat[...] = 0
    ctx = multiprocess.get_context("fork")
    procs = [ctx.Process(target=_hammer, args=(locks, held, lstat, lsite, k, c, counter, ITERS))
             for c in range(NPROC)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert all(p.exitcode == 0 for p in procs)
    assert counter[0] == NPROC * ITERS
    acq = lstat[1, 0, :, sync.LS_ACQUISITIONS]
    assert list(acq) == [ITERS] * NPROC  # every acquisition counted, on its own CPU's slot
    assert locks[0, sync.LK_OWNER] == 0  # released
    if kind == "ticket":
        assert locks[0, sync.LK_WORD] == locks[0, sync.LK_SERVING] == NPROC * ITERS + 1


@pytest.mark.parametrize("kind", sorted(sync.LOCK_KINDS))
def test_lock_stat_counts_contention_bounces_handoff_and_call_sites(kind):
    k = sync.LOCK_KINDS[kind]
    locks, held, lstat, lsite = _lock_arrays(2)
    step = sync.spin_trylock_step
    assert step(locks, held, k, 1, 0, 0, 3)  # cpu0 takes it at site 3: no bounce (first use)
    assert not step(locks, held, k, 1, 0, 1, 5)  # cpu1 must wait, at site 5
    assert not step(locks, held, k, 1, 0, 1, 5)
    assert locks[0, sync.LK_OWNER] == 1  # held by cpu0
    assert lstat[1, 0, 0, sync.LS_ACQUISITIONS] == 0  # nothing is published while the lock is held
    sync.spin_unlock(locks, held, lstat, lsite, k, 1, 1, 0, 0)
    assert lstat[1, 0, 0, sync.LS_ACQUISITIONS] == 1  # ... and all of it after the release
    assert step(locks, held, k, 1, 0, 1, 5)  # contended, released last by cpu0: bounce
    sync.spin_unlock(locks, held, lstat, lsite, k, 1, 1, 0, 1)
    assert step(locks, held, k, 1, 0, 1, 7)  # same cpu again: neither
    sync.spin_unlock(locks, held, lstat, lsite, k, 1, 1, 0, 1)
    s0, s1 = lstat[1, 0, 0], lstat[1, 0, 1]
    assert (s0[sync.LS_ACQUISITIONS], s0[sync.LS_CONTENTIONS], s0[sync.LS_ACQ_BOUNCES]) == (1, 0, 0)
    assert (s1[sync.LS_ACQUISITIONS], s1[sync.LS_CONTENTIONS]) == (2, 1)
    assert (s1[sync.LS_ACQ_BOUNCES], s1[sync.LS_CON_BOUNCES]) == (1, 1)
    assert 0 < s1[sync.LS_WAIT_MIN] <= s1[sync.LS_WAIT_MAX] <= s1[sync.LS_WAIT_TOTAL]
    # hand-off: from cpu0's release to cpu1's acquisition, shorter than cpu1's whole wait
    assert 0 <= s1[sync.LS_HANDOFF_TOTAL] == s1[sync.LS_HANDOFF_MAX] <= s1[sync.LS_WAIT_TOTAL]
    assert s0[sync.LS_HOLD_TOTAL] > 0 and s1[sync.LS_HOLD_MIN] <= s1[sync.LS_HOLD_MAX]
    # the contention point: site 5 waited once, sites 3 and 7 never
    assert lsite[1, 1, 0, 5, sync.SITE_CONTENTIONS] == 1 and lsite[1, 1, 0, 5, sync.SITE_WAIT] == s1[sync.LS_WAIT_TOTAL]
    assert lsite[1, :, 0, [3, 7], sync.SITE_CONTENTIONS].sum() == 0
    rows = sync.lsite_sum(lsite[1], ["tree_lock"], lambda site: f"site {site}")["tree_lock"]
    assert rows == [{"site": "site 5", "contentions": 1, "wait_total": int(s1[sync.LS_WAIT_TOTAL])}]
    assert sync.held_locks(held, 0) == sync.held_locks(held, 1) == []


@pytest.mark.parametrize("kind", sorted(sync.LOCK_KINDS))
def test_statistics_off_records_nothing_and_still_excludes(kind):
    k = sync.LOCK_KINDS[kind]
    locks, held, lstat, lsite = _lock_arrays(2)
    before = lstat.copy()
    assert sync.spin_trylock_step(locks, held, k, 0, 0, 0, 1)
    assert not sync.spin_trylock_step(locks, held, k, 0, 0, 1, 1)
    sync.spin_unlock(locks, held, lstat, lsite, k, 0, 1, 0, 0)
    assert sync.spin_trylock_step(locks, held, k, 0, 0, 1, 1)
    sync.spin_unlock(locks, held, lstat, lsite, k, 0, 1, 0, 1)
    assert (lstat == before).all() and not lsite.any()
    assert locks[0, sync.LK_RELEASE_TS] == 0 and locks[0, sync.LK_LAST_CPU] == -1


def test_nested_locks_release_in_any_order():
    locks, held, lstat, lsite = sync.lock_arrays(2, 1)
    assert sync.spin_trylock_step(locks, held, sync.LOCK_TTAS, 1, 0, 0, 0)
    assert sync.spin_trylock_step(locks, held, sync.LOCK_TTAS, 1, 1, 0, 0)
    assert sync.held_locks(held, 0) == [0, 1]
    sync.spin_unlock(locks, held, lstat, lsite, sync.LOCK_TTAS, 1, 1, 0, 0)  # the outer one first
    assert sync.held_locks(held, 0) == [1]
    sync.spin_unlock(locks, held, lstat, lsite, sync.LOCK_TTAS, 1, 1, 1, 0)
    assert sync.held_locks(held, 0) == [] and lstat[1, 0, 0, sync.LS_ACQUISITIONS] == 2


def test_ticket_lock_is_fifo():
    k = sync.LOCK_TICKET
    locks, held, lstat, lsite = _lock_arrays(3)
    step = sync.spin_trylock_step
    assert step(locks, held, k, 1, 0, 0, 0)
    assert not step(locks, held, k, 1, 0, 2, 0)  # cpu2 queues first
    assert not step(locks, held, k, 1, 0, 1, 0)
    sync.spin_unlock(locks, held, lstat, lsite, k, 1, 1, 0, 0)
    assert not step(locks, held, k, 1, 0, 1, 0)  # cpu1 came later: still waits
    assert step(locks, held, k, 1, 0, 2, 0)


def test_atomics():
    a = np.zeros(4, np.int64)

    @njit
    def f(a):
        old = sync.atomic_cas(a, 0, 0, 7)
        failed = sync.atomic_cas(a, 0, 0, 9)
        prev = sync.fetch_add(a, 1, 5)
        sync.store_release(a, 2, 11)
        return old, failed, prev, sync.load_acquire(a, 2)

    assert f(a) == (0, 7, 0, 11)
    assert list(a[:3]) == [7, 5, 11]
    assert sync.cycles_per_ns(0.01) > 0
