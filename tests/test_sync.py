"""Atomics and spinlocks: mutual exclusion across processes, and lock_stat accounting."""

import mmap

import multiprocess
import numpy as np
import pytest
from numba import njit

from zswap_conc import sync

NPROC = 2  # no more than the cores CI has: a preempted ticket waiter stalls the queue
ITERS = 200_000


def _shared_int64(n: int) -> np.ndarray:
    # an anonymous shared mapping survives fork and never appears in /dev/shm
    return np.frombuffer(mmap.mmap(-1, n * 8), dtype=np.int64)


@njit
def _hammer(locks, pend, held, lstat, kind, cpu, counter, iters):
    for _ in range(iters):
        sync.spin_lock(locks, pend, held, lstat, kind, 1, 0, cpu)
        # a deliberately non-atomic read-modify-write: only the lock keeps it exact
        v = counter[0]
        counter[0] = v + 1
        sync.spin_unlock(locks, held, lstat, kind, 1, 0, cpu)


def _lock_arrays(ncpu: int):
    locks = _shared_int64(sync.LK_WIDTH).reshape(1, sync.LK_WIDTH)
    sync.locks_init(locks, np.array([0]))
    pend = _shared_int64(ncpu * sync.PD_WIDTH).reshape(ncpu, sync.PD_WIDTH)
    pend[:, sync.PD_LOCK] = -1
    held = _shared_int64(ncpu * sync.HELD_WIDTH).reshape(ncpu, sync.HELD_WIDTH)
    lstat = _shared_int64(3 * ncpu * sync.LS_WIDTH).reshape(3, 1, ncpu, sync.LS_WIDTH)
    sync.lstat_init(lstat)
    return locks, pend, held, lstat


@pytest.mark.parametrize("kind", sorted(sync.LOCK_KINDS))
def test_multiprocess_counter_loses_no_increment(kind):
    k = sync.LOCK_KINDS[kind]
    locks, pend, held, lstat = _lock_arrays(NPROC)
    counter = _shared_int64(8)
    _hammer(locks, pend, held, lstat, k, 0, counter, 1)  # compile before forking
    counter[0] = 0
    lstat[...] = 0
    ctx = multiprocess.get_context("fork")
    procs = [ctx.Process(target=_hammer, args=(locks, pend, held, lstat, k, c, counter, ITERS))
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
def test_lock_stat_counts_contention_and_bounces(kind):
    k = sync.LOCK_KINDS[kind]
    locks, pend, held, lstat = _lock_arrays(2)
    step = sync.spin_trylock_step
    assert step(locks, pend, held, lstat, k, 1, 0, 0)  # cpu0 takes it: no bounce (first use)
    assert not step(locks, pend, held, lstat, k, 1, 0, 1)  # cpu1 must wait
    assert not step(locks, pend, held, lstat, k, 1, 0, 1)
    assert locks[0, sync.LK_OWNER] == 1  # held by cpu0
    sync.spin_unlock(locks, held, lstat, k, 1, 0, 0)
    assert step(locks, pend, held, lstat, k, 1, 0, 1)  # contended, last taken by cpu0: bounce
    sync.spin_unlock(locks, held, lstat, k, 1, 0, 1)
    assert step(locks, pend, held, lstat, k, 1, 0, 1)  # same cpu again: neither
    sync.spin_unlock(locks, held, lstat, k, 1, 0, 1)
    s0, s1 = lstat[1, 0, 0], lstat[1, 0, 1]
    assert (s0[sync.LS_ACQUISITIONS], s0[sync.LS_CONTENTIONS], s0[sync.LS_ACQ_BOUNCES]) == (1, 0, 0)
    assert (s1[sync.LS_ACQUISITIONS], s1[sync.LS_CONTENTIONS]) == (2, 1)
    assert (s1[sync.LS_ACQ_BOUNCES], s1[sync.LS_CON_BOUNCES]) == (1, 1)
    assert 0 < s1[sync.LS_WAIT_MIN] <= s1[sync.LS_WAIT_MAX] <= s1[sync.LS_WAIT_TOTAL]
    assert held[0, 0] == held[1, 0] == 0


def test_ticket_lock_is_fifo():
    k = sync.LOCK_TICKET
    locks, pend, held, lstat = _lock_arrays(3)
    step = sync.spin_trylock_step
    assert step(locks, pend, held, lstat, k, 1, 0, 0)
    assert not step(locks, pend, held, lstat, k, 1, 0, 2)  # cpu2 queues first
    assert not step(locks, pend, held, lstat, k, 1, 0, 1)
    sync.spin_unlock(locks, held, lstat, k, 1, 0, 0)
    assert not step(locks, pend, held, lstat, k, 1, 0, 1)  # cpu1 came later: still waits
    assert step(locks, pend, held, lstat, k, 1, 0, 2)


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
