"""``zswap-conc replay``: run one schedule string deterministically and print its trace.  The
string carries the configuration and the program (check/encoding.py), so the replay is exact."""

from __future__ import annotations

import argparse

from zswap_conc.commands.common import EXIT_FAILED, compile_notices
from zswap_conc.config import ConfigError

HELP = "replay a schedule string deterministically"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("schedule", help="a schedule string printed by 'zswap-conc hunt', e.g. zs2:kernel=6.9/s4+i0/0x5-1")
    p.add_argument("--variant", default=None, help="the variant it was found in: checked against the string's "
                   "configuration and program")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.check.encoding import ScheduleError, decode
    from zswap_conc.check.execution import World
    from zswap_conc.check.hunt import replay
    from zswap_conc.check.variants import VARIANT_NAMES, VARIANTS

    compile_notices()
    try:
        program, schedule = decode(ns.schedule)
    except ScheduleError as e:
        raise ConfigError(f"SCHEDULE: {e}; accepted: a string like zs2:kernel=6.9/s4+i0/0x5-1 printed by "
                          f"'zswap-conc hunt'") from None
    if ns.variant is not None:
        if ns.variant not in VARIANT_NAMES:
            raise ConfigError(f"--variant: unknown variant {ns.variant!r}; accepted: {', '.join(VARIANT_NAMES)}")
        want = VARIANTS[ns.variant].program.settings_dict
        have = program.settings_dict
        if ns.variant == "none":  # drawn configurations: any, with the correct protocol
            differ = ["protocol"] if have.get("protocol", "correct") != "correct" else []
        else:  # the variant's own, where a hunt may have changed only the kernel and the strategy
            differ = sorted(k for k in set(want) | set(have) if k not in ("kernel", "strategy")
                            and want.get(k) != have.get(k))
        if differ:
            raise ConfigError(f"SCHEDULE: recorded for a different configuration than variant {ns.variant}'s "
                              f"({', '.join(f'{k}={have.get(k)}' for k in differ)}); accepted: the variant "
                              f"the hunt named, or no --variant")
    world = World(program)
    try:
        v, trace = replay(world, schedule)
    finally:
        world.close()
    for line in trace:
        print(f"  {line}")
    if v is None:
        print("no violation: this program survives this schedule")
        return 0
    print(f"invariant broken: {v.invariant}: {v.detail}")
    return EXIT_FAILED
