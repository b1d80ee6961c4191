"""``zswap-conc replay``: run one schedule string deterministically and print its trace."""

from __future__ import annotations

import argparse

from zswap_conc.commands.common import EXIT_FAILED, compile_notices
from zswap_conc.commands.hunt import names_check
from zswap_conc.config import ConfigError

HELP = "replay a schedule string deterministically"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("schedule", help="a schedule string, e.g. zs1:0x5-1")
    p.add_argument("--variant", default="none", help="the protocol variant it was found in (default none)")
    p.add_argument("--strategy", default="per-swaptype", help="locking strategy of the checked pool")
    p.add_argument("--kernel", default=None, help="kernel profile of the checked pool (as the hunt had it)")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.check.encoding import ScheduleError, schedule_decode
    from zswap_conc.check.execution import World
    from zswap_conc.check.hunt import replay

    compile_notices()
    names_check(ns.variant, ns.strategy)
    try:
        schedule = schedule_decode(ns.schedule)
    except ScheduleError as e:
        raise ConfigError(f"SCHEDULE: {e}; accepted: a string like zs1:0x5-1 printed by 'zswap-conc hunt'") from None
    world = World(ns.variant, ns.strategy, ns.kernel)
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
