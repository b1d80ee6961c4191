"""Compare two results files point by point: ratios, each side's noise, and whether a difference
is larger than that noise.  Refuses files from different machines or configurations unless
forced, naming the first field that differs.  Reads files only.
"""

from __future__ import annotations

from zswap_conc.results.document import ResultsError, load
from zswap_conc.results.sweep import doc_points

MACHINE_FIELDS = ("cpu_model", "machine", "cores_allowed")
IGNORED_CONFIG = {"duration", "warmup", "cpus", "strategy", "swap_types"}  # precision, or the point itself


def _config_of(doc: dict) -> dict:
    if doc["kind"] == "sweep":
        c = dict(doc.get("experiment", {}).get("base_config", {}))
        c["workload"] = doc.get("experiment", {}).get("workload")
        return c
    return dict(doc.get("config", {}))


def compatibility_problem(a: dict, b: dict) -> str | None:
    """The first field on which the two documents' machine or configuration differ, or None."""
    for f in MACHINE_FIELDS:
        if a["meta"].get(f) != b["meta"].get(f):
            return f"meta.{f} differs ({a['meta'].get(f)!r} vs {b['meta'].get(f)!r})"
    ca, cb = _config_of(a), _config_of(b)
    for f in sorted(set(ca) | set(cb)):
        if f in IGNORED_CONFIG:
            continue
        if ca.get(f) != cb.get(f):
            return f"config.{f} differs ({ca.get(f)!r} vs {cb.get(f)!r})"
    return None


def _spread(p: dict) -> float:
    o = p["ops_s"]
    return (o["max"] - o["min"]) / o["median"] if o["median"] else 0.0


def compare_docs(a: dict, b: dict, src_a: str, src_b: str) -> list[dict]:
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
        ratio = y["ops_s"]["median"] / x["ops_s"]["median"] if x["ops_s"]["median"] else float("inf")
        noise = max(_spread(x), _spread(y))
        row.update(a_ops_s=x["ops_s"]["median"], b_ops_s=y["ops_s"]["median"], ratio=round(ratio, 4),
                   a_spread=round(_spread(x), 4), b_spread=round(_spread(y), 4),
                   a_wait_share=x["wait_share"], b_wait_share=y["wait_share"],
                   verdict="within noise" if abs(ratio - 1) <= noise else ("faster" if ratio > 1 else "slower"))
        rows.append(row)
    return rows


def _pct(x: float | None) -> str:
    return f"{'-':>7}" if x is None else f"{x:>7.1%}"


def compare_table(rows: list[dict]) -> str:
    head = (f"{'variant':<16} {'cpus':>4} {'A ops/s':>12} {'±A':>6} {'B ops/s':>12} {'±B':>6} {'B/A':>7} "
            f"{'wait A':>7} {'wait B':>7}  verdict")
    lines = [head]
    for r in rows:
        if "only_in" in r:
            lines.append(f"{r['variant']:<16} {r['cpus']:>4}  only in {r['only_in']}")
            continue
        lines.append(f"{r['variant']:<16} {r['cpus']:>4} {r['a_ops_s']:>12,.0f} {r['a_spread']:>6.1%} "
                     f"{r['b_ops_s']:>12,.0f} {r['b_spread']:>6.1%} {r['ratio']:>7.3f} {_pct(r['a_wait_share'])} "
                     f"{_pct(r['b_wait_share'])}  {r['verdict']}")
    lines.append("±: spread of the repeats, (max - min) / median; a ratio inside the larger spread is noise")
    return "\n".join(lines)


def compare_files(path_a: str, path_b: str, force: bool = False) -> tuple[list[dict], str | None]:
    a, b = load(path_a), load(path_b)
    problem = compatibility_problem(a, b)
    if problem and not force:
        raise ResultsError(f"refusing to compare {path_a} and {path_b}: {problem}; use --force to compare anyway")
    return compare_docs(a, b, path_a, path_b), problem
