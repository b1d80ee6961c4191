"""The command line: ``zswap-conc COMMAND``, one module per command in ``commands/``.

This module only parses and dispatches.  Every user error ends the same way: one line
``zswap-conc: error: <flag>: <what is wrong>; accepted: <what is>`` on stderr and exit status 2,
never a traceback.  A worker that dies gives status 1, an interrupted run 130; neither leaves a
shared-memory segment behind.  A results folder that breaks midway ends in one line saying what was
kept (status 2).  A closed pipe on stdout (``| head``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from zswap_conc import __version__
from zswap_conc.commands import COMMANDS
from zswap_conc.commands.common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError, one_line
from zswap_conc.config import ConfigError
from zswap_conc.errors import Interrupted, WorkerDied, WriteFailed
from zswap_conc.results.document import ResultsError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, status 2
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="zswap-conc", description="Lock contention and race testbed for a compressed swap pool.")
    p.add_argument("--version", action="version", version=f"zswap-conc {__version__}")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS:
        mod = importlib.import_module(f"zswap_conc.commands.{name}")
        cp = sub.add_parser(name, help=mod.HELP, description=mod.__doc__)
        mod.add_arguments(cp)
        cp.set_defaults(func=mod.main)
    return p


def _stdout_closed() -> int:
    """The reader of stdout went away (``| head``): say nothing more, and let no flush at exit raise."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
        if not getattr(ns, "command", None):
            raise UsageError("a command is required; accepted: " + ", ".join(sorted(COMMANDS)))
        code = ns.func(ns)
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        return _stdout_closed()
    except (UsageError, ConfigError, ResultsError, WriteFailed) as e:
        print(f"zswap-conc: error: {one_line(e)}", file=sys.stderr)
        return EXIT_USAGE
    except WorkerDied as e:
        print(f"zswap-conc: error: {one_line(e)}; the run was stopped and its shared memory removed", file=sys.stderr)
        return EXIT_FAILED
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"zswap-conc: {e if isinstance(e, Interrupted) else 'interrupted by SIGINT'}; workers stopped, "
              f"shared memory removed", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
