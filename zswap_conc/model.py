"""A contention model: what N CPUs sharing spinlocks would do, from what one CPU measured.

The method is a closed queueing network solved exactly by mean value analysis (Reiser and
Lavenberg 1980).  The CPUs are the customers.  The work of an operation outside every lock is a
delay station (each CPU does it on its own, in parallel).  Each lock instance is a single-server
FCFS queueing station, visited ``acquisitions per op x the instance's share`` times per operation,
with the mean hold as its service time.  Identical instances (same share) form a group; by
symmetry one station stands for its whole group, which keeps the solution exact and cheap.

A spinlock is worse than a queue: handing the lock to a waiter costs cache-line transfers.  For a
ticket lock every waiter spins on the line the release writes, so each hand-off costs about one
transfer per waiter (Boyd-Wickizer, Kaashoek, Morris, Zeldovich, "Non-scalable locks are
dangerous", Linux Symposium 2012: the lock's service time grows linearly with the waiting cores).
The station is therefore load-dependent: with ``j`` CPUs at it (one holder, ``j - 1`` waiting) its
service time is ``hold + handoff(j)``, ``handoff = c * (j - 1)`` for ticket and ``c`` (one
transfer, the winner's) for test-and-test-and-set.  ``c`` is one hand-off with one waiter, as
``lockbench`` measures it at 2 CPUs on this machine; its growth with more waiters is the model's,
not a measurement, until a machine with more cores measures it.

Its assumptions are ``results.prediction.MODEL_ASSUMPTIONS`` (stated in ``predict --help``, the
README and every prediction record): exponential holds, no nesting, holds and the work outside
locks as the input measured them (no cost of sharing data between CPUs), spread over instances as
the configuration says, and the hand-off growth above.

Pure Python and numpy: ``compare`` and ``plot`` never import it; they read the prediction files
that ``predict`` writes (``results.prediction``).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

LOCKS = ("ticket", "ttas")
REGION_SHIFT = 14  # split64m: one tree per 2^14 slots (strategies/split64m.py SWAP_ADDRESS_SPACE_SHIFT)
CLUSTER_SLOTS = 256  # swap slots per cluster (config.CLUSTER_PAGES)
SATURATION_GAIN = 0.05  # "stops adding throughput": the next CPU adds less than this share of one CPU's


@dataclass(frozen=True)
class Group:
    """``instances`` identical lock instances of one class, each visited ``visits`` times per
    operation (the class's acquisitions per op times the instance's share)."""

    lock_class: str
    instances: int  # lock instances in the group
    visits: float  # acquisitions per operation at one instance of the group
    hold_ns: float  # mean hold: the station's service time without hand-off


@dataclass(frozen=True)
class Network:
    """The closed network of one workload at one spread of its locks."""

    outside_ns: float  # delay station: time per operation outside every lock
    groups: tuple[Group, ...]
    lock: str  # ticket | ttas: how the hand-off grows with waiters
    handoff_ns: float  # one hand-off with one waiter; 0: plain MVA


@dataclass(frozen=True)
class LockClass:
    """One lock class as a workload uses it."""

    name: str
    acquisitions_per_op: float  # acquisitions of this class per operation, all instances together
    hold_ns: float  # mean hold (lock_stat's holdtime-avg)


@dataclass(frozen=True)
class Workload:
    """The model's input: what one operation costs and which locks it takes, and what decides how
    acquisitions spread over lock instances (``layout``: a run's configuration, or ``locks`` for
    lockbench)."""

    label: str
    outside_ns: float  # time per operation outside every lock and not waiting
    classes: tuple[LockClass, ...]
    lock: str  # ticket | ttas
    layout: dict  # strategy, swap_types, buckets, pools, swap_size, clusters_per_cpu; or locks


@dataclass
class Solution:
    """Exact MVA of one network for 1..n_max customers; index n is n CPUs (index 0 unused)."""

    throughput: np.ndarray  # operations per ns, whole machine
    residence: np.ndarray  # (groups, n): time per operation at one station of each group, in ns
    idle_on_arrival: np.ndarray  # (groups, n): P(a station is free when a CPU arrives) = p(0 | n - 1)
    handoff_after: np.ndarray  # (groups, n): per operation at one station, the hand-off to the next CPU that
    # the model charges to the releasing one (its service is s(j)), though that CPU has left the lock


def handoff_costs(lock: str, handoff_ns: float, n_max: int) -> np.ndarray:
    """Hand-off added to a station's service with ``j`` = 1..n_max CPUs at it (index j - 1)."""
    waiters = np.arange(n_max, dtype=np.float64)  # j - 1 CPUs waiting behind the holder
    if lock == "ticket":
        return handoff_ns * waiters  # every waiter's read of the released line is a transfer
    return handoff_ns * (waiters > 0)  # ttas: the winner's transfer only


def network_solve(net: Network, n_max: int) -> Solution:
    """Exact mean value analysis of ``net`` for 1..n_max CPUs, load-dependent stations included.

    For a station whose service time with ``j`` CPUs present is ``s(j)`` (visits ``v``):
    ``R(n) = v * sum_j j s(j) p(j-1 | n-1)``, ``X(n) = n / (Z + sum over stations R(n))`` and
    ``p(j | n) = v s(j) X(n) p(j-1 | n-1)``; ``p(0 | n)`` is what remains.  With no hand-off this
    is plain MVA (``R = v s (1 + Q(n-1))``)."""
    g = len(net.groups)
    m = np.array([gr.instances for gr in net.groups], dtype=np.float64)
    v = np.array([gr.visits for gr in net.groups], dtype=np.float64)
    hold = np.array([gr.hold_ns for gr in net.groups], dtype=np.float64)
    service = hold[:, None] + handoff_costs(net.lock, net.handoff_ns, n_max)[None, :]  # (g, j-1)
    demand = v[:, None] * service  # time per operation per visit pattern, at j present
    jj = np.arange(1, n_max + 1, dtype=np.float64)
    p = np.zeros((g, n_max + 1))
    p[:, 0] = 1.0
    x = np.zeros(n_max + 1)
    res = np.zeros((g, n_max + 1))
    idle = np.ones((g, n_max + 1))
    after = np.zeros((g, n_max + 1))
    share = handoff_costs(net.lock, net.handoff_ns, n_max)[None, :] / np.maximum(service, 1e-300)
    for n in range(1, n_max + 1):
        prev = p[:, :n]  # p(j-1 | n-1), j = 1..n
        idle[:, n] = prev[:, 0]
        r = (jj[:n] * demand[:, :n] * prev).sum(axis=1)
        xn = n / (net.outside_ns + float((m * r).sum()))
        nxt = np.empty((g, n + 1))
        nxt[:, 1:] = demand[:, :n] * xn * prev
        # p(0|n) by difference: clamped, as rounding can take it a hair below zero at saturation
        nxt[:, 0] = np.maximum(1.0 - nxt[:, 1:].sum(axis=1), 0.0)
        p[:, : n + 1] = nxt
        x[n] = xn
        res[:, n] = r
        # completions in state j happen at rate p(j|n) / s(j); each charges its CPU h(j)
        after[:, n] = (nxt[:, 1:] * share[:, :n]).sum(axis=1) / xn
    return Solution(throughput=x, residence=res, idle_on_arrival=idle, handoff_after=after)


def point_figures(net: Network, sol: Solution, n: int) -> dict:
    """What lock_stat and the throughput counters would say at ``n`` CPUs."""
    m = np.array([gr.instances for gr in net.groups], dtype=np.float64)
    v = np.array([gr.visits for gr in net.groups], dtype=np.float64)
    hold = np.array([gr.hold_ns for gr in net.groups], dtype=np.float64)
    x = float(sol.throughput[n])
    acq = m * v  # acquisitions per op by group
    # what lock_stat counts as waiting: queueing and the hand-off into the lock, per op, by group
    wait = m * (sol.residence[:, n] - v * hold - sol.handoff_after[:, n])
    contended = acq * (1.0 - sol.idle_on_arrival[:, n])
    classes: dict[str, dict] = {}
    for k, gr in enumerate(net.groups):
        c = classes.setdefault(gr.lock_class, {"acq": 0.0, "wait": 0.0, "contended": 0.0})
        c["acq"] += acq[k]
        c["wait"] += wait[k]
        c["contended"] += contended[k]
    total_acq = float(acq.sum())
    return {
        "ops_s": x * 1e9,
        "wait_share": x * float(wait.sum()) / n,
        "contentions_per_acquisition": float(contended.sum()) / total_acq if total_acq else 0.0,
        "classes": {name: {"contentions_per_acquisition": c["contended"] / c["acq"] if c["acq"] else 0.0,
                           "wait_ns_per_acquisition": c["wait"] / c["acq"] if c["acq"] else 0.0}
                    for name, c in classes.items()},
    }


# ---------------------------------------------------------------------------------------------
# How acquisitions spread over lock instances at N CPUs


def _even(count: int) -> tuple[tuple[int, float], ...]:
    return ((count, 1.0 / count),)


def _by_swap_type(cpus: int, swap_types: int) -> tuple[tuple[int, float], ...]:
    """CPU c works on swap type c % T, and its loads reach every CPU's slots: a type's share is
    its CPUs' share, taken as even once every type has CPUs."""
    return _even(min(cpus, swap_types))


def _split64m_regions(layout: dict, cpus: int) -> tuple[tuple[int, float], ...]:
    """Each of the N x clusters_per_cpu clusters takes an equal share (a CPU stores to its own in
    turn; loads and invalidates pick any slot of the working set); a tree's share is its clusters'.
    Clusters lie as ``arena.cluster_table`` lays them: spread evenly over each device, so while a
    device has no more clusters than trees each cluster has a tree of its own.  Beyond that every
    tree holds one or two clusters or none (their participation ratio is 85-100% of the trees);
    that is taken as an even spread over all the device's trees, so the spread stops changing
    with N and one network serves every larger CPU count."""
    t_count = int(layout.get("swap_types", 1))
    k = int(layout.get("clusters_per_cpu", 4))
    slots = int(layout.get("swap_size", 16 << 30)) // 4096
    per_tree = []
    for t in range(t_count):
        count = len(range(t, cpus, t_count)) * k
        if count == 0:
            continue
        regions = -(-slots >> REGION_SHIFT)
        if count > regions:
            per_tree.append(np.full(regions, count / regions))
            continue
        stride = max(CLUSTER_SLOTS, slots // count // CLUSTER_SLOTS * CLUSTER_SLOTS)
        trees = (np.arange(count, dtype=np.int64) * stride) >> REGION_SHIFT
        per_tree.append(np.bincount(trees)[np.unique(trees)])
    clusters = np.concatenate(per_tree)
    sizes, trees_of_size = np.unique(clusters, return_counts=True)
    total = float(clusters.sum())
    return tuple((int(n), float(c) / total) for c, n in zip(sizes, trees_of_size, strict=True))


def _size_classes(layout: dict, cpus: int, t_count: int) -> tuple[tuple[int, float], ...]:
    """zsmalloc's per-size-class locks: how objects spread over size classes is the pages'
    compressed sizes, not the CPU count, so it is the spread the input runs measured (their
    ``lock_spread``).  With one pool per swap type, each type in use adds its pool's classes."""
    measured = (layout.get("measured_spread") or {}).get("class_lock")
    if not measured:
        raise ValueError("no measured spread for lock class 'class_lock' (lock_spread)")
    scale = 1.0
    if int(layout.get("pools", 0)) == 0:
        scale = min(cpus, t_count) / min(int(layout.get("input_cpus", 1)), t_count)
    return _even(max(1, round(float(measured) * scale)))


def instances_spread(layout: dict, lock_class: str, cpus: int) -> tuple[tuple[int, float], ...]:
    """(instances, share of the class's acquisitions per instance) groups at ``cpus`` CPUs."""
    if "locks" in layout:  # lockbench: each operation picks one of K locks at random
        return _even(int(layout["locks"]))
    t_count = int(layout.get("swap_types", 1))
    if lock_class == "pool_lock":
        pools = int(layout.get("pools", 0))
        return _even(pools) if pools > 0 else _by_swap_type(cpus, t_count)
    if lock_class == "class_lock":
        return _size_classes(layout, cpus, t_count)
    if lock_class == "lru_lock":  # zswap's one lru_lock (later the list_lru's, one node, no memcg)
        return _even(1)
    if lock_class == "swap_lock":  # si->lock: one per swap type
        return _by_swap_type(cpus, t_count)
    if lock_class == "swap_cache_lock":  # one per swap type, or one per 64 MiB trunk (4b3ef9daa4fc)
        if layout.get("swap_cache_lock") == "64m":
            return _split64m_regions(layout, cpus)
        return _by_swap_type(cpus, t_count)
    if lock_class != "tree_lock":
        raise ValueError(f"no spread law for lock class {lock_class!r}")
    strategy = layout.get("strategy")
    if strategy == "global":
        return _even(1)
    if strategy == "per-swaptype":
        return _by_swap_type(cpus, t_count)
    if strategy == "hashed":
        return _even(int(layout.get("buckets", 256)))
    if strategy == "split64m":
        return _split64m_regions(layout, cpus)
    raise ValueError(f"no spread law for strategy {strategy!r}")


def spread_even(groups: tuple[tuple[int, float], ...]) -> tuple[tuple[int, float], ...]:
    """An uneven spread as the even spread over its effective instances: the participation ratio
    ``1 / sum(share^2)`` (what a run's ``lock_spread.effective`` reports), rounded to two
    significant digits.  That keeps the networks to solve few (one per effective count, not one
    per CPU count); at a hundred instances and more, 5% more or fewer changes little."""
    if len(groups) == 1:
        return groups
    effective = 1.0 / sum(n * share * share for n, share in groups)
    digits = max(0, len(str(int(effective))) - 2)
    effective = max(1, round(effective / 10**digits) * 10**digits)
    return ((effective, 1.0 / effective),)


def workload_network(w: Workload, cpus: int, handoff_ns: float) -> Network:
    groups = []
    for c in w.classes:
        for count, share in spread_even(instances_spread(w.layout, c.name, cpus)):
            groups.append(Group(c.name, count, c.acquisitions_per_op * share, c.hold_ns))
    return Network(outside_ns=w.outside_ns, groups=tuple(groups), lock=w.lock, handoff_ns=handoff_ns)


def model_predict(w: Workload, cpus: Iterable[int], handoff_ns: float) -> dict:
    """Predicted figures of ``w`` at every CPU count of ``cpus``, with the CPU count where its
    throughput peaks and where the next CPU stops adding much (both over 1..max(cpus)).

    Each distinct spread of the locks is one network, solved once up to the largest CPU count that
    uses it."""
    wanted = sorted(set(cpus))
    n_max = wanted[-1]
    nets: dict[Network, list[int]] = {}
    for n in range(1, n_max + 1):
        nets.setdefault(workload_network(w, n, handoff_ns), []).append(n)
    ops = np.zeros(n_max + 1)
    figures: dict[int, dict] = {}
    wanted_set = set(wanted)
    for net, ns in nets.items():
        sol = network_solve(net, max(ns))
        for n in ns:
            ops[n] = sol.throughput[n] * 1e9
            if n in wanted_set:
                figures[n] = point_figures(net, sol, n)
    one = ops[1]
    points = []
    for n in wanted:
        f = figures[n]
        points.append({"cpus": n, "ops_s": round(f["ops_s"], 1), "linear": round(one * n, 1),
                       "speedup": round(f["ops_s"] / one, 4), "efficiency": round(f["ops_s"] / one / n, 4),
                       "wait_share": round(f["wait_share"], 5),
                       "contentions_per_acquisition": round(f["contentions_per_acquisition"], 5),
                       "classes": {k: {kk: round(vv, 5) for kk, vv in c.items()} for k, c in f["classes"].items()}})
    peak = int(np.argmax(ops[1:] >= ops[1:].max() * (1 - 1e-6)) + 1)  # the first CPU count on the plateau
    gains = np.diff(ops[1:])  # what CPU n + 1 adds, n = 1..n_max-1
    stop = np.nonzero(gains < SATURATION_GAIN * one)[0]
    return {"points": points, "peak_cpus": peak, "peak_ops_s": round(float(ops[peak]), 1),
            "saturation_cpus": int(stop[0] + 1) if stop.size else None}


def workload_from_runs(runs: list[dict], label: str, lock: str, layout: dict) -> Workload:
    """The model's input from runs of one workload at one CPU count (run records, sweep entries or
    lockbench entries): per lock class the acquisitions per op and the mean hold, and the time per
    op outside every lock, ``cpus x seconds / ops - holds - waits``; each the median over ``runs``.
    Raises ValueError naming what is missing."""
    if not runs:
        raise ValueError("no runs")
    classes = [row["class"] for row in runs[0].get("lock_stat") or []]
    if not classes:
        raise ValueError("no lock_stat")
    outside, per_class = [], {c: ([], []) for c in classes}
    for r in runs:
        rows = {row["class"]: row for row in r.get("lock_stat") or []}
        if set(rows) != set(classes):
            raise ValueError("no lock_stat")
        ops = r["throughput"]["ops_s"] * r["seconds"]
        if ops <= 0:
            raise ValueError("no operations")
        cpu_ns_per_op = r["cpus"] * r["seconds"] * 1e9 / ops
        locked = 0.0
        for c in classes:
            row = rows[c]
            per_class[c][0].append(row["acquisitions"] / ops)
            per_class[c][1].append(row["holdtime-avg"])
            locked += (row["holdtime-total"] + row["waittime-total"]) / ops
        outside.append(max(0.0, cpu_ns_per_op - locked))
    return Workload(label=label, outside_ns=statistics.median(outside),
                    classes=tuple(LockClass(c, statistics.median(per_class[c][0]), statistics.median(per_class[c][1]))
                                  for c in classes),
                    lock=lock, layout=layout)


def workload_describe(w: Workload, cpus: Sequence[int]) -> dict:
    """The inputs the model used, as the prediction record states them."""
    return {
        "outside_ns": round(w.outside_ns, 1),
        "lock": w.lock,
        "classes": [{"class": c.name, "acquisitions_per_op": round(c.acquisitions_per_op, 4),
                     "hold_ns": round(c.hold_ns, 1),
                     "spread": {str(n): [[k, round(s, 6)] for k, s in instances_spread(w.layout, c.name, n)]
                                for n in sorted({1, 2, *cpus}) if n in (1, 2) or n == max(cpus)}}
                    for c in w.classes],
        "layout": w.layout,
    }
