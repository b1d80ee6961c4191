"""Figures from results files: contention curves (throughput with each variant's linear ideal,
speedup, lock wait share and contentions per acquisition against CPUs), one run's own figure (its
per-second samples and its lock classes), and the reclaim curves (pageframes freed against objects
written back).  Reads records only (``results``), never runs anything.

Points with a disturbed run (``disturbance``) carry an orange cross; files whose configurations
differ are named in the title and the legend, and ``plot_problems`` says how they differ.  The PNG
and the SVG are written together or not at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from zswap_conc.results.document import ResultsError, load
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
    names = _file_names(sources)
    disturbed_any = False
    max_cpus = 1
    min_cpus = 1 << 20
    for doc, src in zip(docs, sources, strict=True):
        pts = doc_points(doc, src)
        predicted = doc["kind"] == "prediction"
        for variant in dict.fromkeys(p["variant"] for p in pts):
            vp = sorted((p for p in pts if p["variant"] == variant), key=lambda p: p["cpus"])
            key = (variant, src) if many and not predicted else variant
            colour = colour_of.setdefault(key, colours[len(colour_of) % len(colours)])
            label = f"{variant} ({names[src]})" if many and not predicted else variant
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
                bad = [(x, y) for x, y, p in zip(xs, ys, vp, strict=True) if p.get("disturbed")]
                if bad:
                    disturbed_any = True
                    ax.scatter(*zip(*bad, strict=True), s=90, marker="x", color="darkorange", linewidths=2, zorder=6)
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
    fig.suptitle(_title(docs, sources) + ("\norange crosses: points with a disturbed run (their figures include "
                                          "the machine's other load)" if disturbed_any else ""), fontsize=10)
    return figure_save(fig, prefix)


def _file_names(sources: list[str]) -> dict[str, str]:
    """A short, distinct name per file for legends: its folder, or its path when folders repeat."""
    short = {src: (Path(src).parent.name or Path(src).stem) for src in sources}
    if len(set(short.values())) < len(set(sources)):
        short = {src: str(Path(src).with_suffix("")) for src in sources}
    return short


def plot_problems(docs: list[dict], sources: list[str]) -> list[str]:
    """How the measured files differ from the first (machine or configuration): one line each."""
    from zswap_conc.compare import compatibility_problem

    measured = [(d, s) for d, s in zip(docs, sources, strict=True) if d["kind"] != "prediction"]
    out = []
    for d, s in measured[1:]:
        problem = compatibility_problem(measured[0][0], d)
        if problem:
            out.append(f"{s} and {measured[0][1]}: {problem}")
    return out


PREDICTED_STYLE = (0, (6, 3))  # thick dashes: a model's prediction, not a measurement


def _title(docs: list[dict], sources: list[str] | None = None) -> str:
    measured = [d for d in docs if d["kind"] != "prediction"]
    if sources is not None and plot_problems(docs, sources):
        names = _file_names(sources)
        m = measured[0]["meta"]
        return (f"zswap-conc: {len(measured)} results files whose configurations differ (each legend entry names its "
                f"file): {', '.join(names[s] for d, s in zip(docs, sources, strict=True) if d['kind'] != 'prediction')}"
                f"\n{m.get('cpu_model', '?')}, {m.get('cores_allowed', '?')} cores (median of repeats, bars: min..max)")
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


def figure_paths(prefix: str | Path) -> list[Path]:
    """PREFIX.png and PREFIX.svg (a prefix that already ends in .png or .svg loses it)."""
    prefix = Path(prefix)
    if prefix.suffix.lower() in (".png", ".svg"):
        prefix = prefix.with_suffix("")
    return [Path(f"{prefix}.png"), Path(f"{prefix}.svg")]


def figure_save(fig, prefix: str | Path) -> list[Path]:
    """PREFIX.png (for reading) and PREFIX.svg (for publishing), then free the figure.  Both are
    rendered to temporaries first and renamed together: a failure leaves neither behind."""
    import matplotlib.pyplot as plt

    out = figure_paths(prefix)
    tmps = [p.with_name(f".{p.name}.{os.getpid()}.tmp") for p in out]
    try:
        fig.savefig(tmps[0], dpi=120, format="png")
        fig.savefig(tmps[1], format="svg")
        for tmp, path in zip(tmps, out, strict=True):
            os.replace(tmp, path)
    finally:
        plt.close(fig)
        for tmp in tmps:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return out


def default_prefix(paths: list[str], docs: list[dict]) -> str:
    """Beside the first file: ``contention``, or for one run alone the run file's own name."""
    alone = len(docs) == 1 and docs[0]["kind"] == "run"
    return str(Path(paths[0]).with_name(Path(paths[0]).stem if alone else "contention"))


def plot_files(paths: list[str], prefix: str | None, docs: list[dict] | None = None) -> list[Path]:
    """Read every file (checked) unless given, then draw: one run alone gets its own figure,
    anything else the contention curves."""
    docs = docs if docs is not None else [load(p) for p in paths]
    for d, p in zip(docs, paths, strict=True):
        if d["kind"] not in ("sweep", "run", "lockbench", "prediction"):
            raise ResultsError(f"{p}: field 'kind' is {d['kind']!r}; accepted: sweep, run, lockbench, prediction "
                               f"(a reclaim file draws itself: zswap-conc reclaim)")
    points = sum(len(doc_points(d, p)) for d, p in zip(docs, paths, strict=True))  # refuses an incomplete run
    if not points:
        raise ResultsError(f"{', '.join(paths)}: no measured or predicted points to draw (no runs); accepted: "
                           f"results with at least one run")
    if prefix is None:
        prefix = default_prefix(paths, docs)
    if len(docs) == 1 and docs[0]["kind"] == "run":
        return run_plot(docs[0], paths[0], prefix)
    return plot_docs(docs, paths, prefix)


def run_plot(doc: dict, source: str, prefix: str | Path) -> list[Path]:
    """One run: a contention curve needs several CPU counts, so a single run is drawn as what it
    measured -- throughput per second of every CPU, and per lock class the wait share, contentions
    per acquisition and holds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5), constrained_layout=True)
    samples = doc.get("samples") or []
    ax = axes.flat[0]
    if samples:
        ts = [s["t"] for s in samples]
        ncpu = max(len(s["ops_s"]) for s in samples)
        for k in range(ncpu):
            ax.plot(ts, [s["ops_s"][k] if k < len(s["ops_s"]) else float("nan") for s in samples], marker="o",
                    label=f"cpu {k}")
        ax.plot(ts, [sum(s["ops_s"]) for s in samples], color="black", lw=2, label="total")
        ax.legend(fontsize=8)
    ax.set_xlabel("seconds into the measured window")
    ax.set_title("throughput per second (ops/s)")
    ax.set_ylim(bottom=0)
    rows = doc.get("lock_stat") or []
    classes = [r["class"] for r in rows]
    cpu_ns = doc["config"]["cpus"] * doc["seconds"] * 1e9
    panels = (
        ("time waiting for each lock class (% of CPU time)", [100 * r["waittime-total"] / cpu_ns for r in rows]),
        ("contentions per acquisition", [r["contentions"] / r["acquisitions"] if r["acquisitions"] else 0.0
                                         for r in rows]),
        ("hold time, ns (bar: mean; dot: longest)", [r["holdtime-avg"] for r in rows]),
    )
    for ax, (title, ys) in zip(axes.flat[1:], panels, strict=True):
        ax.bar(classes, ys, color="C0")
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=20)
        ax.grid(alpha=0.3, axis="y")
    if rows:
        hold_ax = axes.flat[3]
        hold_ax.scatter(classes, [max(r.get("holdtime-max", 0.0), 1.0) for r in rows], color="C3", zorder=5)
        hold_ax.set_yscale("log")
    if not rows:
        for ax in axes.flat[1:]:
            ax.text(0.5, 0.5, "no lock statistics (--lockstat off)", ha="center", transform=ax.transAxes)
    c = doc["config"]
    m = doc["meta"]
    d = doc.get("disturbance") or {}
    head = (f"zswap-conc run ({Path(source).name}): {m.get('cpu_model', '?')}, {m.get('cores_allowed', '?')} cores; "
            f"{kernel_label(c)}, strategy {c.get('strategy', '?')}, {c.get('cpus', '?')} CPUs, compressor "
            f"{compressor_label(c)}, {doc['throughput']['ops_s']:,.0f} ops/s over {doc['seconds']:g} s")
    if d.get("disturbed"):
        head += "\nDISTURBED: " + "; ".join(d.get("reasons", [])[:2])
    fig.suptitle(head, fontsize=10)
    return figure_save(fig, prefix)


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
