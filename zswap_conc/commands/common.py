"""What several commands share: flag types that reject bad values in one line, the pool and
workload flags of ``run``/``soak``, the Config they build, exit statuses and notices."""

from __future__ import annotations

import argparse
import math
import os
import sys

from zswap_conc.config import (
    ALLOCATOR_NAMES,
    INDEX_NAMES,
    LOCK_NAMES,
    Config,
    ConfigError,
    PageMix,
    parse_compressor,
    parse_mix,
    parse_size,
)
from zswap_conc.kernels import DEFAULT_PROFILE, PROFILE_NAMES
from zswap_conc.schema import INT64_MAX, SETTINGS, Float, Int, SchemaError

EXIT_OK = 0
EXIT_FAILED = 1  # the run happened and found something wrong (integrity, a dead worker, a race)
EXIT_USAGE = 2  # bad input: nothing was run
EXIT_INTERRUPTED = 130  # SIGINT or SIGTERM


class UsageError(Exception):
    """A command line argparse refused; printed as one line, exit status 2."""


def _arg_error(e: Exception) -> argparse.ArgumentTypeError:
    """A schema error as argparse words it: argparse itself names the flag first."""
    text = str(e)
    return argparse.ArgumentTypeError(text.split(": ", 1)[1] if ": " in text else text)


def _number_flag(flag: str, spec, parse, kind: str):
    """An argparse type: ``parse(text)``, then ``spec``'s range; a one-line error naming what is accepted."""

    def conv(text: str):
        try:
            v = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{one_line(text)[:40]!r} is not {kind}; accepted: "
                                             f"{spec.describe()}") from None
        try:
            return spec.check(v, flag)
        except SchemaError as e:
            raise _arg_error(e) from None

    return conv


def int_flag(flag: str, lo: int, hi: int = INT64_MAX):
    """An argparse type: an integer in [lo, hi] (never beyond 64 bits), else a one-line error naming the range."""
    return _number_flag(flag, Int(lo, hi), lambda t: int(t.strip(), 0), "an integer")


def float_flag(flag: str, lo: float, hi: float):
    """An argparse type: a finite number in [lo, hi] (no nan, no inf)."""
    return _number_flag(flag, Float(lo, hi), float, "a number")


def setting_flag(name: str):
    """An argparse type for run setting ``name``: parsed, then checked against ``schema.SETTINGS``
    (the same range a file's value gets)."""
    setting = SETTINGS[name]
    spec = setting.spec
    if isinstance(spec, Int):
        return int_flag(setting.flag, spec.lo, spec.hi)
    if isinstance(spec, Float):
        return float_flag(setting.flag, spec.lo, spec.hi)
    raise TypeError(f"setting {name} is not a number")


def seconds_flag(text: str) -> float:
    """An argparse type: a duration in seconds, ``3``, ``500ms`` or ``10m``."""
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
    if not math.isfinite(v) or not v > 0 or v > 86400:
        raise argparse.ArgumentTypeError(f"{text} is out of range; accepted: seconds > 0 (up to 86400)")
    return v


def add_kernel_flags(p: argparse.ArgumentParser) -> None:
    """--kernel and the settings a kernel profile decides; each given one overrides the profile."""
    k = p.add_argument_group("kernel profile (kernels.py): each setting below defaults to the profile's")
    k.add_argument("--kernel", default=None,
                   help=f"{' | '.join(PROFILE_NAMES)} (default {DEFAULT_PROFILE}, the newest)")
    k.add_argument("--index", help=f"{' | '.join(INDEX_NAMES)}")
    k.add_argument("--alloc-lock", help="pool | class: one allocator lock per pool, or zsmalloc's per size class")
    k.add_argument("--lru-lock", help="tree | alloc | own: the lock the LRU lives under")
    k.add_argument("--free-under-tree", help="none | all | invalidate: frees made while holding tree_lock")
    k.add_argument("--load", help="keep | exclusive: whether a load erases the entry")
    k.add_argument("--wb-order", help="pin-first | lookup-first | claim-first: how writeback secures its victim")
    k.add_argument("--swap-lock", help="off | type: si->lock around each slot allocation and free")
    k.add_argument("--swap-cache-lock", help="off | type | 64m: the swap cache's lock")


def profile_overrides(ns: argparse.Namespace) -> dict:
    """The profile settings given on the command line (flag name -> Config field)."""
    out = {}
    for field in ("index", "alloc_lock", "lru_lock", "free_under_tree", "load", "wb_order", "swap_lock",
                  "swap_cache_lock", "strategy", "allocator", "pools", "lru", "writeback"):
        v = getattr(ns, field, None)
        if v is not None:
            out[field] = v
    if getattr(ns, "kernel", None) is not None:
        out["kernel"] = ns.kernel
    return out


def think_parse(text: str | None) -> int | None:
    """--think-ns: nanoseconds, or 'auto' (None: sized from the kernel's zswap share)."""
    if text is None or str(text).strip().lower() == "auto":
        return None
    try:
        v = int(str(text).strip(), 0)
    except ValueError:
        raise ConfigError(f"--think-ns: cannot read {one_line(text)[:40]!r}; accepted: nanoseconds 0..100000000, "
                          f"or auto") from None
    return v


def add_config_flags(p: argparse.ArgumentParser) -> None:
    """The flags of one configuration (``run``, ``soak``)."""
    add_kernel_flags(p)
    g = p.add_argument_group("pool and locking")
    g.add_argument("--strategy", default=None,
                   help="global | per-swaptype | hashed | split64m (default: the profile's)")
    g.add_argument("--cpus", type=setting_flag("cpus"), default=2, help="simulated CPUs (default 2)")
    g.add_argument("--buckets", type=setting_flag("buckets"), default=256, help="hashed: buckets (default 256)")
    g.add_argument("--swap-types", type=setting_flag("swap_types"), default=None, help="swap devices (default 1)")
    g.add_argument("--swap-size", default="16G", help="size of each swap device (default 16G)")
    g.add_argument("--allocator", default=None, help=f"{' | '.join(ALLOCATOR_NAMES)} (default: the profile's)")
    g.add_argument("--pools", type=setting_flag("pools"), default=None,
                   help="0: one pool per swap type (2012); N: N pools chosen by hash (default: the profile's)")
    g.add_argument("--pool-size", default="256M", help="pool memory, split over the pools (default 256M)")
    g.add_argument("--lock", default="ticket", help=f"spinlock kind: {' | '.join(LOCK_NAMES)} (default ticket)")
    g.add_argument("--lockstat", default="on", help="on | off: lock_stat statistics (default on; off takes none, "
                   "to measure what they cost)")
    g.add_argument("--compressor", default="lz4", help="lz4 | zstd | synthetic:<N>ns (default lz4)")
    g.add_argument("--zstd-level", type=setting_flag("zstd_level"), default=1,
                   help="zstd compression level (default 1)")
    g.add_argument("--reject-above", type=setting_flag("reject_above"), default=0,
                   help="reject compressed sizes above this many bytes (default: largest object)")
    wb = p.add_argument_group("pool limit, writeback and the swap device")
    wb.add_argument("--max-pool-frames", type=setting_flag("max_pool_frames"), default=0,
                    help="pool limit in 4 KiB frames (default: the whole pool)")
    wb.add_argument("--max-pool-percent", type=setting_flag("max_pool_percent"), default=0.0,
                    help="pool limit as %% of --ram-size")
    wb.add_argument("--ram-size", default="8G", help="the simulated machine's RAM (default 8G)")
    wb.add_argument("--writeback", default=None,
                    help="recursive | denial-map | direct | deferred: what a full pool does (default: the profile's)")
    wb.add_argument("--lru", default=None, help="object | pageframe: reclaim order (default: the profile's)")
    wb.add_argument("--frame-depth", type=setting_flag("frame_depth"), default=8,
                    help="operation frames per CPU: the bound on writeback recursion (default 8)")
    wb.add_argument("--dev-write-ns", type=setting_flag("dev_write_ns"), default=0,
                    help="swap device: cost of writing a page (default 0)")
    wb.add_argument("--dev-read-ns", type=setting_flag("dev_read_ns"), default=0,
                    help="swap device: cost of reading a page (default 0)")
    w = p.add_argument_group("workload")
    w.add_argument("--mix", default="50/35/15", help="store/load/invalidate percentages (default 50/35/15)")
    w.add_argument("--clusters-per-cpu", type=setting_flag("clusters_per_cpu"), default=4,
                   help="256-slot clusters each CPU stores into (default 4)")
    w.add_argument("--zero-pct", type=float_flag("--zero-pct", 0, 100), default=10.0,
                   help="zero-filled pages, %% (default 10)")
    w.add_argument("--same-pct", type=float_flag("--same-pct", 0, 100), default=5.0,
                   help="same-filled non-zero pages, %% (default 5)")
    w.add_argument("--incompressible-pct", type=float_flag("--incompressible-pct", 0, 100), default=15.0,
                   help="incompressible pages, %% (default 15)")
    w.add_argument("--dup-rate", type=setting_flag("dup_rate"), default=0.0,
                   help="share of stores to a slot holding data that overwrite it (duplicate_entry) instead of "
                        "freeing it first, as the kernel does (default 0)")
    w.add_argument("--think-ns", default=None,
                   help="work between two operations of a CPU, ns, or auto: sized so that zswap takes the 16.73%% "
                        "of CPU time b8cf32dc6e8c measured for zswap_store (default auto; 0: back to back)")
    w.add_argument("--seed", type=setting_flag("seed"), default=1, help="workload seed (default 1)")
    m = p.add_argument_group("measurement")
    m.add_argument("--duration", type=seconds_flag, default=None, help="seconds measured per run")
    m.add_argument("--warmup", type=setting_flag("warmup"), default=None,
                   help="seconds run before measuring (default 0.5)")
    m.add_argument("--no-pin", action="store_true", help="do not pin workers to cores")
    m.add_argument("--rt", action="store_true", help=RT_HELP)


RT_HELP = ("run the workers at a real-time priority (SCHED_FIFO) where the system permits it, so other "
           "processes cannot preempt a lock holder; they then starve while the run lasts (README: --rt)")


def onoff_parse(text: str, flag: str) -> bool:
    t = str(text).strip().lower()
    if t in ("on", "off"):
        return t == "on"
    raise ConfigError(f"{flag}: {text!r} is not on or off; accepted: on, off")


def config_from(ns: argparse.Namespace, base: Config | None = None) -> Config:
    """The Config the flags of ``add_config_flags`` describe (not yet validated)."""
    base = base or Config()
    name, synth = parse_compressor(ns.compressor)
    changes = dict(
        cpus=ns.cpus,
        buckets=ns.buckets,
        swap_size=parse_size(ns.swap_size, "--swap-size"),
        pool_size=parse_size(ns.pool_size, "--pool-size"),
        lock=ns.lock,
        lockstat=onoff_parse(ns.lockstat, "--lockstat"),
        compressor=name,
        synthetic_ns=synth,
        zstd_level=ns.zstd_level,
        reject_above=ns.reject_above,
        clusters_per_cpu=ns.clusters_per_cpu,
        pages=PageMix(zero=ns.zero_pct, same=ns.same_pct, incompressible=ns.incompressible_pct),
        seed=ns.seed,
        pin=not ns.no_pin,
        rt=ns.rt,
        max_pool_frames=ns.max_pool_frames,
        max_pool_percent=ns.max_pool_percent,
        ram_size=parse_size(ns.ram_size, "--ram-size"),
        frame_depth=ns.frame_depth,
        dup_rate=ns.dup_rate,
        think_ns=think_parse(ns.think_ns),
        dev_write_ns=ns.dev_write_ns,
        dev_read_ns=ns.dev_read_ns,
    )
    changes["mix"] = parse_mix(ns.mix)
    changes.update(profile_overrides(ns))
    if ns.swap_types is not None:
        changes["swap_types"] = ns.swap_types
    if ns.duration is not None:
        changes["duration"] = ns.duration
    if ns.warmup is not None:
        changes["warmup"] = ns.warmup
    return base.replace(**changes)


def oversub_warning(cpus: int, cores: int) -> str:
    return (f"warning: {cpus} workers on {cores} cores: oversubscribed; spinlock figures include "
            f"waiting for preempted lock holders, which is not the design's fault")


def compile_notices() -> None:
    """Before a command that compiles: where numba's cache is, if not where it should be."""
    from zswap_conc.jit import CACHE_NOTE

    if CACHE_NOTE:
        print(CACHE_NOTE, file=sys.stderr)


def stale_notice() -> None:
    """Mention shared memory that dead runs left behind (never a live run's)."""
    from zswap_conc.arena import segments_stale

    stale = segments_stale()
    if stale:
        mib = sum(s for _, _, s in stale) >> 20
        print(f"note: {len(stale)} shared-memory segment(s) ({mib} MiB) were left by dead runs; "
              f"'zswap-conc clean --yes' removes them", file=sys.stderr)


def cores_allowed() -> int:
    return len(os.sched_getaffinity(0))


def one_line(message: object) -> str:
    """User text echoed in an error (a flag value, a file name) must not break the one-line rule."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(message))


def ns_flag(flag: str, hi: float = 1e9):
    """An argparse type: a time in ns, ``50``, ``50ns``, ``1.5us`` or ``2ms``, in [0, hi] ns."""

    def conv(text: str) -> float:
        t = text.strip().lower()
        scale = 1.0
        for suffix, mult in (("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)):
            if t.endswith(suffix):
                t, scale = t[: -len(suffix)], mult
                break
        try:
            v = float(t) * scale
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a time; accepted: ns, e.g. 50, 50ns or 1.5us") from None
        if not 0 <= v <= hi:  # also refuses nan
            raise argparse.ArgumentTypeError(f"{text} is out of range; accepted: 0..{hi:.0f} ns")
        return v

    return conv
