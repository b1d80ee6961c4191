"""Drawn programs and configurations: what the hunter and the Hypothesis machine check.

A ``Program`` is a checked world's settings (kernel profile, writeback path, LRU, allocator, pools,
strategy, pool limit) and one list of operations per simulated CPU (2-4 CPUs) over a small set of
slots.  Slots 0..3 are stored before the program runs (PREFILL); slot 4 starts empty.  Operations:

  store S, load S, invalidate S   zswap's three entry points, each holding S's busy bit throughout
  writeback                       one writeback from the LRU (direct reclaim, or zbud_reclaim_page)
  shrink                          the worker loop's look for queued shrink work (deferred writeback)
  swapoff                         waits for the other CPUs' stores, loads and invalidates, then
                                  invalidates every slot and frees the swap type's trees
  abba X                          a synthetic lock-order test (the lock-order-inversion variant)

``program_draw`` draws one from a ``random.Random``; the encoding (encoding.py) writes all of it into
the schedule string, so a replay rebuilds exactly the world and program that failed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from zswap_conc.config import (
    ALLOCATOR_NAMES,
    LRU_NAMES,
    WRITEBACK_NAMES,
    Config,
    ConfigError,
    validate,
)
from zswap_conc.kernels import PROFILE_NAMES, PROFILES
from zswap_conc.strategies import STRATEGIES

PREFILL = 4  # slots 0..PREFILL-1 are stored (by CPU 0, one after another) before the program runs
SLOTS = 5  # slots a drawn program uses: the prefilled ones and one that starts empty
OP_KINDS = ("store", "load", "invalidate", "writeback", "shrink", "swapoff", "abba")
SLOT_OPS = ("store", "load", "invalidate")  # the operations that take a slot
CPUS_MIN, CPUS_MAX = 2, 4
OPS_MAX = 4  # operations per CPU in a drawn program
POOL_FRAMES = 128  # a checked pool's frames: 4 for each of up to 32 pools (a program fills a few)
# settings a program may carry, with the values the encoding accepts (kernel first: it fills the rest)
SETTING_VALUES = {
    "kernel": PROFILE_NAMES,
    "writeback": WRITEBACK_NAMES,
    "lru": LRU_NAMES,
    "allocator": ALLOCATOR_NAMES,
    "pools": (0, 1, 2, 32),
    "strategy": STRATEGIES,
    "room": (0, 1),  # pool frames free beyond what the prefill uses: 0, the next store must write back
    "protocol": ("correct", "no-refcount-2013", "no-recheck-2023"),
    # recursive writeback re-enters the store path by design; "allowed" checks a drawn program's
    # other invariants with it (up to the frame stack's bound), the recursive-writeback-2012 variant
    # refuses it
    "recursion": ("refused", "allowed"),
}


class ProgramError(ValueError):
    """A program that cannot run: an unknown operation, a slot or CPU out of range, settings that
    cannot go together."""


@dataclass(frozen=True)
class Program:
    settings: tuple  # ((name, value), ...) sorted by SETTING_VALUES order
    ops: tuple  # per CPU: ((kind, arg), ...); arg is a slot, an LRU, or a string (abba)

    @property
    def ncpus(self) -> int:
        return len(self.ops)

    @property
    def settings_dict(self) -> dict:
        return dict(self.settings)

    def slots(self) -> list[int]:
        """Every slot the program can touch: the drawn programs' slots (the prefilled ones too:
        writeback picks them), and any other its operations name."""
        used = {arg for cpu in self.ops for kind, arg in cpu if kind in SLOT_OPS}
        return sorted(used | set(range(SLOTS)))


def settings_normal(settings: dict) -> tuple:
    """Settings in their canonical order, refused in one line if a name or value is unknown."""
    for k, v in settings.items():
        if k not in SETTING_VALUES:
            raise ProgramError(f"unknown setting {k!r}; accepted: {', '.join(SETTING_VALUES)}")
        if v not in SETTING_VALUES[k]:
            raise ProgramError(f"setting {k}={v!r} is not accepted; accepted: "
                               f"{', '.join(map(str, SETTING_VALUES[k]))}")
    return tuple((k, settings[k]) for k in SETTING_VALUES if k in settings)


def world_config(settings: dict, ncpus: int) -> Config:
    """The validated Config of a checked world: a small pool (a few frames are all a program
    uses), one cluster per CPU, no think time; a ConfigError if the settings cannot go together."""
    s = dict(settings)
    for k in ("room", "recursion"):  # the checker's, not the pool's (execution.World)
        s.pop(k, None)
    kw = dict(buckets=16, cpus=max(ncpus, 2), clusters_per_cpu=1, pool_size=POOL_FRAMES * 4096,
              swap_size=1 << 30, think_ns=0)
    kw.update(s)
    return validate(Config(**kw))


def program_check(program: Program, ncpus_max: int = 8) -> None:
    """Refuse a program that cannot run, in one line."""
    if not 1 <= program.ncpus <= ncpus_max:
        raise ProgramError(f"{program.ncpus} CPUs; accepted: 1..{ncpus_max}")
    for cpu, ops in enumerate(program.ops):
        for kind, arg in ops:
            if kind not in OP_KINDS:
                raise ProgramError(f"cpu{cpu}: unknown operation {kind!r}; accepted: {', '.join(OP_KINDS)}")
            if kind in SLOT_OPS and not (isinstance(arg, int) and 0 <= arg < 64):
                raise ProgramError(f"cpu{cpu}: {kind} of slot {arg!r}; accepted: slots 0..63")
            if kind == "abba" and arg not in ("tree,pool", "pool,tree"):
                raise ProgramError(f"cpu{cpu}: abba {arg!r}; accepted: tree,pool or pool,tree")
    if sum(kind == "swapoff" for ops in program.ops for kind, _ in ops) > 1:
        raise ProgramError("more than one swapoff; accepted: at most one")
    for cpu, ops in enumerate(program.ops):
        if any(kind == "swapoff" for kind, _ in ops[:-1]):
            raise ProgramError(f"cpu{cpu}: swapoff must be its CPU's last operation")
    try:
        world_config(program.settings_dict, program.ncpus)
    except ConfigError as e:
        raise ProgramError(f"settings cannot run together: {e}") from None


def settings_fit(s: dict) -> dict:
    """Drop the overrides that cannot run with the profile, in a fixed order, and those equal to
    the profile's own value."""
    s = dict(s)
    for k in ("allocator", "lru", "pools", "writeback", "strategy"):
        try:
            world_config(s, 2)
            break
        except ConfigError:
            s.pop(k, None)
    world_config(s, 2)  # the profile alone always validates
    prof = PROFILES[s["kernel"]].settings
    return {k: v for k, v in s.items() if k not in prof or prof[k] != v}


def _settings_draw(rng: random.Random) -> dict:
    """A kernel profile, and about half of the other settings drawn away from it; overrides that
    cannot run with the profile are dropped (in a fixed order, so the draw is reproducible)."""
    kernel = rng.choice(PROFILE_NAMES)
    s = {"kernel": kernel}
    for k in ("writeback", "lru", "allocator", "pools", "strategy"):
        if rng.random() < 0.5:
            s[k] = rng.choice(SETTING_VALUES[k])
    s["room"] = rng.choice((0, 0, 1))
    return settings_fit(s)


def recursion_note(settings: dict) -> dict:
    """Recursive writeback in a drawn program is the design under study, not the bug."""
    cfg = world_config(settings, 2)
    return {**settings, "recursion": "allowed"} if cfg.writeback == "recursive" else settings


def program_draw(rng: random.Random) -> Program:
    """A random program: settings, 2-4 CPUs with 1-4 operations each over slots 0..4."""
    settings = recursion_note(_settings_draw(rng))
    cfg = world_config(settings, 2)
    ncpus = rng.randint(CPUS_MIN, CPUS_MAX)
    kinds = ["store", "store", "load", "load", "invalidate", "invalidate", "writeback"]
    if cfg.writeback == "deferred":
        kinds += ["shrink", "shrink"]
    ops = []
    for _ in range(ncpus):
        cpu = []
        for _ in range(rng.randint(1, OPS_MAX)):
            kind = rng.choice(kinds)
            cpu.append((kind, 0 if kind in ("writeback", "shrink") else rng.randrange(SLOTS)))
        ops.append(cpu)
    # swapoff only where writeback secures its slot before it touches the tree (claim-first, 6.9+,
    # 5878303c5353): the older orders race with swapoff in the kernel itself (writeback-swapoff-2024)
    if cfg.wb_order == "claim-first" and rng.random() < 0.15:
        ops[-1].append(("swapoff", 0))
    return Program(settings_normal(settings), tuple(tuple(c) for c in ops))
