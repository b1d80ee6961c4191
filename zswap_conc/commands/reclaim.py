"""``zswap-conc reclaim``: pageframes freed against compressed objects written back, per allocator
and LRU policy, and its table."""

from __future__ import annotations

import argparse

from zswap_conc.commands.common import EXIT_FAILED, compile_notices, int_flag
from zswap_conc.config import RECLAIM_CHURN_ROUNDS, RECLAIM_CHURN_SHARE, ConfigError
from zswap_conc.errors import WriteFailed
from zswap_conc.outputs import out_dir_prepare
from zswap_conc.results.document import dump

HELP = "pageframes freed against objects written back, per allocator x LRU"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--fragmentation", default="0,0.3,0.6",
                   help="fractions of slots invalidated before reclaim (default 0,0.3,0.6)")
    p.add_argument("--clusters", type=int_flag("--clusters", 1, 256), default=8,
                   help="256-slot clusters stored before reclaim (default 8)")
    p.add_argument("--churn-rounds", type=int_flag("--churn-rounds", 0, 100), default=RECLAIM_CHURN_ROUNDS,
                   help=f"rounds of invalidating {RECLAIM_CHURN_SHARE * 100:.0f}%% of the slots and storing them "
                        f"again before writeback, so LRU order stops matching frame placement "
                        f"(default {RECLAIM_CHURN_ROUNDS})")
    p.add_argument("--kernel", default=None, help="kernel profile for everything but the LRU and allocator "
                   "(default: the newest)")
    p.add_argument("--out", help="results folder (default zswap-results/reclaim-<time>)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


def reclaim_table(doc: dict) -> str:
    """Frames freed per object written back, at a quarter of the objects, per curve."""
    lines = [f"{'allocator':<9} {'policy':<9} {'frag':>5} {'objects':>8} {'frames':>7} {'obj/frame':>9} "
             f"{'frames freed per object written back (at 1/4)':>47} {'objects per frame freed':>24}"]
    for c in doc["curves"]:
        opf = c["objects_per_frame_freed_at_quarter"]
        lines.append(f"{c['allocator']:<9} {c['policy']:<9} {c['fragmentation']:>5.0%} {c['objects_at_start']:>8} "
                     f"{c['frames_at_start']:>7} {c['objects_per_frame_at_start']:>9.2f} "
                     f"{c['frames_freed_per_object_at_quarter']:>47.3f} {opf if opf is not None else 'inf':>24}")
    return "\n".join(lines)


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.plot import reclaim_plot
    from zswap_conc.progress import Progress
    from zswap_conc.reclaim import reclaim_run

    compile_notices()
    try:
        frags = tuple(float(x) for x in ns.fragmentation.split(",") if x.strip())
    except ValueError:
        frags = ()
    if not frags or not all(0 <= x < 1 for x in frags):
        raise ConfigError(f"--fragmentation: cannot use {ns.fragmentation!r}; accepted: fractions in [0, 1), "
                          f"e.g. 0,0.3,0.6")
    if ns.kernel is not None:
        from zswap_conc.kernels import profile_get

        profile_get(ns.kernel)  # an unknown profile is refused before any work
    out = out_dir_prepare(ns.out, "reclaim")
    bar = None if ns.quiet else Progress(len(frags) * 4, unit="curves")

    def progress(done: int, total: int, label: str) -> None:
        if bar:
            bar.total = total
            bar.show(done, label)

    from zswap_conc.runner import warm_up

    warm_up()  # the first use compiles here, under its notice, not silently inside the first curve
    if bar:
        bar.show(0, "filling the first pool")
    doc = reclaim_run(frags, ns.clusters, ns.churn_rounds, ns.kernel, progress=progress)
    if bar:
        bar.done()
    try:
        dump(doc, out / "reclaim.json")
        reclaim_plot(doc, out / "reclaim")
    except OSError as e:
        raise WriteFailed(e.filename or out, e.strerror or str(e), 0, len(doc["curves"]), unit="curves") from None
    print(reclaim_table(doc))
    print(f"wrote {out}/reclaim.json, reclaim.png, reclaim.svg")
    return 0 if all(c["integrity_ok"] for c in doc["curves"]) else EXIT_FAILED
