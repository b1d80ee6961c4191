"""The statistics ``compare`` states: is B's throughput different from A's, beyond the noise of the
repeats?

The test is the two-sided Mann-Whitney U (Wilcoxon rank-sum) test on the per-run figures: it
assumes nothing about their distribution (a shared machine's noise is anything but normal), only
that the runs are independent.  With few runs it is exact: every split of the pooled runs into
two groups of the same sizes is equally likely under "no difference", and the p-value counts the
splits whose rank sum lies at least as far from its mean as the observed one (ties take mid-ranks).
Beyond ``EXACT_MAX`` splits it uses the normal approximation with the tie correction.

Its honest limit: a rank test on n and m runs cannot give a p-value below ``min_p`` (2 / C(n+m, n)
without ties): 3 runs a side can show no better than p = 0.1, so a difference at the 5% level needs
4 runs a side (p >= 0.029) and 5 give 0.008.  ``compare`` says so instead of calling a verdict.
"""

from __future__ import annotations

import itertools
import math

ALPHA = 0.05  # the level at which compare calls a difference "faster" or "slower"
EXACT_MAX = 200_000  # splits enumerated exactly (C(18, 9) = 48620; C(20, 10) = 184756)
TEST_NAME = "two-sided Mann-Whitney U (rank-sum) test"


def _midranks(values: list[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _p_from(ranks: list[float], n: int, w: float) -> float:
    """P(|W - E W| >= |w - E W|) for W the rank sum of a random n-subset of ``ranks``."""
    total = len(ranks)
    mean = n * (total + 1) / 2
    dev = abs(w - mean) - 1e-9  # rank sums are multiples of 0.5: a small slack absorbs float error
    if math.comb(total, n) <= EXACT_MAX:
        hits = count = 0
        for subset in itertools.combinations(ranks, n):
            count += 1
            if abs(sum(subset) - mean) >= dev:
                hits += 1
        return hits / count
    m = total - n
    ties = {}
    for r in ranks:
        ties[r] = ties.get(r, 0) + 1
    tie_term = sum(t**3 - t for t in ties.values()) / (total * (total - 1))
    var = n * m / 12 * ((total + 1) - tie_term)
    if var <= 0:
        return 1.0
    z = max(0.0, abs(w - mean) - 0.5) / math.sqrt(var)  # continuity correction
    return min(1.0, math.erfc(z / math.sqrt(2)))


def rank_test(a: list[float], b: list[float]) -> dict:
    """The test of ``b`` against ``a``: its p-value, the smallest p-value these sizes (and ties) allow,
    and the sizes.  Needs at least one value a side."""
    pooled = list(a) + list(b)
    ranks = _midranks(pooled)
    n = len(a)
    w = sum(ranks[:n])
    extreme = sum(sorted(ranks)[:n])  # the most extreme split: a holds the n smallest
    return {"test": TEST_NAME, "p": round(_p_from(ranks, n, w), 6), "min_p": round(_p_from(ranks, n, extreme), 6),
            "n": [len(a), len(b)], "alpha": ALPHA, "exact": math.comb(len(pooled), n) <= EXACT_MAX}
