"""The command line: ``zswap-conc run | sweep | plot | compare``.

Every user error ends the same way: one line ``zswap-conc: error: <flag>: <what is wrong>;
accepted: <what is>`` on stderr and exit status 2, never a traceback.  A worker that dies gives
status 1, an interrupted run 130; neither leaves a shared-memory segment behind.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from zswap_conc.config import (
    ALLOCATOR_NAMES,
    LOCK_NAMES,
    Config,
    ConfigError,
    PageMix,
    parse_compressor,
    parse_mix,
    parse_size,
    validate,
)

EXIT_USAGE = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        raise UsageError(message)


def _int(flag: str, lo: int, hi: int | None = None):
    def conv(text: str) -> int:
        try:
            v = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if v < lo or (hi is not None and v > hi):
            rng = f"{lo}..{hi}" if hi is not None else f">= {lo}"
            raise argparse.ArgumentTypeError(f"{v} is out of range; accepted: {rng}")
        return v

    return conv


def _seconds(text: str) -> float:
    t = text.strip().lower()
    scale = 1.0
    for suffix, mult in (("ms", 1e-3), ("s", 1.0), ("m", 60.0)):
        if t.endswith(suffix):
            t, scale = t[: -len(suffix)], mult
            break
    try:
        v = float(t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; accepted: seconds > 0, e.g. 3 or 500ms") from None
    if not v > 0 or v > 86400:
        raise argparse.ArgumentTypeError(f"{text} is out of range; accepted: seconds > 0 (up to 86400)")
    return v


def _add_config_flags(p: argparse.ArgumentParser, sweep: bool = False) -> None:
    g = p.add_argument_group("pool and locking")
    if not sweep:
        g.add_argument("--strategy", default="per-swaptype",
                       help="global | per-swaptype | hashed | split64m (default per-swaptype)")
        g.add_argument("--cpus", type=_int("--cpus", 1, 1024), default=2, help="simulated CPUs (default 2)")
    g.add_argument("--buckets", type=_int("--buckets", 1, 65536), default=256, help="hashed: buckets (default 256)")
    g.add_argument("--swap-types", type=_int("--swap-types", 1, 32), default=None, help="swap devices (default 1)")
    g.add_argument("--swap-size", default="16G", help="size of each swap device (default 16G)")
    g.add_argument("--allocator", default="zbud", help=f"{' | '.join(ALLOCATOR_NAMES)} (default zbud)")
    g.add_argument("--pools", type=_int("--pools", 0, 1024), default=0,
                   help="0: one pool per swap type (2012); N: N pools chosen by hash (2023)")
    g.add_argument("--pool-size", default="256M", help="pool memory, split over the pools (default 256M)")
    g.add_argument("--lock", default="ticket", help=f"spinlock kind: {' | '.join(LOCK_NAMES)} (default ticket)")
    g.add_argument("--compressor", default="lz4", help="lz4 | zstd | synthetic:<N>ns (default lz4)")
    g.add_argument("--zstd-level", type=_int("--zstd-level", 1, 19), default=1)
    g.add_argument("--reject-above", type=_int("--reject-above", 0), default=0,
                   help="reject compressed sizes above this many bytes (default: largest object)")
    wb = p.add_argument_group("pool limit, writeback and the swap device")
    wb.add_argument("--max-pool-frames", type=_int("--max-pool-frames", 0), default=0,
                    help="pool limit in 4 KiB frames (default: the whole pool)")
    wb.add_argument("--max-pool-percent", type=float, default=0.0, help="pool limit as %% of --ram-size")
    wb.add_argument("--ram-size", default="8G", help="the simulated machine's RAM (default 8G)")
    wb.add_argument("--writeback", default="direct",
                    help="recursive | denial-map | direct | deferred: what a full pool does (default direct)")
    wb.add_argument("--lru", default="object", help="object | pageframe: reclaim order (default object)")
    wb.add_argument("--dev-write-ns", type=_int("--dev-write-ns", 0, 10**8), default=0,
                    help="swap device: cost of writing a page (default 0)")
    wb.add_argument("--dev-read-ns", type=_int("--dev-read-ns", 0, 10**8), default=0,
                    help="swap device: cost of reading a page (default 0)")
    w = p.add_argument_group("workload")
    if not sweep:
        w.add_argument("--mix", default="50/35/15", help="store/load/invalidate percentages (default 50/35/15)")
    w.add_argument("--clusters-per-cpu", type=_int("--clusters-per-cpu", 1, 4096), default=4,
                   help="256-slot clusters each CPU stores into (default 4)")
    w.add_argument("--zero-pct", type=float, default=10.0, help="zero-filled pages, %% (default 10)")
    w.add_argument("--same-pct", type=float, default=5.0, help="same-filled non-zero pages, %% (default 5)")
    w.add_argument("--incompressible-pct", type=float, default=15.0, help="incompressible pages, %% (default 15)")
    w.add_argument("--seed", type=_int("--seed", 0), default=1)
    m = p.add_argument_group("measurement")
    m.add_argument("--duration", type=_seconds, default=None, help="seconds measured per run")
    m.add_argument("--warmup", type=float, default=None, help="seconds run before measuring (default 0.5)")
    m.add_argument("--no-pin", action="store_true", help="do not pin workers to cores")


def _config_from(ns: argparse.Namespace, base: Config | None = None) -> Config:
    base = base or Config()
    name, synth = parse_compressor(ns.compressor)
    changes = dict(
        buckets=ns.buckets,
        swap_size=parse_size(ns.swap_size, "--swap-size"),
        allocator=ns.allocator,
        pools=ns.pools,
        pool_size=parse_size(ns.pool_size, "--pool-size"),
        lock=ns.lock,
        compressor=name,
        synthetic_ns=synth,
        zstd_level=ns.zstd_level,
        reject_above=ns.reject_above,
        clusters_per_cpu=ns.clusters_per_cpu,
        pages=PageMix(zero=ns.zero_pct, same=ns.same_pct, incompressible=ns.incompressible_pct),
        seed=ns.seed,
        pin=not ns.no_pin,
        max_pool_frames=ns.max_pool_frames,
        max_pool_percent=ns.max_pool_percent,
        ram_size=parse_size(ns.ram_size, "--ram-size"),
        writeback=ns.writeback,
        lru=ns.lru,
        dev_write_ns=ns.dev_write_ns,
        dev_read_ns=ns.dev_read_ns,
    )
    if ns.swap_types is not None:
        changes["swap_types"] = ns.swap_types
    if getattr(ns, "strategy", None) is not None:
        changes["strategy"] = ns.strategy
    if getattr(ns, "cpus", None) is not None:
        changes["cpus"] = ns.cpus
    if getattr(ns, "mix", None) is not None:
        changes["mix"] = parse_mix(ns.mix)
    if ns.duration is not None:
        changes["duration"] = ns.duration
    if ns.warmup is not None:
        changes["warmup"] = ns.warmup
    return base.replace(**changes)


def _compressor_label(c: dict) -> str:
    return f"synthetic:{c['synthetic_ns']}ns" if c["compressor"] == "synthetic" else c["compressor"]


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def run_report(rec: dict, sort: str = "waittime-total") -> str:
    """The human-readable report of one run record."""
    from zswap_conc.results import lock_stat_table

    c = rec["config"]
    m = rec["meta"]
    z = rec["zswap"]
    i = rec["integrity"]
    per = rec["throughput"]["per_cpu_ops_s"]
    lines = [
        f"zswap-conc run: strategy={c['strategy']} cpus={c['cpus']} swap_types={c['swap_types']} "
        f"allocator={c['allocator']} pools={c['pools'] or 'per-swaptype'} lock={c['lock']} "
        f"compressor={_compressor_label(c)} "
        f"measured={rec['seconds']:.2f}s",
        f"machine: {m['cpu_model']}, {m['cores_allowed']} cores allowed, "
        f"{'pinned' if m.get('pinned') else 'not pinned'}, load average {m.get('loadavg_start')}",
        f"throughput: {_fmt_rate(rec['throughput']['ops_s'])} ops/s total; per CPU: "
        + "  ".join(f"cpu{k} {_fmt_rate(x)}" for k, x in enumerate(per)),
        f"op mix: store {rec['mix']['store']:.1%}  load {rec['mix']['load']:.1%}  "
        f"invalidate {rec['mix']['invalidate']:.1%}",
        f"zswap: stored_pages={z['stored_pages']} same_filled_pages={z['same_filled_pages']} "
        f"pool_total_size={z['pool_total_size']} reject_compress_poor={z['reject_compress_poor']} "
        f"reject_alloc_fail={z['reject_alloc_fail']} duplicate_entry={z['duplicate_entry']} "
        f"compression_ratio={z['compression_ratio']:.2f} pool_ratio={z['pool_ratio']:.2f}",
        *_writeback_lines(rec),
        f"contention: wait share {rec['contention']['wait_share']:.2%} of CPU time, "
        f"{rec['contention']['contentions_per_acquisition']:.4f} contentions per acquisition",
        f"lock_stat (times in ns, sorted by {sort}):",
        lock_stat_table(rec["lock_stat"], sort),
        f"integrity: {i['verified']} live entries verified, {i['mismatches'] + i['load_mismatches']} mismatches"
        + ("" if (i["tree_error"] == 0 and i["pool_error"] == 0 and i["accounting_ok"] and i["leaked_entries"] == 0)
           else f" (tree_error={i['tree_error']} pool_error={i['pool_error']} "
                f"accounting_ok={i['accounting_ok']} leaked_entries={i['leaked_entries']})"),
    ]
    if m.get("oversubscribed"):
        lines.insert(1, _oversub_warning(c["cpus"], m["cores_allowed"]))
    return "\n".join(lines)


def _writeback_lines(rec: dict) -> list[str]:
    w = rec.get("writeback")
    c = rec["config"]
    if not w or not (w["pool_limit_hit"] or c.get("max_pool_frames") or c.get("max_pool_percent")):
        return []
    depth = " ".join(f"{k}:{n}" for k, n in w["depth_histogram"].items()) or "none"
    return [
        f"writeback ({c['writeback']}, lru {c['lru']}): pool_limit_hit={w['pool_limit_hit']} "
        f"written_back_pages={w['written_back_pages']} reject_reclaim_fail={w['reject_reclaim_fail']} "
        f"re-stores={w['restores']} no-progress={w['no_progress']} overflow={w['overflow']} "
        f"denied={w['denied']} recheck_abort={w['recheck_abort']} slot_busy={w['slot_busy']}",
        f"recursion depth (stores that hit the limit, by store nesting): {depth}; max depth {w['max_depth']}",
        f"reclaim: frames freed {w['frames_freed']}, {w['frames_freed_per_object']:.3f} frames per object "
        f"written back, lru_inversions={w['lru_inversions']}; swap device: {w['device_writes']} writes, "
        f"{w['device_reads']} reads, {w['load_device']} loads served",
    ]


def _oversub_warning(cpus: int, cores: int) -> str:
    return (f"warning: {cpus} workers on {cores} cores: oversubscribed; spinlock figures include "
            f"waiting for preempted lock holders, which is not the design's fault")


def cmd_run(ns: argparse.Namespace) -> int:
    from zswap_conc.config import oversubscribed
    from zswap_conc.results import LOCK_STAT_COLUMNS, dump
    from zswap_conc.runner import Interrupted, WorkerDied, integrity_ok, run

    if ns.sort not in LOCK_STAT_COLUMNS:
        raise ConfigError(f"--sort: unknown column {ns.sort!r}; accepted: {', '.join(LOCK_STAT_COLUMNS)}")
    cfg = validate(_config_from(ns))
    if ns.out:
        _writable_file(ns.out, "--out")
    _stale_notice()
    if oversubscribed(cfg.cpus):
        print(_oversub_warning(cfg.cpus, len(os.sched_getaffinity(0))), file=sys.stderr)
    try:
        rec = run(cfg)
    except (WorkerDied, Interrupted) as e:
        if e.partial is not None:  # keep the samples taken so far
            path = ns.out or time.strftime("zswap-results/run-%Y%m%d-%H%M%S-incomplete.json")
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            dump(e.partial, path)
            e.args = (f"{e.args[0]}; {len(e.partial['samples'])} per-second samples kept in {path} "
                      f"(marked incomplete)",)
        raise
    if ns.out:
        dump(rec, ns.out)
    if ns.json:
        json.dump(rec, sys.stdout, indent=1)
        print()
    else:
        print(run_report(rec, ns.sort))
    return 0 if integrity_ok(rec) else EXIT_FAILED


def build_parser() -> argparse.ArgumentParser:
    from zswap_conc import __version__

    p = _Parser(prog="zswap-conc", description="Lock contention and race testbed for a compressed swap pool.")
    p.add_argument("--version", action="version", version=f"zswap-conc {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    r = sub.add_parser("run", help="one configuration, measured")
    _add_config_flags(r)
    r.add_argument("--json", action="store_true", help="print the run record as one JSON document")
    r.add_argument("--out", help="also write the run record to this JSON file")
    r.add_argument("--sort", default="waittime-total", help="lock_stat column to sort by (default waittime-total)")
    r.set_defaults(func=cmd_run)
    so = sub.add_parser("soak", help="a long mixed run under writeback pressure, verified every second")
    _add_config_flags(so)
    so.add_argument("--out", help="soak record (default zswap-results/soak-<time>.json)")
    so.set_defaults(func=cmd_soak)
    sw = sub.add_parser("sweep", help="contention curves: every strategy at 1..ncores CPUs (the main job)")
    sw.add_argument("--config", help="experiment TOML file holding any of these settings (flags win)")
    sw.add_argument("--strategies", help="comma list of STRATEGY[:SWAPTYPES][@WRITEBACK] "
                    "(default global,per-swaptype,per-swaptype:4,hashed,split64m)")
    sw.add_argument("--cpus", help="CPU counts, e.g. 1,2,4,8 or 1-16 (default 1..cores)")
    sw.add_argument("--duration", type=_seconds, help="seconds measured per run (default 1.5)")
    sw.add_argument("--warmup", type=float, help="seconds before measuring (default 0.3)")
    sw.add_argument("--repeats", type=_int("--repeats", 1, 100), help="runs per point (default 3)")
    sw.add_argument("--workload", help="thrash | swapout-storm | swapin | exit (default thrash)")
    sw.add_argument("--compressor", help="lz4 | zstd | synthetic:<N>ns (default lz4)")
    sw.add_argument("--swap-types", type=_int("--swap-types", 1, 32), help="swap types for variants without :N")
    sw.add_argument("--allocator", help="zbud | zsmalloc (default zbud)")
    sw.add_argument("--lock", help="ticket | ttas (default ticket)")
    sw.add_argument("--pools", type=_int("--pools", 0, 1024), help="0: one pool per swap type; N: hashed pools")
    sw.add_argument("--pool-size", help="pool memory (default 256M)")
    sw.add_argument("--buckets", type=_int("--buckets", 1, 65536), help="hashed: buckets (default 256)")
    sw.add_argument("--writeback", help="writeback path for variants without @PATH (default direct)")
    sw.add_argument("--lru", help="object | pageframe (default object)")
    sw.add_argument("--max-pool-frames", type=_int("--max-pool-frames", 1), help="pool limit in frames")
    sw.add_argument("--max-pool-percent", type=float, help="pool limit as %% of the config's ram_size")
    sw.add_argument("--oversubscribe", action="store_true", default=None,
                    help="allow more workers than cores (such points are marked)")
    sw.add_argument("--out", help="results folder (default zswap-results/sweep-<time>)")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)
    pl = sub.add_parser("plot", help="draw contention curves from results files")
    pl.add_argument("results", nargs="+", help="sweep.json or run JSON files")
    pl.add_argument("--out", help="output prefix (default: contention beside the first file)")
    pl.set_defaults(func=cmd_plot)
    rc = sub.add_parser("reclaim", help="pageframes freed against objects written back, per allocator x LRU")
    rc.add_argument("--fragmentation", default="0,0.3,0.6",
                    help="fractions of slots invalidated before reclaim (default 0,0.3,0.6)")
    rc.add_argument("--clusters", type=_int("--clusters", 1, 256), default=8,
                    help="256-slot clusters stored before reclaim (default 8)")
    rc.add_argument("--out", help="results folder (default zswap-results/reclaim-<time>)")
    rc.set_defaults(func=cmd_reclaim)
    hu = sub.add_parser("hunt", help="search schedules for a race in a writeback protocol")
    hu.add_argument("--variant", default="none", help="none | no-refcount-2013 | no-recheck-2023 | "
                    "recursive-writeback-2012 | lock-order-inversion (default none)")
    hu.add_argument("--scheduler", default="pct", help="random | pct | dfs (default pct)")
    hu.add_argument("--budget", default="30s", help="seconds (30s) or a number of schedules (1000); default 30s")
    hu.add_argument("--seed", type=_int("--seed", 0), default=0)
    hu.add_argument("--strategy", default="per-swaptype", help="locking strategy of the checked pool")
    hu.add_argument("--depth", type=_int("--depth", 1, 10), default=3, help="pct: bug depth d (default 3)")
    hu.add_argument("--preemptions", type=_int("--preemptions", 0, 10), default=1,
                    help="dfs: preemption bound (default 1)")
    hu.set_defaults(func=cmd_hunt)
    rp = sub.add_parser("replay", help="replay a schedule string deterministically")
    rp.add_argument("schedule", help="a schedule string, e.g. zs1:0x5-1")
    rp.add_argument("--variant", default="none")
    rp.add_argument("--strategy", default="per-swaptype")
    rp.set_defaults(func=cmd_replay)
    cl = sub.add_parser("clean", help="list (and with --yes remove) shared memory left by dead runs")
    cl.add_argument("--yes", action="store_true", help="remove them")
    cl.set_defaults(func=cmd_clean)
    cp = sub.add_parser("compare", help="compare two results files point by point")
    cp.add_argument("a")
    cp.add_argument("b")
    cp.add_argument("--force", action="store_true", help="compare even if machine or config differ")
    cp.add_argument("--json", action="store_true", help="print the comparison as JSON")
    cp.set_defaults(func=cmd_compare)
    return p


def cmd_soak(ns: argparse.Namespace) -> int:
    from zswap_conc.results import dump
    from zswap_conc.runner import run

    if ns.duration is None:
        ns.duration = 600.0
    if not ns.max_pool_frames and not ns.max_pool_percent:
        ns.max_pool_frames = 256  # writeback pressure: the point of a soak
    cfg = validate(_config_from(ns))
    out = ns.out or time.strftime("zswap-results/soak-%Y%m%d-%H%M%S.json")
    _writable_file(out, "--out")
    _stale_notice()
    print(f"zswap-conc soak: {cfg.cpus} CPUs, writeback {cfg.writeback}, lru {cfg.lru}, pool limit "
          f"{cfg.pool_limit_frames} frames, {cfg.duration:g}s, verifying the whole pool every second", file=sys.stderr)

    def progress(t: float, ops_s: float) -> None:
        if int(t) % 60 == 0 or t >= cfg.duration - 1:
            print(f"  t={t:6.0f}s  {ops_s:12,.0f} ops/s", file=sys.stderr, flush=True)

    rec = run(cfg, on_sample=progress, verify_every=1.0)
    dump(rec, out)
    s = rec["soak"]
    ops = rec["counters"]["ops"]
    print(f"soak: {ops:,} operations in {rec['seconds']:.0f}s ({rec['throughput']['ops_s']:,.0f} ops/s); "
          f"{s['verifications']} verifications of {s['entries_verified']:,} entries; mismatches {s['mismatches']}; "
          f"leaks {s['leaks']}; final check: {rec['integrity']['verified']} live + "
          f"{rec['integrity']['device_verified']} on device verified, "
          f"{rec['integrity']['mismatches'] + rec['integrity']['load_mismatches']} mismatches")
    w = rec["writeback"]
    print(f"writeback {cfg.writeback}: {w['written_back_pages']:,} pages written back, {w['pool_limit_hit']:,} limit "
          f"hits, max depth {w['max_depth']}; throughput drift first->last tenth {s['drift']:+.1%}; wrote {out}")
    ok = s["mismatches"] == 0 and s["leaks"] == 0 and not s["failed_checks"]
    from zswap_conc.runner import integrity_ok

    return 0 if ok and integrity_ok(rec) else EXIT_FAILED


def cmd_sweep(ns: argparse.Namespace) -> int:
    from zswap_conc.experiment import experiment_build, toml_load
    from zswap_conc.runner import WorkerDied
    from zswap_conc.sweep import SweepStopped, out_dir_prepare, summary_table, sweep_run

    file_settings = toml_load(ns.config) if ns.config else {}
    flags = {k: getattr(ns, k) for k in ("strategies", "cpus", "duration", "warmup", "repeats", "workload",
                                         "compressor", "swap_types", "oversubscribe")}
    overrides = {k: getattr(ns, k) for k in ("allocator", "lock", "pools", "pool_size", "buckets", "writeback",
                                              "lru", "max_pool_frames", "max_pool_percent")
                 if getattr(ns, k) is not None}
    if overrides:
        cfg_table = dict(file_settings.get("config", {}) or {})
        cfg_table.update(overrides)
        flags["config"] = cfg_table
    exp = experiment_build(flags, file_settings)
    out = out_dir_prepare(ns.out or file_settings.get("out"))
    cores = len(os.sched_getaffinity(0))
    over = [n for n in exp.cpus if n > cores]
    if over:
        print(f"warning: CPU counts {over} exceed the {cores} cores available: oversubscribed, marked in the "
              f"results; spinlocks collapse there for reasons unrelated to the design", file=sys.stderr)
    total = len(exp.variants) * len(exp.cpus) * exp.repeats
    print(f"zswap-conc sweep: {len(exp.variants)} variants x CPUs {list(exp.cpus)} x {exp.repeats} repeats = "
          f"{total} runs of {exp.base.duration:g}s (+{exp.base.warmup:g}s warm-up); workload {exp.workload}; "
          f"results in {out}", file=sys.stderr)
    try:
        doc = sweep_run(exp, out, progress=not ns.quiet)
    except SweepStopped as e:
        print(f"zswap-conc: {'error: ' if isinstance(e.cause, WorkerDied) else ''}{e}; kept {e.kept} of "
              f"{e.total} runs in {e.path} (marked incomplete); shared memory removed", file=sys.stderr)
        return EXIT_FAILED if isinstance(e.cause, WorkerDied) else EXIT_INTERRUPTED
    print(summary_table(doc))
    ho = doc["harness_overhead_s"]
    print(f"wall time {doc['wall_s']:.1f}s; harness overhead between runs: median {ho['median']:.2f}s, "
          f"max {ho['max']:.2f}s")
    print(f"wrote {out}/sweep.json, sweep.csv, contention.png, contention.svg, lockstat.txt")
    return 0 if all(p["integrity_ok"] for p in doc["points"]) else EXIT_FAILED


def cmd_reclaim(ns: argparse.Namespace) -> int:
    from zswap_conc.reclaim import reclaim_plot, reclaim_run, reclaim_table
    from zswap_conc.results import dump
    from zswap_conc.sweep import out_dir_prepare

    try:
        frags = tuple(float(x) for x in ns.fragmentation.split(",") if x.strip())
    except ValueError:
        frags = ()
    if not frags or not all(0 <= x < 1 for x in frags):
        raise ConfigError(f"--fragmentation: cannot use {ns.fragmentation!r}; accepted: fractions in [0, 1), "
                          f"e.g. 0,0.3,0.6")
    out = out_dir_prepare(ns.out or time.strftime("zswap-results/reclaim-%Y%m%d-%H%M%S"))
    doc = reclaim_run(frags, ns.clusters)
    dump(doc, out / "reclaim.json")
    reclaim_plot(doc, out / "reclaim")
    print(reclaim_table(doc))
    print(f"wrote {out}/reclaim.json, reclaim.png, reclaim.svg")
    return 0 if all(c["integrity_ok"] for c in doc["curves"]) else EXIT_FAILED


def _check_names(variant: str, strategy: str, scheduler: str | None = None) -> None:
    from zswap_conc.check.scheduler import SCHEDULERS
    from zswap_conc.check.variants import VARIANT_NAMES
    from zswap_conc.strategies import STRATEGIES

    if variant not in VARIANT_NAMES:
        raise ConfigError(f"--variant: unknown variant {variant!r}; accepted: {', '.join(VARIANT_NAMES)}")
    if strategy not in STRATEGIES:
        raise ConfigError(f"--strategy: unknown strategy {strategy!r}; accepted: {', '.join(STRATEGIES)}")
    if scheduler is not None and scheduler not in SCHEDULERS:
        raise ConfigError(f"--scheduler: unknown scheduler {scheduler!r}; accepted: {', '.join(SCHEDULERS)}")


def _replay_command(schedule: str, variant: str, strategy: str) -> str:
    return f"zswap-conc replay {schedule} --variant {variant} --strategy {strategy}"


def cmd_hunt(ns: argparse.Namespace) -> int:
    from zswap_conc.check.hunt import hunt

    _check_names(ns.variant, ns.strategy, ns.scheduler)
    b = ns.budget.strip().lower()
    seconds = executions = None
    try:
        if b.endswith(("s", "m")):
            seconds = _seconds(b)
        else:
            executions = int(b)
            if executions < 1:
                raise ValueError
    except (ValueError, argparse.ArgumentTypeError):
        raise ConfigError(f"--budget: cannot read {ns.budget!r}; accepted: seconds like 30s or a number of "
                          f"schedules like 1000") from None
    how = {"pct": f" (depth {ns.depth})", "dfs": f" (preemption bound {ns.preemptions})"}.get(ns.scheduler, "")
    print(f"zswap-conc hunt: variant {ns.variant}, scheduler {ns.scheduler}{how}, strategy {ns.strategy}, "
          f"seed {ns.seed}, budget {ns.budget}")
    r = hunt(ns.variant, ns.scheduler, ns.strategy, budget_executions=executions, budget_seconds=seconds,
             seed=ns.seed, depth=ns.depth, preemptions=ns.preemptions)
    rate = f"{r.executions / r.seconds:,.0f} schedules/s, {r.steps / r.seconds:,.0f} steps/s" if r.seconds else ""
    if not r.found:
        why = "explored every schedule within the bound" if r.exhausted else "budget spent"
        print(f"no violation: {r.executions} schedules, {r.steps} steps in {r.seconds:.1f}s ({rate}); {why}"
              + (f"; {r.truncated} cut off at the step limit" if r.truncated else ""))
        return 0
    print(f"FOUND after {r.executions} schedules ({r.steps} steps, {r.seconds:.2f}s; {rate})")
    print(f"invariant broken: {r.invariant}: {r.detail}")
    print(f"minimal schedule: {r.schedule_string}")
    print("trace:")
    for line in r.trace:
        print(f"  {line}")
    print(f"replay: {_replay_command(r.schedule_string, ns.variant, ns.strategy)}")
    return EXIT_FAILED


def cmd_replay(ns: argparse.Namespace) -> int:
    from zswap_conc.check.encoding import ScheduleError, schedule_decode
    from zswap_conc.check.execution import World
    from zswap_conc.check.hunt import replay

    _check_names(ns.variant, ns.strategy)
    try:
        schedule = schedule_decode(ns.schedule)
    except ScheduleError as e:
        raise ConfigError(f"SCHEDULE: {e}; accepted: a string like zs1:0x5-1 printed by 'zswap-conc hunt'") from None
    world = World(ns.variant, ns.strategy)
    try:
        v, trace = replay(world, schedule)
    finally:
        world.close()
    for line in trace:
        print(f"  {line}")
    if v is None:
        print(f"no violation: variant {ns.variant} survives this schedule")
        return 0
    print(f"invariant broken: {v.invariant}: {v.detail}")
    return EXIT_FAILED


def cmd_clean(ns: argparse.Namespace) -> int:
    from zswap_conc.arena import segment_remove, segments_stale

    stale = segments_stale()
    if not stale:
        print("no shared-memory segments left by dead runs")
        return 0
    for name, pid, size in stale:
        if ns.yes:
            segment_remove(name)
        print(f"{'removed' if ns.yes else 'stale'}: /dev/shm/{name} ({size >> 20} MiB, run by pid {pid}, gone)")
    if not ns.yes:
        print("run 'zswap-conc clean --yes' to remove them")
    return 0


def _writable_file(path: str, flag: str) -> None:
    """Prove before any work that a results file can be written where asked."""
    folder = os.path.dirname(os.path.abspath(path))
    probe = os.path.join(folder, f".zswap-probe.{os.getpid()}")
    try:
        os.makedirs(folder, exist_ok=True)
        with open(probe, "w"):
            pass
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(
            f"{flag}: cannot write {path} ({e.strerror}); accepted: a path in a writable folder") from None


def _stale_notice() -> None:
    from zswap_conc.arena import segments_stale

    stale = segments_stale()
    if stale:
        mib = sum(s for _, _, s in stale) >> 20
        print(f"note: {len(stale)} shared-memory segment(s) ({mib} MiB) were left by dead runs; "
              f"'zswap-conc clean --yes' removes them", file=sys.stderr)


def cmd_plot(ns: argparse.Namespace) -> int:
    from zswap_conc.plot import plot_files

    for path in plot_files(ns.results, ns.out):
        print(f"wrote {path}")
    return 0


def cmd_compare(ns: argparse.Namespace) -> int:
    from zswap_conc.compare import compare_files, compare_table

    rows, problem = compare_files(ns.a, ns.b, ns.force)
    if problem:
        print(f"warning: compared despite {problem} (--force)", file=sys.stderr)
    if ns.json:
        json.dump(rows, sys.stdout, indent=1)
        print()
    else:
        print(compare_table(rows))
    return 0


def _one_line(message: object) -> str:
    """User text echoed in an error (a flag value, a file name) must not break the one-line rule."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


def main(argv: list[str] | None = None) -> int:
    from zswap_conc.jit import CACHE_NOTE
    from zswap_conc.results import ResultsError
    from zswap_conc.runner import Interrupted, WorkerDied

    if CACHE_NOTE:
        print(CACHE_NOTE, file=sys.stderr)
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
        if not getattr(ns, "command", None):
            raise UsageError("a command is required; accepted: " + ", ".join(
                sorted(parser._subparsers._group_actions[0].choices)))  # type: ignore[union-attr]
        return ns.func(ns)
    except UsageError as e:
        print(f"zswap-conc: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, ResultsError) as e:
        print(f"zswap-conc: error: {_one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except WorkerDied as e:
        print(f"zswap-conc: error: {_one_line(e)}; the run was stopped and its shared memory removed", file=sys.stderr)
        return EXIT_FAILED
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"zswap-conc: {e if isinstance(e, Interrupted) else 'interrupted by SIGINT'}; workers stopped, "
              f"shared memory removed", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
