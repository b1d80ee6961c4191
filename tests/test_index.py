"""The red-black tree against a dict model, under Hypothesis' stateful testing."""

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from zswap_conc.index import (
    CHECK_BLACK_HEIGHT,
    CHECK_RED_RED,
    N_COLOR,
    N_KEY,
    NIL,
    R_ROOT,
    R_WIDTH,
    tree_check,
    tree_erase,
    tree_insert,
    tree_search,
)
from zswap_conc.index.rbtree import RED

CAP = 200
keys = st.integers(min_value=0, max_value=300)


class TreeMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.nodes = np.full((CAP, 16), NIL, np.int64)
        self.roots = np.zeros((2, R_WIDTH), np.int64)
        self.roots[:, R_ROOT] = NIL
        self.model: dict[int, int] = {}
        self.free = list(range(CAP))

    @rule(key=keys)
    def insert(self, key):
        if not self.free:
            return
        n = self.free.pop()
        self.nodes[n, N_KEY] = key
        dup = tree_insert(self.roots, self.nodes, 0, n)
        if key in self.model:
            assert dup == self.model[key]
            self.free.append(n)
        else:
            assert dup == NIL
            self.model[key] = n

    @rule(key=keys)
    def erase(self, key):
        if key not in self.model:
            return
        n = self.model.pop(key)
        tree_erase(self.roots, self.nodes, 0, n)
        self.free.append(n)

    @rule(key=keys)
    def search(self, key):
        assert tree_search(self.roots, self.nodes, 0, key) == self.model.get(key, NIL)

    @invariant()
    def sound(self):
        assert tree_check(self.roots, self.nodes, 0) == len(self.model)
        assert tree_check(self.roots, self.nodes, 1) == 0  # the other tree is untouched


TestTree = TreeMachine.TestCase
TestTree.settings = settings(max_examples=60, stateful_step_count=80, deadline=None)


def test_large_sequential_and_reverse_inserts_stay_balanced():
    n = 4096
    nodes = np.full((n, 16), NIL, np.int64)
    roots = np.zeros((1, R_WIDTH), np.int64)
    roots[:, R_ROOT] = NIL
    order = list(range(0, n, 2)) + list(range(n - 1, 0, -2))  # ascending then descending runs
    for i, k in enumerate(order):
        nodes[i, N_KEY] = k
        assert tree_insert(roots, nodes, 0, i) == NIL
    assert tree_check(roots, nodes, 0) == n
    # height bound of a red-black tree: <= 2 log2(n + 1)
    depth = 0
    for i in range(n):
        d, m = 0, i
        while m != NIL:
            m = nodes[m, 2]
            d += 1
        depth = max(depth, d)
    assert depth <= 2 * np.log2(n + 1)


def test_check_detects_broken_trees():
    nodes = np.full((8, 16), NIL, np.int64)
    roots = np.zeros((1, R_WIDTH), np.int64)
    roots[:, R_ROOT] = NIL
    for i, k in enumerate([5, 3, 8, 1]):
        nodes[i, N_KEY] = k
        tree_insert(roots, nodes, 0, i)
    assert tree_check(roots, nodes, 0) == 4
    leaf = 3  # key 1: a red leaf under black 3
    nodes[leaf, N_COLOR] = 1 - nodes[leaf, N_COLOR]
    assert tree_check(roots, nodes, 0) in (CHECK_BLACK_HEIGHT, CHECK_RED_RED)
    nodes[leaf, N_COLOR] = RED
    nodes[1, N_COLOR] = RED  # red 3 above red 1
    assert tree_check(roots, nodes, 0) in (CHECK_BLACK_HEIGHT, CHECK_RED_RED)
