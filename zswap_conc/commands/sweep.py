"""``zswap-conc sweep``: contention curves, every variant at 1..ncores CPUs (the main job), with
its summary table."""

from __future__ import annotations

import argparse
import sys

from zswap_conc.commands.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    RT_HELP,
    add_kernel_flags,
    compile_notices,
    cores_allowed,
    int_flag,
    onoff_parse,
    seconds_flag,
    setting_flag,
    think_parse,
)
from zswap_conc.outputs import out_dir_prepare
from zswap_conc.results.run import kernel_label
from zswap_conc.results.sweep import sweep_points
from zswap_conc.schema import SETTINGS

HELP = "contention curves: every strategy at 1..ncores CPUs (the main job)"
SWEEP_FLAGS = ("strategies", "cpus", "duration", "warmup", "repeats", "workload", "compressor", "swap_types",
               "oversubscribe", "kernel", "kernels")
CONFIG_FLAGS = ("allocator", "lock", "pools", "pool_size", "buckets", "writeback", "lru", "max_pool_frames",
                "max_pool_percent", "index", "alloc_lock", "lru_lock", "free_under_tree", "load", "wb_order",
                "swap_lock", "swap_cache_lock", "dup_rate", "rt")  # flags that go into the experiment's [config] table


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="experiment TOML file holding any of these settings (flags win)")
    add_kernel_flags(p)
    p.add_argument("--strategies", help="comma list of STRATEGY[:SWAPTYPES][@WRITEBACK] or "
                   "kernel=PROFILE[@WRITEBACK] (default global,per-swaptype:4,hashed,split64m)")
    p.add_argument("--kernels", help="comma list of profiles, or all: each release's whole design is a variant "
                   "(kernel=PROFILE), on the same workload and think time")
    p.add_argument("--cpus", help="CPU counts, e.g. 1,2,4,8 or 1-16 (default 1..cores)")
    p.add_argument("--duration", type=seconds_flag, help="seconds measured per run (default 1.5)")
    p.add_argument("--warmup", type=setting_flag("warmup"), help="seconds before measuring (default 0.3)")
    p.add_argument("--repeats", type=int_flag("--repeats", 1, 100),
                   help="runs per point (default 4: the fewest compare can test)")
    p.add_argument("--workload", help="thrash | swapout-storm | swapin | exit (default thrash)")
    p.add_argument("--compressor", help="lz4 | zstd | synthetic:<N>ns (default lz4)")
    p.add_argument("--swap-types", type=setting_flag("swap_types"), help="swap types for variants without :N")
    p.add_argument("--allocator", help="zbud | zsmalloc (default: the profile's)")
    p.add_argument("--lock", help="ticket | ttas (default ticket)")
    p.add_argument("--lockstat", help="on | off: lock_stat statistics (default on)")
    p.add_argument("--pools", type=setting_flag("pools"),
                   help="0: one pool per swap type; N: hashed pools (default: the profile's)")
    p.add_argument("--pool-size", help="pool memory (default 256M)")
    p.add_argument("--buckets", type=setting_flag("buckets"), help="hashed: buckets (default 256)")
    p.add_argument("--writeback", help="writeback path for variants without @PATH (default: the profile's)")
    p.add_argument("--lru", help="object | pageframe (default: the profile's)")
    p.add_argument("--max-pool-frames", type=int_flag("--max-pool-frames", 1, SETTINGS["max_pool_frames"].spec.hi),
                   help="pool limit in frames")
    p.add_argument("--max-pool-percent", type=setting_flag("max_pool_percent"),
                   help="pool limit as %% of the config's ram_size")
    p.add_argument("--dup-rate", type=setting_flag("dup_rate"),
                   help="share of stores that overwrite their slot's data (default 0)")
    p.add_argument("--think-ns", help="work between operations, ns, or auto (default auto: the kernel's zswap share)")
    p.add_argument("--oversubscribe", action="store_true", default=None,
                   help="allow more workers than cores (such points are marked)")
    p.add_argument("--rt", action="store_true", default=None, help=RT_HELP)
    p.add_argument("--out", help="results folder (default zswap-results/sweep-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _fmt(x: float | None, spec: str) -> str:
    """A figure, or '-' (as wide) where the run took no lock statistics."""
    if x is None:
        return "-".rjust(int(spec.lstrip("<>^").split(".")[0]))
    return format(x, spec)


def summary_table(doc: dict) -> str:
    """One line per point: median throughput and its spread, speedup, efficiency and contention."""
    pts = sweep_points(doc)
    w = max([16] + [len(p["variant"]) for p in pts])
    head = (f"{'variant':<{w}} {'cpus':>4} {'ops/s (median)':>15} {'min..max':>21} {'speedup':>8} {'eff.':>6} "
            f"{'wait share':>10} {'cont/acq':>9} {'disturbed':>9}")
    lines = [head]
    for p in pts:
        mark = "*" if p["oversubscribed"] else " "
        bad = "" if p["integrity_ok"] else "  INTEGRITY FAILED"
        o = p["ops_s"]
        dist = f"{p['disturbed_runs']}/{p['repeats']}" if p["disturbed_runs"] else "-"
        lines.append(f"{p['variant']:<{w}} {p['cpus']:>3}{mark} {o['median']:>15,.0f} "
                     f"{o['min']:>10,.0f}..{o['max']:<10,.0f} {p['speedup']:>8.2f} {p['efficiency']:>6.0%} "
                     f"{_fmt(p['wait_share'], '>10.2%')} {_fmt(p['contentions_per_acquisition'], '>9.4f')} "
                     f"{dist:>9}{bad}")
    if any(p["oversubscribed"] for p in pts):
        lines.append("* oversubscribed: more workers than cores; spinlock figures include preempted holders")
    return "\n".join(lines)


def disturbed_warning(doc: dict) -> str | None:
    """One line when runs of the sweep were disturbed: how many, by what, and what that means."""
    from zswap_conc.disturbance import causes_summary

    bad = [r for r in doc["runs"] if (r.get("disturbance") or {}).get("disturbed")]
    if not bad:
        return None
    had_rt = any((r.get("rt") or {}).get("granted") for r in bad)
    return (f"warning: {len(bad)} of {len(doc['runs'])} runs were disturbed ({causes_summary(bad)}): their points "
            f"measure the machine's other load too; they are marked in the table and the plot, and compare gives "
            f"them no verdict; rerun on a quieter machine{'' if had_rt else ' or with --rt'}")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.errors import WorkerDied
    from zswap_conc.experiment import experiment_build, toml_load
    from zswap_conc.runner import rt_check
    from zswap_conc.sweep import SweepStopped, sweep_run

    compile_notices()
    file_settings = toml_load(ns.config) if ns.config else {}
    flags = {k: getattr(ns, k) for k in SWEEP_FLAGS}
    overrides = {k: getattr(ns, k) for k in CONFIG_FLAGS if getattr(ns, k) is not None}
    if ns.lockstat is not None:
        overrides["lockstat"] = onoff_parse(ns.lockstat, "--lockstat")
    if ns.think_ns is not None:
        overrides["think_ns"] = think_parse(ns.think_ns)

    exp = experiment_build(flags, file_settings, overrides)
    rt_check(exp.variant_config(exp.variants[0], max(exp.cpus)))
    out = out_dir_prepare(ns.out or exp.source.get("out"), "sweep")
    for first, again in exp.duplicates():
        print(f"note: {again} measures the same design as {first} here; its points are a noise check",
              file=sys.stderr)
    cores = cores_allowed()
    over = [n for n in exp.cpus if n > cores]
    if over:
        print(f"warning: CPU counts {over} exceed the {cores} cores available: oversubscribed, marked in the "
              f"results; spinlocks collapse there for reasons unrelated to the design", file=sys.stderr)
    total = len(exp.variants) * len(exp.cpus) * exp.repeats
    design = kernel_label(exp.base.to_dict())
    if any(v.kernel for v in exp.variants):
        design += " (kernel= variants: their own profile)"
    print(f"zswap-conc sweep: {design}: {len(exp.variants)} variants x CPUs "
          f"{list(exp.cpus)} x {exp.repeats} repeats = "
          f"{total} runs of {exp.base.duration:g}s (+{exp.base.warmup:g}s warm-up); workload {exp.workload}; "
          f"results in {out}", file=sys.stderr)
    try:
        doc = sweep_run(exp, out, progress=not ns.quiet)
    except SweepStopped as e:
        print(f"zswap-conc: {'error: ' if isinstance(e.cause, WorkerDied) else ''}{e}; kept {e.kept} of "
              f"{e.total} runs in {e.path} (marked incomplete); shared memory removed", file=sys.stderr)
        return EXIT_FAILED if isinstance(e.cause, WorkerDied) else EXIT_INTERRUPTED
    print(summary_table(doc))
    warn = disturbed_warning(doc)
    if warn:
        print(warn, file=sys.stderr)
    ho = doc["harness_overhead_s"]
    print(f"wall time {doc['wall_s']:.1f}s; harness overhead between runs: median {ho['median']:.2f}s, "
          f"max {ho['max']:.2f}s")
    print(f"wrote {out}/sweep.json, sweep.csv, contention.png, contention.svg, lockstat.txt")
    return 0 if all(p["integrity_ok"] for p in doc["points"]) else EXIT_FAILED
