"""``zswap-conc hunt``: search schedules of the checked pool for a broken invariant, and print
the minimal failing program and schedule with its trace and the command that replays it.

With ``--variant none`` (the default) the hunter checks the correct protocol in programs and
configurations it draws (check/programs.py); a named variant runs its own program."""

from __future__ import annotations

import argparse
import contextlib

from zswap_conc.commands.common import EXIT_FAILED, compile_notices, int_flag, seconds_flag
from zswap_conc.config import ConfigError

HELP = "search schedules for a race in a writeback protocol"


def add_arguments(p: argparse.ArgumentParser) -> None:
    # no import of the hunter here: every command's flags are built at start-up (tests/test_layers.py)
    p.add_argument("--variant", default="none", help="none | no-refcount-2013 | no-recheck-2023 | "
                   "writeback-swapoff-2024 | recursive-writeback-2012 | lock-order-inversion (default none: the "
                   "correct protocol, in drawn programs and configurations)")
    p.add_argument("--scheduler", default="pct", help="random | pct | dfs | dpor (default pct)")
    p.add_argument("--budget", default="30s", help="seconds (30s) or a number of schedules (1000); default 30s")
    p.add_argument("--seed", type=int_flag("--seed", 0), default=0, help="seed of the drawn programs and the "
                   "scheduler (default 0)")
    p.add_argument("--jobs", type=int_flag("--jobs", 1, 1024), default=None,
                   help="processes to search in (default: one per core; with --cluster, the cluster's threads)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="run the jobs on a Dask distributed scheduler, e.g. tcp://10.0.0.1:8786 (extra [cluster])")
    p.add_argument("--fixed", action="store_true", help="variant none: check its one fixed program, not drawn ones")
    p.add_argument("--strategy", default=None, help="locking strategy of the checked pool (default: drawn, or "
                   "the variant's)")
    p.add_argument("--kernel", default=None, help="kernel profile of the checked pool (default: drawn, or the "
                   "variant's)")
    p.add_argument("--depth", type=int_flag("--depth", 1, 10), default=3, help="pct: bug depth d (default 3)")
    p.add_argument("--preemptions", type=int_flag("--preemptions", 0, 10), default=1,
                   help="dfs, dpor: preemption bound (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress line")


class _Ticker:
    """The hunt's progress: elapsed time against a budget in seconds (a redrawn bar on a terminal,
    a line every 10 s otherwise), drawn from a thread -- the hunt loop lives in ``check`` and
    reports nothing until it ends.  A budget of schedules shows the elapsed time alone."""

    def __init__(self, seconds: float | None, executions: int | None):
        import threading

        from zswap_conc.progress import Progress

        self.seconds = seconds
        self.executions = executions
        self.bar = Progress(int(round(seconds)) if seconds else 0, unit="s", every_s=10.0)
        self.stop = threading.Event()
        self.drawn = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import time

        t0 = time.perf_counter()
        while not self.stop.wait(1.0):
            t = time.perf_counter() - t0
            self.drawn = True
            if self.seconds:
                self.bar.show(min(int(t), self.bar.total), "hunting")
            elif self.bar.tty or int(t) % 10 == 0:
                line = f"hunting: {self.executions} schedules to run, {t:.0f} s so far"
                try:
                    self.bar.stream.write(f"\r{line}" if self.bar.tty else f"{line}\n")
                    self.bar.stream.flush()
                except OSError:
                    pass

    def __enter__(self) -> _Ticker:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        if self.drawn:
            self.bar.done()


def names_check(variant: str, strategy: str | None, scheduler: str | None = None, kernel: str | None = None) -> None:
    """Refuse an unknown variant, strategy, kernel or scheduler in one line naming what is accepted."""
    from zswap_conc.check.scheduler import SCHEDULERS
    from zswap_conc.check.variants import VARIANT_NAMES
    from zswap_conc.kernels import PROFILE_NAMES
    from zswap_conc.strategies import STRATEGIES

    if variant not in VARIANT_NAMES:
        raise ConfigError(f"--variant: unknown variant {variant!r}; accepted: {', '.join(VARIANT_NAMES)}")
    if strategy is not None and strategy not in STRATEGIES:
        raise ConfigError(f"--strategy: unknown strategy {strategy!r}; accepted: {', '.join(STRATEGIES)}")
    if kernel is not None and kernel not in PROFILE_NAMES:
        raise ConfigError(f"--kernel: unknown profile {kernel!r}; accepted: {', '.join(PROFILE_NAMES)}")
    if scheduler is not None and scheduler not in SCHEDULERS:
        raise ConfigError(f"--scheduler: unknown scheduler {scheduler!r}; accepted: {', '.join(SCHEDULERS)}")


def replay_command(schedule: str, variant: str) -> str:
    return f"zswap-conc replay '{schedule}'" + (f" --variant {variant}" if variant != "none" else "")


def budget_parse(text: str) -> tuple[float | None, int | None]:
    """``30s`` / ``2m`` -> (seconds, None); ``1000`` -> (None, schedules)."""
    b = text.strip().lower()
    try:
        if b.endswith(("s", "m")):
            return seconds_flag(b), None
        executions = int(b)
        if executions >= 1:
            return None, executions
    except (ValueError, argparse.ArgumentTypeError):
        pass
    raise ConfigError(f"--budget: cannot read {text!r}; accepted: seconds like 30s or a number of "
                      f"schedules like 1000")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.check.hunt import hunt
    from zswap_conc.check.jobs import default_jobs
    from zswap_conc.check.programs import ProgramError

    compile_notices()
    names_check(ns.variant, ns.strategy, ns.scheduler, ns.kernel)
    seconds, executions = budget_parse(ns.budget)
    jobs = ns.jobs if ns.jobs is not None else (0 if ns.cluster else default_jobs())
    how = {"pct": f" (depth {ns.depth})", "dfs": f" (preemption bound {ns.preemptions})",
           "dpor": f" (preemption bound {ns.preemptions}, sleep sets + visited states)"}.get(ns.scheduler, "")
    what = "drawn programs and configurations" if ns.variant == "none" and not ns.fixed else "its own program"
    where = f"cluster {ns.cluster}" if ns.cluster else f"{jobs} job{'s' if jobs != 1 else ''}"
    print(f"zswap-conc hunt: variant {ns.variant} ({what}), scheduler {ns.scheduler}{how}, seed {ns.seed}, "
          f"budget {ns.budget}, {where}")
    try:
        with contextlib.nullcontext() if ns.quiet else _Ticker(seconds, executions):
            r = hunt(ns.variant, ns.scheduler, budget_executions=executions, budget_seconds=seconds, seed=ns.seed,
                     depth=ns.depth, preemptions=ns.preemptions, kernel=ns.kernel, strategy=ns.strategy,
                     fixed=ns.fixed, jobs=jobs, cluster=ns.cluster)
    except ProgramError as e:
        raise ConfigError(f"--kernel/--strategy: {e}") from None
    rate = f"{r.executions / r.seconds:,.0f} schedules/s, {r.steps / r.seconds:,.0f} steps/s" if r.seconds else ""
    extra = []
    if r.states:
        extra.append(f"{r.states} distinct states")
    if r.end_states:
        extra.append(f"{r.end_states} distinct end states")
    if r.pct_k:
        extra.append(f"pct k measured {r.pct_k}")
    if r.pruned:
        extra.append(f"{r.pruned} ended early (state seen or another job's)")
    if r.truncated:
        extra.append(f"{r.truncated} cut off at the step limit")
    tail = ("; " + "; ".join(extra)) if extra else ""
    if not r.found:
        why = "explored every schedule within the bound" if r.exhausted else "budget spent"
        print(f"no violation: {r.executions} schedules, {r.steps} steps, {r.trials} programs in {r.seconds:.1f}s "
              f"({rate}); {why}{tail}")
        return 0
    print(f"FOUND after {r.executions} schedules ({r.steps} steps, {r.seconds:.2f}s; {rate}){tail}")
    print(f"invariant broken: {r.invariant}: {r.detail}")
    print(f"kind: {r.kind}")
    print(f"minimal program and schedule: {r.schedule_string}")
    print("trace:")
    for line in r.trace:
        print(f"  {line}")
    print(f"replay: {replay_command(r.schedule_string, ns.variant)}")
    return EXIT_FAILED
