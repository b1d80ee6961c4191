"""The progress line every long command shares (sweep, lockbench, reclaim, soak, hunt): where it
is and its ETA, redrawn in place on a terminal, one line per step (at most every ``every_s``)
otherwise.  It writes to stderr and never stops a measurement: a broken stderr is ignored."""

from __future__ import annotations

import sys
import time


class Progress:
    """One line per step (a redrawn bar on a terminal): where a long command is, and its ETA.

    ``unit`` names what is counted ("runs", "s"); off a terminal a line is written at most every
    ``every_s`` seconds (and for the last step), so a ten-minute soak logs ten lines, not 600."""

    def __init__(self, total: int, stream=None, unit: str = "", every_s: float = 0.0):
        self.total = total
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.unit = unit
        self.every_s = every_s
        self.last_line = -1e9

    def show(self, i: int, label: str) -> None:
        elapsed = time.perf_counter() - self.t0
        if not self.tty and i < self.total and elapsed - self.last_line < self.every_s:
            return
        self.last_line = elapsed
        eta = elapsed / i * (self.total - i) if i else 0.0
        width = 24
        filled = min(width, int(width * i / self.total)) if self.total else width
        bar = "#" * filled + "-" * (width - filled)
        unit = f" {self.unit}" if self.unit else ""
        msg = f"[{bar}] {i}/{self.total}{unit} {label}  elapsed {elapsed:4.0f}s  ETA {eta:4.0f}s"
        try:
            if self.tty:
                self.stream.write("\r" + msg.ljust(100))
            else:
                self.stream.write(msg + "\n")
            self.stream.flush()
        except OSError:  # a closed or broken stderr must not stop the measurement
            pass

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
