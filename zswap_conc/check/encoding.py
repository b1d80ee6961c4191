"""Schedules as plain, copy-pasteable strings that carry everything a replay needs.

    zs2:kernel=6.9,room=1/s4.i0.s0+l0+w/0x3-1-2x2
        ^ settings        ^ program     ^ schedule

- settings: ``name=value`` pairs (programs.SETTING_VALUES), the checked world's configuration;
- program: one ``+``-separated list per CPU of ``.``-separated operations: ``sN`` store, ``lN`` load,
  ``iN`` invalidate of slot N, ``w`` writeback, ``k`` the shrinker's look for work, ``o`` swapoff,
  ``atp`` / ``apt`` the synthetic lock-order test (tree then pool, pool then tree);
- schedule: runs of one CPU's steps, ``CPUxCOUNT`` (``0x3-1-2x2``: CPU 0 three steps, CPU 1 one,
  CPU 2 two).

The prefix carries the format version; any other version is refused, and so is anything that does
not parse, in one line (``ScheduleError``).
"""

from __future__ import annotations

import re

from zswap_conc.check.programs import SETTING_VALUES, Program, ProgramError, program_check, settings_normal

VERSION = "zs2"
_TOKEN = re.compile(r"(\d{1,4})(?:x(\d{1,6}))?")
_OP = re.compile(r"([slikwoa])(\d{1,3}|tp|pt)?")
_CODES = {"store": "s", "load": "l", "invalidate": "i", "writeback": "w", "shrink": "k", "swapoff": "o",
          "abba": "a"}
_KINDS = {v: k for k, v in _CODES.items()}
_ABBA = {"tree,pool": "tp", "pool,tree": "pt"}


class ScheduleError(ValueError):
    """A schedule string that cannot be read; the message is one line."""


def schedule_encode(schedule: list[int]) -> str:
    """The runs part: ``0x3-1-2x2``."""
    runs: list[list[int]] = []
    for c in schedule:
        if runs and runs[-1][0] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    return "-".join(f"{c}x{n}" if n > 1 else f"{c}" for c, n in runs)


def schedule_decode(body: str) -> list[int]:
    out: list[int] = []
    if not body:
        return out
    for tok in body.split("-"):
        m = _TOKEN.fullmatch(tok)
        if not m or (m.group(2) is not None and int(m.group(2)) == 0):
            raise ScheduleError(f"schedule token {tok!r} is not CPU or CPUxCOUNT")
        out.extend([int(m.group(1))] * int(m.group(2) or 1))
    return out


def _op_encode(kind: str, arg) -> str:
    if kind == "abba":
        return "a" + _ABBA[arg]
    if kind in ("writeback", "shrink", "swapoff"):
        return _CODES[kind]
    return f"{_CODES[kind]}{arg}"


def program_encode(program: Program) -> str:
    settings = ",".join(f"{k}={v}" for k, v in program.settings)
    ops = "+".join(".".join(_op_encode(k, a) for k, a in cpu) for cpu in program.ops)
    return f"{settings}/{ops}"


def encode(program: Program, schedule: list[int]) -> str:
    """The whole string: version, settings, program and schedule."""
    return f"{VERSION}:{program_encode(program)}/{schedule_encode(schedule)}"


def _settings_decode(text: str) -> dict:
    out = {}
    for item in filter(None, text.split(",")):
        k, sep, v = item.partition("=")
        if not sep or k not in SETTING_VALUES:
            raise ScheduleError(f"setting {item!r} is not NAME=VALUE with a NAME of {', '.join(SETTING_VALUES)}")
        value = int(v) if v.isdigit() and isinstance(SETTING_VALUES[k][0], int) else v
        out[k] = value
    return out


def _ops_decode(text: str) -> tuple:
    if not text:
        raise ScheduleError("the program has no CPUs")
    cpus = []
    for cpu_text in text.split("+"):
        ops = []
        for tok in filter(None, cpu_text.split(".")):
            m = _OP.fullmatch(tok)
            if not m:
                raise ScheduleError(f"operation {tok!r} is not one of sN lN iN w k o atp apt")
            kind = _KINDS[m.group(1)]
            arg = m.group(2)
            if kind == "abba":
                if arg not in ("tp", "pt"):
                    raise ScheduleError(f"operation {tok!r}: abba takes tp or pt")
                ops.append((kind, "tree,pool" if arg == "tp" else "pool,tree"))
            elif kind in ("writeback", "shrink", "swapoff"):
                if arg is not None:
                    raise ScheduleError(f"operation {tok!r}: {kind} takes no argument")
                ops.append((kind, 0))
            else:
                if arg is None or not arg.isdigit():
                    raise ScheduleError(f"operation {tok!r}: {kind} needs a slot number")
                ops.append((kind, int(arg)))
        cpus.append(tuple(ops))
    return tuple(cpus)


def decode(text: str) -> tuple[Program, list[int]]:
    """(program, schedule) from a ``zs2:`` string; ScheduleError, one line, if it cannot be read or
    the program cannot run."""
    text = text.strip()
    head, sep, body = text.partition(":")
    if not sep or not re.fullmatch(r"zs\d+", head):
        raise ScheduleError(f"schedule {text[:40]!r} does not start with '{VERSION}:'")
    if head != VERSION:
        raise ScheduleError(f"schedule format {head!r} is not supported; this tool reads {VERSION!r} "
                            f"(a schedule printed by this version's 'zswap-conc hunt')")
    parts = body.split("/")
    if len(parts) != 3:
        raise ScheduleError("a zs2 schedule has three parts, SETTINGS/PROGRAM/RUNS")
    try:
        program = Program(settings_normal(_settings_decode(parts[0])), _ops_decode(parts[1]))
        program_check(program)
    except ProgramError as e:
        raise ScheduleError(f"impossible program: {e}") from None
    schedule = schedule_decode(parts[2])
    if any(c >= program.ncpus for c in schedule):
        raise ScheduleError(f"the schedule names CPU {max(schedule)} but the program has {program.ncpus} CPUs")
    return program, schedule
