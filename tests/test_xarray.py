"""The xarray index (6.10+, 796c2c23e14e): against a dict model under Hypothesis, its node pool
bound, its checker, and a lookup that takes no lock while another process grows the tree.

The last test catches an xa_store that publishes a new top before linking the old tree under it
(tried by hand: about half of the lookups then miss)."""

import mmap

import multiprocess as mp
import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from numba import njit

from zswap_conc.index import CHECK_COUNT, CHECK_SLOT, N_KEY, NIL, R_COUNT, R_WIDTH
from zswap_conc.index.xarray import XA_FULL, xa_check, xa_erase, xa_nodes_needed, xa_search, xa_store
from zswap_conc.swap_entry import swp_entry
from zswap_conc.sync import load_acquire, store_release

TYPE_SHIFT = 24  # where the swap type lands in the index (runs use the swap size's bit length)
# offsets from every level of a 4-high tree, so stores grow the tree and erase leaves empty paths
OFFSET_LIST = [0, 1, 2, 63, 64, 65, 4095, 4096, 4097, 262143, 262144, 300001, (1 << 24) - 1]
OFFSETS = st.sampled_from(OFFSET_LIST)
TREES = 2


def _index(key: int) -> int:
    return (key >> 40 << TYPE_SHIFT) | (key & ((1 << 40) - 1))


class XarrayMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.keys = [swp_entry(t, o) for t in range(2) for o in OFFSET_LIST]
        self.nodes = np.full((len(self.keys), 16), NIL, np.int64)
        self.nodes[:, N_KEY] = self.keys
        idx = np.array([_index(k) for k in self.keys])
        self.need = xa_nodes_needed(np.zeros(len(idx), np.int64), idx)  # every key in tree 0
        self.xa = np.zeros((self.need * TREES, 64), np.int64)
        self.xa[0, 0] = 1
        self.roots = np.zeros((TREES, R_WIDTH), np.int64)
        self.model: dict[int, int] = {}  # index -> entry, tree 0 only

    def _entry(self, swap_type, offset):
        e = self.keys.index(swp_entry(swap_type, offset))
        return e, _index(self.keys[e])

    @rule(swap_type=st.integers(0, 1), offset=OFFSETS)
    def store(self, swap_type, offset):
        e, idx = self._entry(swap_type, offset)
        old = xa_store(self.roots, self.xa, 0, idx, e)
        assert old != XA_FULL, "the pool sized by xa_nodes_needed ran out"
        assert old == self.model.get(idx, NIL)
        self.model[idx] = e

    @rule(swap_type=st.integers(0, 1), offset=OFFSETS)
    def erase(self, swap_type, offset):
        _, idx = self._entry(swap_type, offset)
        assert xa_erase(self.roots, self.xa, 0, idx) == self.model.pop(idx, NIL)

    @rule(swap_type=st.integers(0, 1), offset=OFFSETS)
    def search(self, swap_type, offset):
        _, idx = self._entry(swap_type, offset)
        assert xa_search(self.roots, self.xa, 0, idx) == self.model.get(idx, NIL)

    @invariant()
    def sound(self):
        assert xa_check(self.roots, self.xa, self.nodes, 0, TYPE_SHIFT) == len(self.model)
        assert self.roots[0, R_COUNT] == len(self.model)
        assert self.roots[1, R_COUNT] == 0 and xa_check(self.roots, self.xa, self.nodes, 1, TYPE_SHIFT) == 0
        assert self.xa[0, 0] - 1 <= self.need - 1  # within the bound, whatever the order of changes


TestXarray = XarrayMachine.TestCase
TestXarray.settings = settings(max_examples=60, stateful_step_count=60, deadline=None)


def test_check_detects_a_misplaced_entry_and_a_wrong_count():
    keys = [swp_entry(0, 5), swp_entry(1, 7)]
    nodes = np.full((2, 16), NIL, np.int64)
    nodes[:, N_KEY] = keys
    xa = np.zeros((16, 64), np.int64)
    xa[0, 0] = 1
    roots = np.zeros((1, R_WIDTH), np.int64)
    for e, k in enumerate(keys):
        xa_store(roots, xa, 0, _index(k), e)
    assert xa_check(roots, xa, nodes, 0, TYPE_SHIFT) == 2
    nodes[1, N_KEY] = swp_entry(1, 8)  # entry 1 now claims a key that maps elsewhere
    assert xa_check(roots, xa, nodes, 0, TYPE_SHIFT) == CHECK_SLOT
    nodes[1, N_KEY] = keys[1]
    roots[0, R_COUNT] += 1
    assert xa_check(roots, xa, nodes, 0, TYPE_SHIFT) == CHECK_COUNT


GROW = np.array([1 << 6, 1 << 12, 1 << 18, 1 << 24, 1 << 30], np.int64)  # each store adds a level
PINNED = 1  # the index every tree holds first and never loses
ROUNDS = 3000


@njit
def _writer(roots, xa, ctl):
    """Per tree: store the pinned entry, publish the tree to the reader, then grow it level by level.
    Returns how many stores found the node pool exhausted."""
    full = 0
    for t in range(roots.shape[0]):
        full += xa_store(roots, xa, t, PINNED, t) == XA_FULL
        store_release(ctl, 0, t + 1)
        for i in range(GROW.shape[0]):
            full += xa_store(roots, xa, t, GROW[i], roots.shape[0] + i) == XA_FULL
            full += xa_store(roots, xa, t, GROW[i] + 1, roots.shape[0] + i) == XA_FULL
            xa_erase(roots, xa, t, GROW[i] + 1)
    store_release(ctl, 0, roots.shape[0] + 1)
    return full


@njit
def _reader(roots, xa, ctl, out):
    """Look the pinned entry up, with no lock, in the tree the writer is growing now."""
    n = roots.shape[0]
    while True:
        cur = load_acquire(ctl, 0)
        if cur > n:
            return
        if cur == 0:
            continue
        t = cur - 1
        got = xa_search(roots, xa, t, PINNED)
        out[0] += 1
        if got != t:
            out[1] += 1


def _shared(shape) -> np.ndarray:
    """Zeroed memory that a forked process shares (anonymous mmap: nothing to leak in /dev/shm)."""
    buf = mmap.mmap(-1, int(np.prod(shape)) * 8)
    return np.frombuffer(buf, np.int64).reshape(shape)


def test_lookup_without_the_lock_never_misses_while_the_tree_grows():
    roots = _shared((ROUNDS, R_WIDTH))
    per_tree = np.concatenate([[PINNED], GROW, GROW + 1])
    need = xa_nodes_needed(np.repeat(np.arange(ROUNDS), len(per_tree)), np.tile(per_tree, ROUNDS))
    xa = _shared((need, 64))
    xa[0, 0] = 1
    ctl = _shared((1,))
    out = _shared((2,))
    _reader(roots[:1], xa, np.array([2], np.int64), np.zeros(2, np.int64))  # compile before the fork
    scratch = np.zeros((64, 64), np.int64)
    scratch[0, 0] = 1
    _writer(np.zeros((1, R_WIDTH), np.int64), scratch, np.zeros(1, np.int64))
    ctx = mp.get_context("fork")
    reader = ctx.Process(target=_reader, args=(roots, xa, ctl, out))
    reader.start()
    assert _writer(roots, xa, ctl) == 0
    reader.join(60)
    assert reader.exitcode == 0
    assert out[0] > ROUNDS  # the reader looked many times while trees grew
    assert out[1] == 0, f"{out[1]} of {out[0]} lock-free lookups missed an entry that never left"
    assert all(xa_search(roots, xa, t, PINNED) == t for t in range(ROUNDS))
    assert all(xa_search(roots, xa, t, GROW[-1] + 1) == NIL for t in range(ROUNDS))
