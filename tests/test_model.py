"""The contention model against cases with known exact answers: one station and a delay, the
machine-repairman closed form, K identical stations, a brute-force Markov chain of a network with
two load-dependent stations; then its shape (monotonicity, the ticket collapse), how it spreads
acquisitions over instances, and how it reads its inputs."""

import math

import numpy as np
import pytest

from zswap_conc.model import (
    Group,
    LockClass,
    Network,
    Workload,
    handoff_costs,
    instances_spread,
    model_predict,
    network_solve,
    point_figures,
    spread_even,
    workload_from_runs,
)


def _one(hold, outside, lock="ticket", handoff=0.0, visits=1.0):
    return Network(outside, (Group("lock", 1, visits, hold),), lock, handoff)


def test_one_cpu_never_queues():
    net = Network(700.0, (Group("tree_lock", 1, 1.25, 300.0), Group("pool_lock", 4, 0.17, 250.0)), "ticket", 150.0)
    sol = network_solve(net, 1)
    f = point_figures(net, sol, 1)
    assert f["ops_s"] == pytest.approx(1e9 / (700 + 1.25 * 300 + 4 * 0.17 * 250))
    assert f["wait_share"] == pytest.approx(0.0, abs=1e-12)
    assert f["contentions_per_acquisition"] == 0.0


def test_throughput_bounds_and_their_asymptotes():
    d, z = 100.0, 1000.0
    sol = network_solve(_one(d, z), 2000)
    x = sol.throughput
    for n in range(1, 2001):
        assert x[n] <= min(n / (d + z), 1 / d) * (1 + 1e-12)
    assert x[2] > 1.8 / (d + z)  # few CPUs: nearly linear
    assert x[2000] == pytest.approx(1 / d, rel=1e-6)  # many: the lock's capacity
    assert np.all(np.diff(x[1:]) >= -1e-12 * x[2:])  # plain MVA never loses throughput


def _repairman(z, service, n):
    """Exact throughput of N CPUs, one load-dependent lock (service[j-1] with j at it), delay z."""
    logw = [(n - j) * math.log(z) - math.lgamma(n - j + 1) + float(np.sum(np.log(service[:j]))) for j in range(n + 1)]
    w = np.exp(np.array(logw) - max(logw))
    pi = w / w.sum()
    return float(sum(pi[j] * (n - j) for j in range(n + 1)) / z)


@pytest.mark.parametrize("hold, outside, lock, handoff", [
    (100, 1000, "ticket", 0), (100, 1000, "ticket", 80), (1000, 100, "ticket", 100), (200, 500, "ttas", 50),
    (10, 5000, "ticket", 300)])
def test_machine_repairman_closed_form(hold, outside, lock, handoff):
    sol = network_solve(_one(hold, outside, lock, handoff), 1024)
    service = hold + handoff_costs(lock, handoff, 1024)
    for n in (1, 2, 3, 8, 16, 64, 256, 1024):
        assert sol.throughput[n] == pytest.approx(_repairman(outside, service, n), rel=1e-9)


def test_identical_stations_grouped_equal_stations_apart():
    """K instances with uniform visits as one group of K, against K groups of one: symmetry is exact."""
    k, hold, outside = 4, 300.0, 800.0
    grouped = Network(outside, (Group("tree_lock", k, 1.0 / k, hold),), "ticket", 120.0)
    apart = Network(outside, tuple(Group("tree_lock", 1, 1.0 / k, hold) for _ in range(k)), "ticket", 120.0)
    a, b = network_solve(grouped, 64), network_solve(apart, 64)
    np.testing.assert_allclose(a.throughput[1:], b.throughput[1:], rtol=1e-10)
    for n in (2, 8, 64):
        fa, fb = point_figures(grouped, a, n), point_figures(apart, b, n)
        assert fa["contentions_per_acquisition"] == pytest.approx(fb["contentions_per_acquisition"], rel=1e-9)
        assert fa["wait_share"] == pytest.approx(fb["wait_share"], rel=1e-9)


def test_identical_stations_match_the_normalising_constant():
    """Load-independent: X(N) = G(N-1) / G(N), G the convolution of K stations (D^j each) and the
    delay (Z^j / j!)."""
    k, d, z, n_max = 3, 90.0, 400.0, 12
    g = np.array([z**j / math.factorial(j) for j in range(n_max + 1)])
    for _ in range(k):
        g = np.convolve(g, np.array([d**j for j in range(n_max + 1)]))[: n_max + 1]
    sol = network_solve(Network(z, (Group("lock", k, 1.0, d),), "ticket", 0.0), n_max)
    for n in range(1, n_max + 1):
        assert sol.throughput[n] == pytest.approx(g[n - 1] / g[n], rel=1e-10)


def _ctmc_throughput(n, z, v1, s1, v2, s2):
    """Brute force: the Markov chain of N CPUs over a delay and two FCFS stations whose service
    times depend on their queue (s1[j-1], s2[j-1]); after any station a CPU goes to station i with
    probability q_i, or back to the delay, so that station i is visited v_i times per delay visit."""
    q0 = 1 / (1 + v1 + v2)
    q = (q0, v1 * q0, v2 * q0)
    states = [(a, b) for a in range(n + 1) for b in range(n + 1 - a)]
    index = {s: i for i, s in enumerate(states)}
    gen = np.zeros((len(states), len(states)))
    for (a, b), i in index.items():
        rates = ((n - a - b) / z, 1 / s1[a - 1] if a else 0.0, 1 / s2[b - 1] if b else 0.0)
        for src, rate in enumerate(rates):
            for dst in range(3):
                if rate == 0 or src == dst:
                    continue
                na, nb = a - (src == 1) + (dst == 1), b - (src == 2) + (dst == 2)
                gen[i, index[(na, nb)]] += rate * q[dst]
                gen[i, i] -= rate * q[dst]
    a_mat = np.vstack([gen.T, np.ones(len(states))])
    rhs = np.zeros(len(states) + 1)
    rhs[-1] = 1
    pi = np.linalg.lstsq(a_mat, rhs, rcond=None)[0]
    # operations = delay visits: completions at the delay, whatever comes next
    return sum(pi[index[s]] * (n - s[0] - s[1]) / z for s in states)


@pytest.mark.parametrize("lock", ["ticket", "ttas"])
def test_two_load_dependent_stations_match_the_markov_chain(lock):
    z, v1, h1, v2, h2, c, n_max = 500.0, 1.25, 200.0, 0.7, 150.0, 90.0, 5
    net = Network(z, (Group("tree_lock", 1, v1, h1), Group("pool_lock", 1, v2, h2)), lock, c)
    sol = network_solve(net, n_max)
    hand = handoff_costs(lock, c, n_max)
    for n in range(1, n_max + 1):
        assert sol.throughput[n] == pytest.approx(_ctmc_throughput(n, z, v1, h1 + hand, v2, h2 + hand), rel=1e-8)


def test_more_cpus_more_contention_longer_holds_less_throughput():
    w = Workload("w", 900.0, (LockClass("lock", 1.0, 150.0),), "ticket", {"locks": 1})
    pts = model_predict(w, range(1, 33), 0.0)["points"]
    con = [p["contentions_per_acquisition"] for p in pts]
    wait = [p["wait_share"] for p in pts]
    assert con == sorted(con) and wait == sorted(wait) and con[0] == 0 and con[-1] > 0.9
    longer = model_predict(Workload("w", 900.0, (LockClass("lock", 1.0, 300.0),), "ticket", {"locks": 1}),
                           range(1, 33), 0.0)["points"]
    assert all(b["ops_s"] < a["ops_s"] for a, b in zip(pts, longer, strict=True))


def test_ticket_hand_off_collapses_past_a_peak_plain_and_ttas_do_not():
    def run(lock, handoff):
        w = Workload("w", 1000.0, (LockClass("lock", 1.0, 100.0),), lock, {"locks": 1})
        return model_predict(w, range(1, 257), handoff)

    plain, ticket, ttas = run("ticket", 0.0), run("ticket", 100.0), run("ttas", 100.0)
    top = {k: max(p["ops_s"] for p in r["points"]) for k, r in (("plain", plain), ("ticket", ticket), ("ttas", ttas))}
    last = {k: r["points"][-1]["ops_s"] for k, r in (("plain", plain), ("ticket", ticket), ("ttas", ttas))}
    assert 2 <= ticket["peak_cpus"] <= 16 and last["ticket"] < top["ticket"] / 5  # the collapse
    assert last["plain"] == pytest.approx(top["plain"], rel=1e-6) and plain["saturation_cpus"] > ticket["peak_cpus"]
    assert last["ttas"] > 0.99 * top["ttas"] and top["ttas"] < top["plain"]  # no collapse, a lower ceiling
    assert ticket["saturation_cpus"] <= ticket["peak_cpus"]
    assert ticket["points"][1]["ops_s"] < plain["points"][1]["ops_s"]  # the hand-off costs even at 2


def test_spread_laws():
    cfg = {"strategy": "hashed", "swap_types": 1, "buckets": 256, "pools": 0, "swap_size": 16 << 30,
           "clusters_per_cpu": 4}
    assert instances_spread(cfg, "tree_lock", 2) == ((256, 1 / 256),)
    assert instances_spread(cfg, "pool_lock", 64) == ((1, 1.0),)
    assert instances_spread(cfg | {"pools": 32}, "pool_lock", 2) == ((32, 1 / 32),)
    assert instances_spread(cfg | {"strategy": "global", "swap_types": 4}, "tree_lock", 64) == ((1, 1.0),)
    four = cfg | {"strategy": "per-swaptype", "swap_types": 4}
    assert instances_spread(four, "tree_lock", 1) == ((1, 1.0),)
    assert instances_spread(four, "tree_lock", 2) == ((2, 0.5),)
    assert instances_spread(four, "pool_lock", 64) == ((4, 0.25),)
    assert instances_spread({"locks": 7}, "lock", 3) == ((7, 1 / 7),)
    with pytest.raises(ValueError):
        instances_spread(cfg | {"strategy": "btree"}, "tree_lock", 2)


def test_spread_laws_of_the_profiles_lock_classes():
    """The kernel profiles' other classes: one lru_lock; si->lock per swap type; the swap cache per
    type or per 64 MiB trunk (as split64m's trees); size classes as measured, per pool in use."""
    cfg = {"strategy": "split64m", "swap_types": 4, "pools": 0, "swap_size": 16 << 30, "clusters_per_cpu": 4,
           "measured_spread": {"class_lock": 40.0}, "input_cpus": 1}
    assert instances_spread(cfg, "lru_lock", 64) == ((1, 1.0),)
    assert instances_spread(cfg, "swap_lock", 2) == ((2, 0.5),)
    assert instances_spread(cfg, "swap_lock", 64) == ((4, 0.25),)
    assert instances_spread(cfg | {"swap_cache_lock": "type"}, "swap_cache_lock", 64) == ((4, 0.25),)
    assert instances_spread(cfg | {"swap_cache_lock": "64m"}, "swap_cache_lock", 16) == \
        instances_spread(cfg, "tree_lock", 16)
    assert instances_spread(cfg, "class_lock", 1) == ((40, 1 / 40),)
    assert instances_spread(cfg, "class_lock", 3) == ((120, 1 / 120),)  # three swap types' pools in use
    assert instances_spread(cfg | {"pools": 1}, "class_lock", 64) == ((40, 1 / 40),)
    with pytest.raises(ValueError, match="class_lock"):
        instances_spread(cfg | {"measured_spread": {}}, "class_lock", 2)


@pytest.mark.parametrize("cpus, swap_types, swap_size", [
    (1, 1, 16 << 30), (2, 1, 16 << 30), (3, 2, 16 << 30), (64, 1, 16 << 30), (65, 1, 16 << 30), (100, 1, 16 << 30),
    (1000, 1, 16 << 30), (5, 1, 1 << 30), (7, 3, 4 << 30)])
def test_split64m_law_follows_the_arenas_cluster_layout(cpus, swap_types, swap_size):
    """The law's trees and shares, against the arena's own cluster table and the strategy's tree_for."""
    from zswap_conc.arena import cluster_table
    from zswap_conc.config import Config
    from zswap_conc.params import P_TREES_PER_TYPE, P_WIDTH
    from zswap_conc.strategies import split64m

    cfg = Config(strategy="split64m", cpus=cpus, swap_types=swap_types, swap_size=swap_size)
    p = np.zeros(P_WIDTH, np.int64)
    p[P_TREES_PER_TYPE] = split64m.tree_count(1, cfg.slots_per_type, 0)
    trees = [split64m.tree_for.py_func(p, int(t), int(off)) for t, off in cluster_table(cfg)]
    counts = {}
    for t in trees:
        counts[t] = counts.get(t, 0) + 1
    law = instances_spread({"strategy": "split64m", "swap_types": swap_types, "swap_size": swap_size,
                            "clusters_per_cpu": cfg.clusters_per_cpu}, "tree_lock", cpus)
    regions = split64m.tree_count(swap_types, cfg.slots_per_type, 0)
    if len(trees) > regions:  # more clusters than trees: taken as even over them all
        effective = len(trees) ** 2 / sum(c * c for c in counts.values())
        assert law == ((regions, 1 / regions),) and 0.85 * regions <= effective <= regions
        return
    expected = {}
    for c in counts.values():
        expected[c / len(trees)] = expected.get(c / len(trees), 0) + 1
    assert {share: n for n, share in law} == pytest.approx(expected)


def test_uneven_spreads_become_their_effective_even_spread():
    assert spread_even(((4, 0.25),)) == ((4, 0.25),)
    # 150 trees with 2 clusters, 100 with 1: 400^2 / (150 * 4 + 100) = 228.6 effective -> 230
    assert spread_even(((100, 1 / 400), (150, 2 / 400))) == ((230, 1 / 230),)
    assert spread_even(((1, 0.5), (2, 0.25))) == ((3, 1 / 3),)  # 1 / (0.25 + 0.125) = 2.67 -> 3


def _run(cpus, seconds, ops, rows):
    return {"cpus": cpus, "seconds": seconds, "throughput": {"ops_s": ops / seconds}, "lock_stat": rows}


def _row(cls, acq, hold_avg, wait_total=0.0):
    return {"class": cls, "acquisitions": acq, "holdtime-avg": hold_avg, "holdtime-total": acq * hold_avg,
            "waittime-total": wait_total}


def test_inputs_from_runs():
    # 1 CPU, 1 s, 1e6 ops: 1000 ns per op, of which 1.25 x 300 in tree_lock and 0.5 x 200 in pool_lock
    runs = [_run(1, 1.0, 1e6, [_row("tree_lock", 1.25e6, 300.0), _row("pool_lock", 5e5, 200.0)])] * 3
    w = workload_from_runs(runs, "v", "ticket", {"strategy": "global"})
    assert w.outside_ns == pytest.approx(1000 - 375 - 100)
    assert [(c.name, c.acquisitions_per_op, c.hold_ns) for c in w.classes] == \
        [("tree_lock", 1.25, 300.0), ("pool_lock", 0.5, 200.0)]
    # at 2 CPUs the waits are not outside time
    two = workload_from_runs([_run(2, 1.0, 1e6, [_row("lock", 1e6, 500.0, wait_total=2e8)])], "v", "ticket",
                             {"locks": 1})
    assert two.outside_ns == pytest.approx(2000 - 500 - 200)
    for bad in ([_run(1, 1.0, 1e6, [])], []):
        with pytest.raises(ValueError):
            workload_from_runs(bad, "v", "ticket", {"locks": 1})


def test_predicted_points_carry_every_figure_and_the_input_mark():
    w = Workload("w", 500.0, (LockClass("lock", 1.0, 50.0),), "ttas", {"locks": 256})
    res = model_predict(w, [1, 2, 16, 64, 256], 40.0)
    assert [p["cpus"] for p in res["points"]] == [1, 2, 16, 64, 256]
    for p in res["points"]:
        assert p["linear"] == pytest.approx(res["points"][0]["ops_s"] * p["cpus"], rel=1e-6)
        assert 0 <= p["wait_share"] < 1 and 0 <= p["contentions_per_acquisition"] <= 1
        assert p["speedup"] == pytest.approx(p["ops_s"] / res["points"][0]["ops_s"], abs=1e-4)
