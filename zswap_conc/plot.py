"""Figures from results files: contention curves (throughput with each variant's linear ideal,
speedup, lock wait share and contentions per acquisition against CPUs) and the reclaim curves
(pageframes freed against objects written back).  Reads records only (``results``), never runs
anything.
"""

from __future__ import annotations

from pathlib import Path

from zswap_conc.results.document import load
from zswap_conc.results.run import compressor_label, kernel_label
from zswap_conc.results.sweep import doc_points

PANELS = (
    ("ops_s", "throughput (ops/s)"),
    ("speedup", "speedup over the smallest CPU count measured"),
    ("wait_share", "time waiting for locks (%)"),
    ("contentions_per_acquisition", "contentions per acquisition"),
)


def plot_docs(docs: list[dict], sources: list[str], prefix: str | Path) -> list[Path]:
    """Draw one figure for all documents; writes PREFIX.png and PREFIX.svg.  Predictions are drawn
    dashed, in the colour of the measured variant of the same name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), constrained_layout=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    colour_of: dict[str, str] = {}
    many = len([d for d in docs if d["kind"] != "prediction"]) > 1
    max_cpus = 1
    min_cpus = 1 << 20
    for doc, src in zip(docs, sources, strict=True):
        pts = doc_points(doc, src)
        predicted = doc["kind"] == "prediction"
        for variant in dict.fromkeys(p["variant"] for p in pts):
            vp = sorted((p for p in pts if p["variant"] == variant), key=lambda p: p["cpus"])
            colour = colour_of.setdefault(variant, colours[len(colour_of) % len(colours)])
            label = f"{variant} ({Path(src).parent.name or Path(src).stem})" if many and not predicted else variant
            if predicted:
                label = f"{variant} (predicted)"
            xs = [p["cpus"] for p in vp]
            max_cpus = max(max_cpus, *xs)
            min_cpus = min(min_cpus, *xs)
            for ax, (key, _) in zip(axes.flat, PANELS, strict=True):
                if key == "ops_s" and predicted:
                    ys = [p["ops_s"]["median"] for p in vp]
                    ax.plot(xs, ys, ls=PREDICTED_STYLE, lw=2, color=colour, label=label)
                elif key == "ops_s":
                    ys = [p["ops_s"]["median"] for p in vp]
                    lo = [p["ops_s"]["median"] - p["ops_s"]["min"] for p in vp]
                    hi = [p["ops_s"]["max"] - p["ops_s"]["median"] for p in vp]
                    ax.errorbar(xs, ys, yerr=[lo, hi], marker="o", color=colour, label=label, capsize=3)
                    ax.plot(xs, [p["linear"] for p in vp], ls="--", lw=1, color=colour, alpha=0.6)
                else:
                    ys = [float("nan") if p[key] is None else p[key] * (100 if key == "wait_share" else 1)
                          for p in vp]  # None: measured with lock statistics off
                    if predicted:
                        ax.plot(xs, ys, ls=PREDICTED_STYLE, lw=2, color=colour, label=label)
                    else:
                        ax.plot(xs, ys, marker="o", color=colour, label=label)
                over = [(x, y) for x, y, p in zip(xs, ys, vp, strict=True) if p["oversubscribed"]]
                if over:
                    ax.scatter(*zip(*over, strict=True), s=120, facecolors="none", edgecolors="red", zorder=5)
    min_cpus = min(min_cpus, max_cpus)
    axes.flat[1].plot([min_cpus, max_cpus], [1, max_cpus / min_cpus], ls=":", color="grey", label="linear")
    wide = max_cpus > 16  # predictions to hundreds of CPUs: powers of two, evenly spaced
    for ax, (_, title) in zip(axes.flat, PANELS, strict=True):
        ax.set_xlabel("CPUs (worker processes)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        if wide:
            ax.set_xscale("log", base=2)
            ax.set_xticks([1 << k for k in range(max_cpus.bit_length()) if (1 << k) <= max_cpus])
            ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        else:
            ax.set_xticks(range(1, max_cpus + 1, max(1, max_cpus // 8)))
    axes.flat[0].set_ylim(bottom=0)
    axes.flat[0].legend(fontsize=8, title="thin dashed: linear ideal", title_fontsize=8)
    axes.flat[1].legend(fontsize=8)
    fig.suptitle(_title(docs), fontsize=10)
    return figure_save(fig, prefix)


PREDICTED_STYLE = (0, (6, 3))  # thick dashes: a model's prediction, not a measurement


def _title(docs: list[dict]) -> str:
    measured = [d for d in docs if d["kind"] != "prediction"]
    d = (measured or docs)[0]
    m = d["meta"]
    head = f"zswap-conc: {m.get('cpu_model', '?')}, {m.get('cores_allowed', '?')} cores; "
    if d["kind"] == "lockbench":
        c = d["config"]
        head += f"lockbench, {c.get('dist', '?')} holds and outside times (median of repeats, bars: min..max)"
    elif d["kind"] == "prediction":
        head += f"predicted from {d['inputs'].get('source', '?')}"
    else:
        cfg = d.get("experiment", {}).get("base_config") or d.get("config", {})
        kernels = [v for v in d.get("experiment", {}).get("variants", []) if v.startswith("kernel=")]
        design = kernel_label(cfg) if not kernels else "each kernel= variant its profile's design"
        allocator = cfg.get("allocator", "?") if not kernels else "per profile"
        head += (f"{design}, compressor {compressor_label(cfg)}, allocator {allocator}, "
                 f"lock {cfg.get('lock', '?')} (median of repeats, bars: min..max; red rings: oversubscribed)")
    if len(measured) < len(docs):
        head += ("\nthick dashed: the contention model's predictions, not measurements; beyond the measured "
                 "CPU counts, how the ticket hand-off grows with waiters is the model's")
    return head


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


def reclaim_plot(doc: dict, prefix: str | Path) -> list[Path]:
    """Pageframes freed against objects written back, one panel per fragmentation level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frags = doc["experiment"]["fragmentation"]
    fig, axes = plt.subplots(1, len(frags), figsize=(5 * len(frags), 4.5), constrained_layout=True, squeeze=False)
    styles = {("zbud", "object"): ("C0", "-"), ("zbud", "pageframe"): ("C0", "--"),
              ("zsmalloc", "object"): ("C1", "-"), ("zsmalloc", "pageframe"): ("C1", "--")}
    for ax, fr in zip(axes[0], frags, strict=True):
        for c in doc["curves"]:
            if c["fragmentation"] != fr:
                continue
            xs, ys = zip(*c["points"], strict=True)
            colour, ls = styles[(c["allocator"], c["policy"])]
            ax.plot(xs, ys, color=colour, ls=ls, label=f"{c['allocator']}, {c['policy']} LRU")
        ax.set_title(f"{fr:.0%} of slots invalidated first")
        ax.set_xlabel("objects written back")
        ax.set_ylabel("pageframes freed")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("zswap-conc reclaim: pageframes freed against compressed objects written back", fontsize=10)
    return figure_save(fig, prefix)
