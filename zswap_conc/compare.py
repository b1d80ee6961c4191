"""Compare two results files point by point: ratios, each side's noise, and whether a difference
is larger than that noise.  Refuses files from different machines or configurations unless
forced, naming the first field that differs.  Reads files only.

A verdict is a stated test, never a ratio read against a single run: "faster" or "slower" only
when the rank test of ``stats`` (two-sided Mann-Whitney U on the runs' ops/s) gives p < 0.05;
"noise unknown" when a side has fewer than 2 runs; "too few repeats" when the two sides' run counts
cannot reach p < 0.05 at all (3 a side); "disturbed" when a run of either side was (``disturbance``):
its figures measure the machine's other load, so it is not compared.
"""

from __future__ import annotations

from zswap_conc.results.document import ResultsError, load
from zswap_conc.results.sweep import doc_points
from zswap_conc.stats import ALPHA, TEST_NAME, rank_test

MACHINE_FIELDS = ("cpu_model", "machine", "cores_allowed")
IGNORED_CONFIG = {"duration", "warmup", "cpus", "strategy", "swap_types"}  # precision, or the point itself


LOCKBENCH_RUN_KEYS = {"cpus", "duration", "warmup", "repeats", "oversubscribe", "pin", "seed", "ops_per_cpu",
                      "lockstat"}  # how a lockbench was measured, not the shape it measured


def config_of(doc: dict) -> dict:
    """The configuration two documents must share to be compared (a prediction: its input's)."""
    if doc["kind"] == "sweep":
        c = dict(doc.get("experiment", {}).get("base_config", {}))
        c["workload"] = doc.get("experiment", {}).get("workload")
        return c
    if doc["kind"] == "lockbench":
        return {k: v for k, v in doc.get("config", {}).items() if k not in LOCKBENCH_RUN_KEYS}
    if doc["kind"] == "prediction":
        return dict(doc.get("inputs", {}).get("config", {}))
    return dict(doc.get("config", {}))


def think_auto(doc: dict) -> bool:
    """Whether the document's think time was sized by the run itself (``--think-ns auto``): two such
    documents asked for the same thing, though the sizes they measured differ a little."""
    think = doc.get("meta", {}).get("think")
    return isinstance(think, dict) and think.get("auto") is True


def compatibility_problem(a: dict, b: dict) -> str | None:
    """The first field on which the two documents' machine or configuration differ, or None."""
    for f in MACHINE_FIELDS:
        if a["meta"].get(f) != b["meta"].get(f):
            return f"meta.{f} differs ({a['meta'].get(f)!r} vs {b['meta'].get(f)!r})"
    ca, cb = config_of(a), config_of(b)
    for f in sorted(set(ca) | set(cb)):
        if f in IGNORED_CONFIG or (f == "think_ns" and think_auto(a) and think_auto(b)):
            continue
        if ca.get(f) != cb.get(f):
            return f"config.{f} differs ({ca.get(f)!r} vs {cb.get(f)!r})"
    return None


def _spread(p: dict) -> float:
    o = p["ops_s"]
    return (o["max"] - o["min"]) / o["median"] if o["median"] else 0.0


def verdict(x: dict, y: dict) -> dict:
    """The verdict on point ``y`` (B) against ``x`` (A) and what it rests on (see the module docstring)."""
    ra, rb = x["ops_s"].get("runs") or [], y["ops_s"].get("runs") or []
    out: dict = {"a_repeats": len(ra), "b_repeats": len(rb), "p": None, "test": None}
    if x.get("disturbed") or y.get("disturbed"):
        sides = ", ".join(f"{p.get('disturbed_runs', 1)} of {len(p['ops_s'].get('runs') or [])} runs of {s}"
                          for s, p in (("A", x), ("B", y)) if p.get("disturbed"))
        return out | {"verdict": "disturbed", "why": f"{sides} disturbed; not compared"}
    if len(ra) < 2 or len(rb) < 2:
        return out | {"verdict": "noise unknown",
                      "why": f"{min(len(ra), len(rb))} run(s) on a side; a test needs 2 or more"}
    t = rank_test(ra, rb)
    out.update(p=t["p"], test=TEST_NAME)
    if t["min_p"] >= ALPHA:
        return out | {"verdict": "too few repeats",
                      "why": f"{len(ra)} vs {len(rb)} runs cannot show p < {ALPHA:g} (smallest p {t['min_p']:.3g})"}
    if t["p"] >= ALPHA:
        return out | {"verdict": "within noise", "why": f"p = {t['p']:.3g}"}
    faster = sorted(rb)[len(rb) // 2] > sorted(ra)[len(ra) // 2]
    return out | {"verdict": "faster" if faster else "slower", "why": f"p = {t['p']:.3g}"}


def compare_docs(a: dict, b: dict, src_a: str, src_b: str) -> list[dict]:
    if "prediction" in (a["kind"], b["kind"]):
        return prediction_errors(a, b, src_a, src_b)
    pa = {(p["variant"], p["cpus"]): p for p in doc_points(a, src_a)}
    pb = {(p["variant"], p["cpus"]): p for p in doc_points(b, src_b)}
    rows = []
    for key in list(pa) + [k for k in pb if k not in pa]:
        x, y = pa.get(key), pb.get(key)
        row = {"variant": key[0], "cpus": key[1]}
        if x is None or y is None:
            row["only_in"] = "A" if y is None else "B"
            rows.append(row)
            continue
        xm, ym = x["ops_s"]["median"], y["ops_s"]["median"]
        row.update(a_ops_s=xm, b_ops_s=ym, ratio=round(ym / xm, 4) if xm else None,  # None: A measured 0 ops/s
                   a_spread=round(_spread(x), 4), b_spread=round(_spread(y), 4),
                   a_wait_share=x["wait_share"], b_wait_share=y["wait_share"],
                   a_disturbed=bool(x.get("disturbed")), b_disturbed=bool(y.get("disturbed")), **verdict(x, y))
        rows.append(row)
    return rows


OPS_GOAL = 0.15  # the model's goal: |predicted / measured - 1| of ops/s at every point it did not take as input
CONTENTION_GOAL = 0.05  # and |predicted - measured| contentions per acquisition


def prediction_errors(a: dict, b: dict, src_a: str, src_b: str) -> list[dict]:
    """The model's error at every measured point a prediction covers: one of ``a`` and ``b`` is a
    prediction, the other a measurement.  A point at the CPU count the prediction took as input is
    marked ``input``: the model reproduces its input, which proves nothing."""
    if a["kind"] == "prediction" and b["kind"] == "prediction":
        raise ResultsError(f"refusing to compare {src_a} and {src_b}: both are predictions; accepted: a prediction "
                           f"and a measurement (sweep, run or lockbench)")
    pred, meas, src_m = (a, b, src_b) if a["kind"] == "prediction" else (b, a, src_a)
    pp = {(p["variant"], p["cpus"]): p for p in doc_points(pred, src_a if pred is a else src_b)}
    rows = []
    for m in doc_points(meas, src_m):
        key = (m["variant"], m["cpus"])
        row = {"variant": key[0], "cpus": key[1], "measured_ops_s": m["ops_s"]["median"],
               "measured_min": m["ops_s"]["min"], "measured_max": m["ops_s"]["max"],
               "measured_contentions_per_acquisition": m["contentions_per_acquisition"],
               "measured_wait_share": m["wait_share"], "oversubscribed": m["oversubscribed"]}
        p = pp.get(key)
        if p is None:
            row["role"] = "not predicted"
            rows.append(row)
            continue
        row["measured_disturbed"] = bool(m.get("disturbed"))
        mo = m["ops_s"]["median"]
        pc, mc = p["contentions_per_acquisition"], m["contentions_per_acquisition"]
        role = "input" if p.get("input") else ("disturbed" if m.get("disturbed") else "checked")
        row.update(role=role, predicted_ops_s=p["ops_s"]["median"],
                   ops_error=round(p["ops_s"]["median"] / mo - 1, 4) if mo else None,
                   measured_spread=round(_spread(m), 4),
                   predicted_contentions_per_acquisition=pc,
                   contention_error=round(pc - mc, 5) if mc is not None else None,
                   predicted_wait_share=p["wait_share"])
        rows.append(row)
    return rows


def prediction_summary(rows: list[dict]) -> dict:
    """The largest errors over the points the model did not take as input, against the goals."""
    checked = [r for r in rows if r.get("role") == "checked"]
    ops = [abs(r["ops_error"]) for r in checked if r.get("ops_error") is not None]
    con = [abs(r["contention_error"]) for r in checked if r.get("contention_error") is not None]
    return {"points_checked": len(checked), "max_ops_error": max(ops) if ops else None,
            "max_contention_error": max(con) if con else None,
            "ops_goal_met": bool(ops) and max(ops) <= OPS_GOAL,
            "contention_goal_met": bool(con) and max(con) <= CONTENTION_GOAL}


def prediction_error_table(rows: list[dict]) -> str:
    w = max([16] + [len(r["variant"]) for r in rows])
    lines = [f"{'variant':<{w}} {'cpus':>4} {'predicted':>12} {'measured':>12} {'±meas':>6} {'error':>7} "
             f"{'cont/acq pred':>13} {'meas':>7} {'diff':>7} {'wait pred':>9} {'meas':>7}  role"]
    for r in rows:
        if r["role"] == "not predicted":
            lines.append(f"{r['variant']:<{w}} {r['cpus']:>4} {'-':>12} {r['measured_ops_s']:>12,.0f}  not predicted")
            continue
        err = f"{r['ops_error']:>+7.1%}" if r["ops_error"] is not None else f"{'-':>7}"
        cdiff = f"{r['contention_error']:>+7.4f}" if r["contention_error"] is not None else f"{'-':>7}"
        mc = r["measured_contentions_per_acquisition"]
        lines.append(f"{r['variant']:<{w}} {r['cpus']:>3}{'*' if r['oversubscribed'] else ' '} "
                     f"{r['predicted_ops_s']:>12,.0f} {r['measured_ops_s']:>12,.0f} {r['measured_spread']:>6.1%} {err} "
                     f"{r['predicted_contentions_per_acquisition']:>13.4f} {_num(mc, '>7.4f')} {cdiff} "
                     f"{r['predicted_wait_share']:>9.2%} {_pct(r['measured_wait_share'])}  {r['role']}")
    s = prediction_summary(rows)
    if s["points_checked"]:
        lines.append(f"largest error over {s['points_checked']} checked point(s): ops/s {s['max_ops_error']:.1%} "
                     f"(goal {OPS_GOAL:.0%}: {'met' if s['ops_goal_met'] else 'MISSED'}), contentions per acquisition "
                     f"{_num(s['max_contention_error'], '.4f')} (goal {CONTENTION_GOAL}: "
                     f"{'met' if s['contention_goal_met'] else 'MISSED'})")
    else:
        lines.append("no checked point: the measurement has no CPU count besides the prediction's input")
    lines.append("error: predicted / measured - 1; ±meas: spread of the repeats, (max - min) / median; "
                 "input: the CPU count the prediction was made from (proves nothing)")
    return "\n".join(lines)


def _num(x: float | None, spec: str) -> str:
    return "-".rjust(int(spec.lstrip("<>+").split(".")[0] or 1)) if x is None else format(x, spec)


def _pct(x: float | None) -> str:
    return f"{'-':>7}" if x is None else f"{x:>7.1%}"


def compare_table(rows: list[dict]) -> str:
    if any("role" in r for r in rows):
        return prediction_error_table(rows)
    w = max([16] + [len(r["variant"]) for r in rows])
    head = (f"{'variant':<{w}} {'cpus':>4} {'A ops/s':>12} {'±A':>6} {'B ops/s':>12} {'±B':>6} {'B/A':>7} "
            f"{'runs':>5} {'p':>6} {'wait A':>7} {'wait B':>7}  verdict")
    lines = [head]
    for r in rows:
        if "only_in" in r:
            lines.append(f"{r['variant']:<{w}} {r['cpus']:>4}  only in {r['only_in']}")
            continue
        ratio = f"{r['ratio']:>7.3f}" if r["ratio"] is not None else f"{'-':>7}"
        p = f"{r['p']:>6.3f}" if r["p"] is not None else f"{'-':>6}"
        lines.append(f"{r['variant']:<{w}} {r['cpus']:>4} {r['a_ops_s']:>12,.0f} {r['a_spread']:>6.1%} "
                     f"{r['b_ops_s']:>12,.0f} {r['b_spread']:>6.1%} {ratio} "
                     f"{r['a_repeats']:>2}/{r['b_repeats']:<2} {p} "
                     f"{_pct(r['a_wait_share'])} {_pct(r['b_wait_share'])}  {r['verdict']} ({r['why']})")
    lines.append(f"±: spread of the runs, (max - min) / median; runs: A/B; p: {TEST_NAME} on the runs' ops/s; "
                 f"faster or slower at p < {ALPHA:g}; 3 runs a side cannot reach it, 4 can")
    return "\n".join(lines)


def compare_files(path_a: str, path_b: str, force: bool = False) -> tuple[list[dict], str | None]:
    a, b = load(path_a), load(path_b)
    problem = compatibility_problem(a, b)
    if problem and not force:
        raise ResultsError(f"refusing to compare {path_a} and {path_b}: {problem}; use --force to compare anyway")
    return compare_docs(a, b, path_a, path_b), problem
