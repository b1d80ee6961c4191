"""``zswap-conc soak``: a long mixed run under writeback pressure, the whole pool verified every
second while the workers are parked at an operation boundary."""

from __future__ import annotations

import argparse
import sys

from zswap_conc.commands.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    add_config_flags,
    compile_notices,
    config_from,
    stale_notice,
)
from zswap_conc.config import validate
from zswap_conc.outputs import default_file, fallback_file, out_file_check
from zswap_conc.results.document import dump
from zswap_conc.results.run import integrity_ok, kernel_label

HELP = "a long mixed run under writeback pressure, verified every second"
DEFAULT_DURATION_S = 600.0
DEFAULT_POOL_LIMIT = 256  # frames: writeback pressure is the point of a soak


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_config_flags(p)
    p.add_argument("--out", help="soak record (default zswap-results/soak-<time>.json)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.runner import run

    compile_notices()
    if ns.duration is None:
        ns.duration = DEFAULT_DURATION_S
    if not ns.max_pool_frames and not ns.max_pool_percent:
        ns.max_pool_frames = DEFAULT_POOL_LIMIT
    cfg = validate(config_from(ns))
    out = ns.out or default_file("soak")
    out_file_check(out)
    stale_notice()
    print(f"zswap-conc soak: {kernel_label(cfg.to_dict())}, {cfg.cpus} CPUs, writeback {cfg.writeback}, lru {cfg.lru}, "
          f"pool limit "
          f"{cfg.pool_limit_frames} frames, {cfg.duration:g}s, verifying the whole pool every second", file=sys.stderr)

    from zswap_conc.disturbance import warning_line
    from zswap_conc.progress import Progress
    from zswap_conc.runner import rt_check

    rt_check(cfg)
    bar = None if ns.quiet else Progress(int(round(cfg.duration)), unit="s", every_s=60.0)

    def progress(t: float, ops_s: float) -> None:
        if bar:
            bar.show(min(int(round(t)), bar.total), f"{ops_s:,.0f} ops/s")

    def orphaned(reason: str, partial: dict) -> None:  # in a worker whose parent vanished: the file says why
        dump(partial, out)

    try:
        rec = run(cfg, on_sample=progress, verify_every=1.0, on_orphan=orphaned)
    finally:
        if bar:
            bar.done()
    if rec["disturbance"]["disturbed"]:
        print(warning_line(rec["disturbance"], bool((rec["meta"].get("rt") or {}).get("granted"))), file=sys.stderr)
    lost = None
    try:
        dump(rec, out)
    except OSError as e:  # the path broke during the soak: the finished record goes elsewhere
        lost = f"cannot write {out} ({e.strerror or e})"
        out = fallback_file("soak")
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
    if lost:
        print(f"zswap-conc: error: {lost}; the finished record was written to {out} instead", file=sys.stderr)
        return EXIT_USAGE
    return 0 if ok and integrity_ok(rec) else EXIT_FAILED
