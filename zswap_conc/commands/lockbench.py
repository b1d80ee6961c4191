"""``zswap-conc lockbench``: a lock-only loop (will-it-scale style) on the testbed's spinlocks, at
each CPU count: ops/s against the linear ideal, wait share, contentions per acquisition and the
hand-off latency.  It is the lock layer's own benchmark and the contention model's calibration
(``zswap-conc predict --calibration FILE``).

Each CPU repeats: take one of --locks locks (chosen at random), hold it --hold-ns, release it, work
--outside-ns.  Times are exponentially distributed around those means (the model's assumption)
unless --dist fixed."""

from __future__ import annotations

import argparse
import sys

from zswap_conc.commands.common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    RT_HELP,
    compile_notices,
    cores_allowed,
    int_flag,
    ns_flag,
    seconds_flag,
    setting_flag,
    stale_notice,
)
from zswap_conc.config import ConfigError

HELP = "lock-only benchmark: the lock layer's scaling and the model's hand-off calibration"
DEFAULT_REPEATS = 3
DEFAULT_DURATION = 1.0
DEFAULT_WARMUP = 0.3


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hold-ns", type=ns_flag("--hold-ns"), default=100.0, help="mean hold (default 100ns)")
    p.add_argument("--outside-ns", type=ns_flag("--outside-ns"), default=1000.0,
                   help="mean work outside the lock per operation (default 1000ns)")
    p.add_argument("--locks", type=int_flag("--locks", 1, 65536), default=1,
                   help="locks; each operation takes one at random (default 1)")
    p.add_argument("--lock", default="ticket", help="ticket | ttas (default ticket)")
    p.add_argument("--dist", default="exponential", help="exponential | fixed: holds and outside times "
                   "(default exponential)")
    p.add_argument("--cpus", help="CPU counts, e.g. 1,2 or 1-16 (default 1..cores)")
    p.add_argument("--repeats", type=int_flag("--repeats", 1, 100), default=DEFAULT_REPEATS,
                   help=f"runs per CPU count (default {DEFAULT_REPEATS})")
    p.add_argument("--duration", type=seconds_flag, default=DEFAULT_DURATION,
                   help=f"seconds measured per run (default {DEFAULT_DURATION:g})")
    p.add_argument("--warmup", type=setting_flag("warmup"), default=DEFAULT_WARMUP,
                   help=f"seconds before measuring (default {DEFAULT_WARMUP:g})")
    p.add_argument("--oversubscribe", action="store_true", help="allow more workers than cores (marked)")
    p.add_argument("--no-pin", action="store_true", help="do not pin workers to cores")
    p.add_argument("--rt", action="store_true", help=RT_HELP)
    p.add_argument("--seed", type=int_flag("--seed", 0), default=1, help="random seed (default 1)")
    p.add_argument("--out", help="results file (default zswap-results/lockbench-<time>.json)")
    p.add_argument("--json", action="store_true", help="print the lockbench document as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.experiment import cpus_parse
    from zswap_conc.lockbench import LockbenchConfig, LockbenchStopped, lockbench_run, lockbench_validate
    from zswap_conc.outputs import default_file, out_file_check
    from zswap_conc.results.lockbench import lockbench_table, shape_label

    cores = cores_allowed()
    cpus = cpus_parse(ns.cpus) if ns.cpus else tuple(range(1, cores + 1))
    if max(cpus) > 1024:
        raise ConfigError(f"--cpus: {max(cpus)} is out of range; accepted: 1..1024")
    if max(cpus) > cores and not ns.oversubscribe:
        raise ConfigError(f"--cpus: {max(cpus)} exceeds the {cores} cores available; accepted: 1..{cores}, "
                          f"or add --oversubscribe to measure beyond them (marked in the results)")
    shape = lockbench_validate(LockbenchConfig(hold_ns=ns.hold_ns, outside_ns=ns.outside_ns, locks=ns.locks,
                                               lock=ns.lock, dist=ns.dist, duration=ns.duration,
                                               warmup=ns.warmup, pin=not ns.no_pin, rt=ns.rt, seed=ns.seed))
    from zswap_conc.runner import rt_check

    rt_check(shape.replace(cpus=max(cpus)))
    out = ns.out or default_file("lockbench")
    out_file_check(out)
    compile_notices()
    stale_notice()
    if max(cpus) > cores:
        print(f"warning: CPU counts {[n for n in cpus if n > cores]} exceed the {cores} cores available: "
              f"oversubscribed, marked in the results; spinlocks collapse there for reasons unrelated to the lock",
              file=sys.stderr)
    print(f"zswap-conc lockbench {shape_label(shape.to_dict())} ({shape.dist}): CPUs {list(cpus)} x {ns.repeats} "
          f"repeats of {shape.duration:g}s (+{shape.warmup:g}s warm-up); results in {out}", file=sys.stderr)
    try:
        doc = lockbench_run(shape, cpus, ns.repeats, out, progress=not ns.quiet, allow_oversubscribe=ns.oversubscribe)
    except LockbenchStopped as e:
        from zswap_conc.errors import WorkerDied

        print(f"zswap-conc: {'error: ' if isinstance(e.cause, WorkerDied) else ''}{e}; kept {e.kept} of {e.total} "
              f"runs in {e.path} (marked incomplete); shared memory removed", file=sys.stderr)
        return EXIT_FAILED if isinstance(e.cause, WorkerDied) else EXIT_INTERRUPTED
    from zswap_conc.disturbance import causes_summary
    from zswap_conc.results.document import json_text

    bad = [r for r in doc["runs"] if (r.get("disturbance") or {}).get("disturbed")]
    if bad:
        print(f"warning: {len(bad)} of {len(doc['runs'])} runs were disturbed ({causes_summary(bad)}): their figures "
              f"include the machine's other load; compare gives them no verdict", file=sys.stderr)
    if ns.json:
        print(json_text(doc))
    else:
        print(lockbench_table(doc))
        print(f"wrote {out}")
    return 0 if all(p["integrity_ok"] for p in doc["points"]) else EXIT_FAILED
