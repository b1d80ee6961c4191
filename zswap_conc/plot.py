"""Contention curves from results files: throughput with each variant's linear ideal, speedup,
lock wait share and contentions per acquisition against CPUs.  Reads files only.
"""

from __future__ import annotations

from pathlib import Path

from zswap_conc.results import ResultsError, load

PANELS = (
    ("ops_s", "throughput (ops/s)"),
    ("speedup", "speedup over the smallest CPU count measured"),
    ("wait_share", "time waiting for locks (%)"),
    ("contentions_per_acquisition", "contentions per acquisition"),
)


def doc_points(doc: dict, source: str) -> list[dict]:
    """Points of a sweep document, or the single point of a run document."""
    from zswap_conc.sweep import sweep_points

    if doc["kind"] == "sweep":
        if "runs" not in doc:
            raise ResultsError(f"{source}: field 'runs' is missing")
        try:
            return sweep_points(doc)
        except (KeyError, TypeError) as e:
            raise ResultsError(f"{source}: a run lacks field {e}") from None
    if doc["kind"] == "run":
        try:
            c = doc["config"]
            ops = doc["throughput"]["ops_s"]
            label = c["strategy"] if c["swap_types"] == 1 else f"{c['strategy']}:{c['swap_types']}"
            return [{
                "variant": label, "strategy": c["strategy"], "swap_types": c["swap_types"], "cpus": c["cpus"],
                "oversubscribed": doc["meta"].get("oversubscribed", False), "repeats": 1,
                "ops_s": {"median": ops, "min": ops, "max": ops}, "linear": ops, "speedup": 1.0, "efficiency": 1.0,
                "wait_share": doc["contention"]["wait_share"],
                "contentions_per_acquisition": doc["contention"]["contentions_per_acquisition"],
                "integrity_ok": True,
            }]
        except (KeyError, TypeError) as e:
            raise ResultsError(f"{source}: field {e} is missing") from None
    raise ResultsError(f"{source}: field 'kind' is {doc['kind']!r}; accepted: sweep, run")


def plot_docs(docs: list[dict], sources: list[str], prefix: str | Path) -> list[Path]:
    """Draw one figure for all documents; writes PREFIX.png and PREFIX.svg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    many = len(docs) > 1
    k = 0
    max_cpus = 1
    min_cpus = 1 << 20
    for doc, src in zip(docs, sources, strict=True):
        pts = doc_points(doc, src)
        for variant in dict.fromkeys(p["variant"] for p in pts):
            vp = sorted((p for p in pts if p["variant"] == variant), key=lambda p: p["cpus"])
            colour = colours[k % len(colours)]
            k += 1
            label = f"{variant} ({Path(src).parent.name or Path(src).stem})" if many else variant
            xs = [p["cpus"] for p in vp]
            max_cpus = max(max_cpus, *xs)
            min_cpus = min(min_cpus, *xs)
            for ax, (key, _) in zip(axes.flat, PANELS, strict=True):
                if key == "ops_s":
                    ys = [p["ops_s"]["median"] for p in vp]
                    lo = [p["ops_s"]["median"] - p["ops_s"]["min"] for p in vp]
                    hi = [p["ops_s"]["max"] - p["ops_s"]["median"] for p in vp]
                    ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", color=colour, label=label, capsize=3)
                    ax.plot(xs, [p["linear"] for p in vp], ls="--", lw=1, color=colour, alpha=0.6)
                else:
                    ys = [p[key] * (100 if key == "wait_share" else 1) for p in vp]
                    ax.plot(xs, ys, marker="o", color=colour, label=label)
                over = [(x, y) for x, y, p in zip(xs, ys, vp, strict=True) if p["oversubscribed"]]
                if over:
                    ax.scatter(*zip(*over, strict=True), s=120, facecolors="none", edgecolors="red", zorder=5)
    min_cpus = min(min_cpus, max_cpus)
    axes.flat[1].plot([min_cpus, max_cpus], [1, max_cpus / min_cpus], ls=":", color="grey", label="linear")
    for ax, (_, title) in zip(axes.flat, PANELS, strict=True):
        ax.set_xlabel("CPUs (worker processes)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.set_xticks(range(1, max_cpus + 1, max(1, max_cpus // 8)))
    axes.flat[0].set_ylim(bottom=0)
    axes.flat[0].legend(fontsize=8, title="dashed: linear ideal", title_fontsize=8)
    axes.flat[1].legend(fontsize=8)
    m = docs[0]["meta"]
    cfg = docs[0].get("experiment", {}).get("base_config") or docs[0].get("config", {})
    comp = cfg.get("compressor", "?")
    if comp == "synthetic":
        comp = f"synthetic:{cfg.get('synthetic_ns')}ns"
    fig.suptitle(f"zswap-conc: {m.get('cpu_model', '?')}, {m.get('cores_allowed', '?')} cores; "
                 f"compressor {comp}, allocator {cfg.get('allocator', '?')}, lock {cfg.get('lock', '?')} "
                 f"(median of repeats, bars: min..max; red rings: oversubscribed)", fontsize=10)
    return figure_save(fig, prefix)


def figure_save(fig, prefix: str | Path) -> list[Path]:
    """PREFIX.png (for reading) and PREFIX.svg (for publishing), then free the figure."""
    import matplotlib.pyplot as plt

    prefix = Path(prefix)
    out = [prefix.with_suffix(".png"), prefix.with_suffix(".svg")]
    fig.savefig(out[0], dpi=120)
    fig.savefig(out[1])
    plt.close(fig)
    return out


def plot_files(paths: list[str], prefix: str | None) -> list[Path]:
    docs = [load(p) for p in paths]
    if prefix is None:
        prefix = str(Path(paths[0]).with_name("contention"))
    return plot_docs(docs, paths, prefix)
