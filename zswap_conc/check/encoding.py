"""Schedules as plain, copy-pasteable strings: ``zs1:0x3-1-2x2`` is CPU 0 three steps, CPU 1
one, CPU 2 two.  The prefix carries the format version; an unknown version is refused."""

from __future__ import annotations

import re

VERSION = "zs1"
_TOKEN = re.compile(r"(\d{1,4})(?:x(\d{1,6}))?")


class ScheduleError(ValueError):
    pass


def schedule_encode(schedule: list[int]) -> str:
    runs: list[list[int]] = []
    for c in schedule:
        if runs and runs[-1][0] == c:
            runs[-1][1] += 1
        else:
            runs.append([c, 1])
    return f"{VERSION}:" + "-".join(f"{c}x{n}" if n > 1 else f"{c}" for c, n in runs)


def schedule_decode(text: str) -> list[int]:
    text = text.strip()
    head, sep, body = text.partition(":")
    if not sep or not head.startswith("zs"):
        raise ScheduleError(f"schedule {text[:40]!r} does not start with '{VERSION}:'")
    if head != VERSION:
        raise ScheduleError(f"schedule format {head!r} is not supported; this tool reads {VERSION!r}")
    out: list[int] = []
    if not body:
        return out
    for tok in body.split("-"):
        m = _TOKEN.fullmatch(tok)
        if not m or (m.group(2) is not None and int(m.group(2)) == 0):
            raise ScheduleError(f"schedule token {tok!r} is not CPU or CPUxCOUNT")
        out.extend([int(m.group(1))] * int(m.group(2) or 1))
    return out
