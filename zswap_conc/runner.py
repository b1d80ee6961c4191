"""Real mode: one worker process per simulated CPU, hammering one shared arena; what they leave there
becomes a run record (``results.run``).

The harness owns what will-it-scale's does: compile before forking (so workers start warm), pin
each worker to its own core where it can, release them together through a barrier, run a warm-up,
then a timed window sampled every second, then the stop flag.  A worker that dies is noticed
within a poll interval and named with its exit status, and the survivors are killed at once (one of
them may be spinning on a lock the dead one held); SIGINT and SIGTERM stop the workers at an
operation boundary.  Workers whose parent vanished (SIGKILL) exit after ``WATCHDOG_S`` and record
why in the results file the command names (``on_orphan``).  The shared segment is unlinked on every
way out.  Counters are read from shared memory only after the workers have stopped, except the
per-second samples, which are racy reads of one word per CPU.  What the rest of the machine did to
the workers is read from /proc by the parent (``disturbance``) and recorded with the run.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from zswap_conc import disturbance, sync
from zswap_conc.arena import (
    CTL_FINISHED,
    CTL_GO,
    CTL_HEARTBEAT,
    CTL_PAUSE,
    CTL_PAUSED,
    CTL_PHASE,
    CTL_READY,
    CTL_STOP,
    LOCK_CLASS_NAMES,
    PHASE_AFTER,
    PHASE_MEASURE,
    Arena,
    Layout,
    corpus_get,
    pid_alive,
    shm_space_check,
)
from zswap_conc.config import PAGE_SIZE, Config, oversubscribed, validate
from zswap_conc.errors import Interrupted, WorkerDied
from zswap_conc.ops.counters import C_OPS, COUNTER_NAMES
from zswap_conc.ops.step import site_name
from zswap_conc.params import P_WATCHDOG_CYCLES
from zswap_conc.results.meta import loadavg, machine_meta
from zswap_conc.results.run import partial_record, run_record, soak_check, soak_figures
from zswap_conc.verify import arena_verify_report

# how often the parent looks for dead workers: each look wakes it on a worker's core (the parent is not
# pinned), so at 20 ms a full machine saw ~55 involuntary switches/s per worker, every run "disturbed" by
# the harness itself; at 100 ms a dead worker is still noticed and its run stopped within DEAD_STOP_S
POLL_S = 0.1
BARRIER_TIMEOUT_S = 60.0  # workers that never reach the start barrier
JOIN_TIMEOUT_S = 5.0  # workers that do not return after the stop flag (a normal stop: each ends its operation)
REAP_TIMEOUT_S = 2.0  # a SIGKILLed worker not reaped by then is reported, not waited for
DEAD_STOP_S = 0.5  # a dead worker's survivors are killed and reaped within this (recorded as stop_s)
WATCHDOG_S = 3.0  # workers of a parent silent this long exit by themselves
INJECT_ENV = "ZSWAP_CONC_INJECT"  # fault injection for tests: "raise@cpu=N", "hold@cpu=N" (see _locks_hold)
RT_PRIORITY = 10  # --rt: the workers' SCHED_FIFO priority; the parent runs one above, so it is never starved


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"killed by signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


_WARM = {}


def lockstat_warm() -> None:
    """Compile what ``_lockstat_cost`` times, inside the first-use notice rather than silently after it."""
    locks, held, lstat, lsite = sync.lock_arrays(1, 1)
    sync._empty_sections(locks, held, lstat, lsite, 0, 1, 1)


def warm_up() -> float:
    """Compile (or load from numba's cache) everything a worker runs, in the parent, before any
    fork; returns the seconds it took."""
    if "t" in _WARM:
        return 0.0
    from zswap_conc.compiling import compile_notice
    from zswap_conc.cpu import cpu_run

    t0 = time.perf_counter()
    with compile_notice("measured path"):
        cfg = validate(Config(cpus=1, clusters_per_cpu=1, pool_size=64 * PAGE_SIZE, swap_size=1 << 30, think_ns=0))
        with Arena(cfg, shared=False) as ar:
            ar.v.ctl[0, CTL_GO] = 1
            cpu_run(ar.v, 0, 64)
            arena_verify_report(ar.v, 0)
        lockstat_warm()
    _WARM["t"] = time.perf_counter() - t0
    return _WARM["t"]


ZSWAP_SHARE = 0.1673  # zswap_store's share of cycles in b8cf32dc6e8c's memory-bound kernel build (32 zpools)
THINK_CALIBRATION_OPS = 3000  # operations timed at 1 CPU to size the automatic think time


def think_calibrate(cfg: Config) -> tuple[Config, dict]:
    """Resolve ``think_ns`` None ("auto"): time the configuration's own operations at 1 CPU, back to
    back, on a private arena, and size the work between them so that zswap takes ``ZSWAP_SHARE`` of
    each CPU's time, as it did in b8cf32dc6e8c's measurement.  Returns the config with think_ns set
    and what the size came from."""
    from zswap_conc.cpu import cpu_run

    if cfg.think_ns is not None:
        return cfg, {"think_ns": cfg.think_ns, "auto": False}
    # the same design at 1 CPU, on a pool of at most 256 MiB (the cost per operation hardly depends on it)
    frames = min(cfg.pool_size, 256 << 20) // PAGE_SIZE
    limited = cfg.pool_limit_frames < cfg.pool_frames
    one = cfg.replace(cpus=1, think_ns=0, ops_per_cpu=0, pool_size=frames * PAGE_SIZE, max_pool_percent=0.0,
                      max_pool_frames=min(cfg.pool_limit_frames, frames) if limited else 0)
    with Arena(one, shared=False) as ar:
        ar.v.ctl[0, CTL_GO] = 1
        cpu_run(ar.v, 0, THINK_CALIBRATION_OPS // 3)  # warm: the pool fills, caches settle
        t0 = time.perf_counter()
        cpu_run(ar.v, 0, THINK_CALIBRATION_OPS)
        per_op = (time.perf_counter() - t0) / THINK_CALIBRATION_OPS * 1e9
    think = int(per_op * (1 - ZSWAP_SHARE) / ZSWAP_SHARE)
    return cfg.replace(think_ns=think), {"think_ns": think, "auto": True, "zswap_ns_per_op": round(per_op, 1),
                                         "zswap_share": ZSWAP_SHARE, "source": "b8cf32dc6e8c"}


def _lockstat_cost(lock: str, rate: float) -> dict[str, float]:
    """lock_stat's own cost per acquisition on this machine (measured once per process and lock)."""
    key = ("lockstat", lock)
    if key not in _WARM:
        _WARM[key] = sync.lockstat_cost(sync.LOCK_KINDS[lock], rate)
    return _WARM[key]


def _zombie_status(pid: int) -> int | None:
    """The wait status of ``pid`` if it is a zombie nobody has reaped yet (/proc/PID/stat field 52)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(") ", 1)[1].split()
    except (OSError, IndexError):
        return None
    if fields[0] != "Z" or len(fields) < 50:
        return None
    return int(fields[49])


def orphan_reason(parent: int) -> str:
    """Why a worker's parent stopped beating, as far as a worker can tell: a SIGKILL leaves no word,
    so a vanished parent is reported as one (with its signal when its zombie still shows it)."""
    after = f"its workers exited after {WATCHDOG_S:g} s without its heartbeat"
    status = _zombie_status(parent)
    if status is not None and status & 0x7F:
        sig = status & 0x7F
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return f"the parent (pid {parent}) was killed by signal {sig} ({name}); {after}"
    if status is not None or os.getppid() != parent or not pid_alive(parent):
        return f"the parent (pid {parent}) vanished without stopping the run (killed by SIGKILL, or crashed); {after}"
    return f"the parent (pid {parent}) stopped beating (stopped or hung); {after}"


def _worker(arena: Arena, cpu: int, core: int | None, loop: Callable, parent: int, rt: bool,
            on_orphan: Callable[[str], None] | None) -> None:
    from zswap_conc.cpu import ORPHANED

    # the parent coordinates Ctrl-C: a worker stops through the stop flag, never mid-operation
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # blocked by the parent around fork
    if core is not None:
        try:
            os.sched_setaffinity(0, {core})
        except OSError:
            pass  # the parent reads the affinity each worker really has (disturbance)
    if rt:  # inherited the parent's priority, one above its workers': step down to theirs
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY))
        except OSError:
            pass
    try:
        inject = os.environ.get(INJECT_ENV, "")
        if inject == f"raise@cpu={cpu}":
            raise RuntimeError(f"injected fault in worker for cpu {cpu}")
        if inject == f"hold@cpu={cpu}":
            _locks_hold(arena.v.locks, arena.cfg.lock, cpu)
        if loop(arena.v, cpu, arena.cfg.ops_per_cpu) == ORPHANED:
            reason = orphan_reason(parent)
            print(f"zswap-conc: worker for cpu {cpu}: {reason}", file=sys.stderr, flush=True)
            if on_orphan is not None:
                try:  # every orphan writes the same record; the write is atomic
                    on_orphan(reason)
                except Exception as e:
                    print(f"zswap-conc: worker for cpu {cpu}: could not record it ({type(e).__name__}: {e})",
                          file=sys.stderr, flush=True)
            os._exit(4)
    except Exception as e:  # one line for the user; the parent reports the exit status
        print(f"zswap-conc: worker for cpu {cpu}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
        os._exit(1)


def _locks_hold(locks: np.ndarray, kind: str, cpu: int) -> None:
    """Fault injection for tests: ``cpu`` takes every lock before the start barrier and never lets go,
    as a worker killed inside a critical section leaves them; every CPU then spins for good, so only
    being killed ends a survivor.  Plain writes are safe here: no CPU runs before every one is ready."""
    if kind == "ticket":
        locks[:, sync.LK_WORD] += 1  # a ticket handed out and never served
    else:
        locks[:, sync.LK_WORD] = cpu + 1
    locks[:, sync.LK_OWNER] = cpu + 1


def rt_check(cfg: Config) -> None:
    """Refuse --rt where it would freeze the machine: with RT throttling off, workers on every core at a
    real-time priority leave nothing for any other process until the run ends."""
    from zswap_conc.config import ConfigError

    if not cfg.rt:
        return
    try:
        with open("/proc/sys/kernel/sched_rt_runtime_us") as fh:
            unlimited = int(fh.read()) < 0
    except (OSError, ValueError):
        unlimited = False
    cores = len(os.sched_getaffinity(0))
    if unlimited and cfg.cpus >= cores:
        raise ConfigError(f"--rt: real-time throttling is off (sched_rt_runtime_us = -1) and {cfg.cpus} workers "
                          f"would hold all {cores} cores: nothing else could run until the run ends; accepted: "
                          f"--cpus {cores - 1} or fewer, or throttling on")


class _RealTime:
    """--rt: the parent takes SCHED_FIFO one above its workers for the run (children inherit it, and
    step down); refused by the system, everything runs as usual and the record says why."""

    def __init__(self, wanted: bool):
        self.wanted = wanted
        self.granted = False
        self.why: str | None = None
        self.old: tuple[int, int] | None = None

    def __enter__(self) -> _RealTime:
        if not self.wanted:
            return self
        try:
            self.old = (os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(RT_PRIORITY + 1))
            self.granted = True
        except (OSError, AttributeError) as e:
            self.why = getattr(e, "strerror", None) or str(e)
        return self

    def __exit__(self, *exc) -> None:
        if self.granted and self.old is not None:
            try:
                os.sched_setscheduler(0, self.old[0], os.sched_param(self.old[1]))
            except OSError:
                pass

    def describe(self) -> dict:
        return {"requested": self.wanted, "granted": self.granted, "priority": RT_PRIORITY if self.granted else None,
                "why_not": self.why}


class _Workers:
    def __init__(self, arena: Arena, cfg: Config, loop: Callable, rt: bool = False,
                 on_orphan: Callable[[str], None] | None = None):
        import multiprocess

        ctx = multiprocess.get_context("fork")
        self.ctl = arena.v.ctl
        arena.v.params[P_WATCHDOG_CYCLES] = int(WATCHDOG_S * 1e9 * arena.cycles_per_ns)
        cores = sorted(os.sched_getaffinity(0))
        self.pin_requested = cfg.pin and cfg.cpus <= len(cores)
        self.cores: list[int | None] = [cores[cpu] if self.pin_requested else None for cpu in range(cfg.cpus)]
        self.procs = []
        sys.stdout.flush()
        sys.stderr.flush()
        # a signal landing inside fork's at-fork hooks is swallowed ("Exception ignored"); hold
        # SIGINT/SIGTERM until every worker exists, then let them through as usual
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        try:
            for cpu in range(cfg.cpus):
                pr = ctx.Process(target=_worker, args=(arena, cpu, self.cores[cpu], loop, os.getpid(), rt, on_orphan),
                                 name=f"zswap-cpu{cpu}", daemon=True)
                pr.start()
                self.procs.append(pr)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def heartbeat(self) -> None:
        self.ctl[0, CTL_HEARTBEAT] += 1

    def dead(self, clean_exit_ok: bool = False) -> tuple[int, int] | None:
        """The first worker that has exited (a clean exit counts only if it was not expected)."""
        for cpu, pr in enumerate(self.procs):
            code = pr.exitcode
            if code is not None and not (clean_exit_ok and code == 0):
                return cpu, code
        return None

    def stop(self, ctl: np.ndarray, kill: bool = False) -> list[int]:
        """Set the stop flag and reap every worker; the cpus that had to be killed.  ``kill`` (a worker
        died): kill the survivors at once instead of waiting for them, since one may be spinning
        forever on a lock the dead worker held."""
        ctl[0, CTL_STOP] = 1
        if not kill:
            deadline = time.monotonic() + JOIN_TIMEOUT_S
            for pr in self.procs:
                pr.join(max(0.0, deadline - time.monotonic()))
        killed = []
        for cpu, pr in enumerate(self.procs):
            if pr.exitcode is None:
                killed.append(cpu)
                pr.kill()
        deadline = time.monotonic() + REAP_TIMEOUT_S
        for pr in self.procs:
            pr.join(max(0.0, deadline - time.monotonic()))
        return killed


def _sleep_watch(workers: _Workers, until: float) -> None:
    workers.heartbeat()
    while True:
        now = time.perf_counter()
        if now >= until:
            return
        d = workers.dead()
        if d is not None:
            raise WorkerDied(f"worker for cpu {d[0]} {_describe_exit(d[1])}")
        time.sleep(min(POLL_S, until - now))
        workers.heartbeat()


def run(cfg: Config, on_sample: Callable[[float, float], None] | None = None, verify_every: float = 0.0,
        body: Body | None = None, on_orphan: Callable[[str, dict], None] | None = None) -> dict:
    """Run one configuration in real mode and return its record (see ``results``).

    ``verify_every`` > 0 (the soak): at each per-second sample the workers park at an operation
    boundary and the whole arena is verified; the record then carries ``soak`` figures.  ``body``:
    what the workers run (default the zswap model, ``ZSWAP``).  ``on_orphan(reason, partial)`` runs
    in the workers if the parent vanishes (SIGKILL): it records ``reason`` (``partial``: the run's
    record as far as a worker knows it) in the command's results file.
    The record's ``disturbance`` says whether the rest of the machine disturbed the run, and why."""
    body = body or ZSWAP
    rt_check(cfg)
    compile_s = body.prepare()
    cfg, configured = body.configure(cfg)
    rate = sync.cycles_per_ns()
    meta = machine_meta()
    meta.update(
        oversubscribed=oversubscribed(cfg.cpus),
        loadavg_start=loadavg(),
        cycles_per_ns=round(rate, 4),
        compile_s=round(compile_s, 3),
        lockstat_cost_ns=_lockstat_cost(cfg.lock, rate) if cfg.lockstat else None,
        **configured,
    )
    old_term = signal.getsignal(signal.SIGTERM)

    def _on_term(signum, frame):
        raise Interrupted("SIGTERM")

    signal.signal(signal.SIGTERM, _on_term)
    workers = None
    watch = None
    samples: list[dict] = []
    checks: list[dict] = []
    try:
        with body.arena(cfg, rate) as arena, _RealTime(cfg.rt) as rt:
            a = arena.v
            meta.update(body.describe(arena))
            meta["rt"] = rt.describe()
            try:
                def orphan_note(reason: str) -> None:  # runs in an orphaned worker, with the meta of the fork
                    on_orphan(reason, partial_record(cfg.to_dict(), meta, [], reason))

                workers = _Workers(arena, cfg, body.loop, rt.granted, orphan_note if on_orphan else None)
                meta["pin_requested"] = workers.pin_requested
                meta["pinned"] = workers.pin_requested  # until the workers' real affinity is read
                watch = disturbance.Watch(os.getpid(), [pr.pid for pr in workers.procs], workers.cores)
                deadline = time.perf_counter() + BARRIER_TIMEOUT_S
                while a.ctl[1, CTL_READY] < cfg.cpus:
                    _sleep_watch(workers, min(deadline, time.perf_counter() + POLL_S))
                    if time.perf_counter() >= deadline:
                        raise WorkerDied("workers did not reach the start barrier in time")
                if cfg.ops_per_cpu > 0:
                    watch.mark()
                    t0, t1 = _run_fixed_work(a, cfg, workers)
                    watch.mark()
                    return _finish(arena, cfg, meta, workers, samples, t1 - t0, body, watch, measured_from=0)
                watch.mark()
                a.ctl[0, CTL_GO] = 1
                _sleep_watch(workers, time.perf_counter() + cfg.warmup)
                a.ctl[0, CTL_PHASE] = PHASE_MEASURE
                t0 = time.perf_counter()
                watch.mark()
                last_t, last = t0, np.zeros(cfg.cpus, np.int64)
                end = t0 + cfg.duration
                while True:
                    _sleep_watch(workers, min(end, last_t + 1.0))
                    now = time.perf_counter()
                    ops = a.cnt[PHASE_MEASURE, :, C_OPS].copy()
                    if now - last_t > 0.05:
                        per = (ops - last) / (now - last_t)
                        samples.append({"t": round(now - t0, 3), "ops_s": [round(float(x), 1) for x in per]})
                        watch.mark()
                        if on_sample is not None:
                            on_sample(now - t0, float(per.sum()))
                        if verify_every > 0:
                            checks.append(_pause_verify(a, cfg, workers, now - t0))
                    last_t, last = now, ops
                    if now >= end:
                        break
                a.ctl[0, CTL_PHASE] = PHASE_AFTER
                t1 = time.perf_counter()
                if len(watch.marks) < 3:
                    watch.mark()
            except BaseException as e:
                if workers is not None:
                    dead = isinstance(e, WorkerDied)
                    noticed = time.time()
                    t_stop = time.perf_counter()
                    killed = workers.stop(a.ctl, kill=dead)
                    meta["stop"] = {"noticed_at": round(noticed, 3), "stop_s": round(time.perf_counter() - t_stop, 3),
                                    "killed": killed, "survivors_killed_at_once": dead}
                if isinstance(e, KeyboardInterrupt):
                    e = Interrupted("SIGINT")
                if isinstance(e, (Interrupted, WorkerDied)):
                    e.partial = partial_record(cfg.to_dict(), meta, samples, str(e))
                    raise e from None
                raise
            rec = _finish(arena, cfg, meta, workers, samples, t1 - t0, body, watch)
            if verify_every > 0:
                rec["soak"] = soak_figures(samples, checks)
            return rec
    finally:
        signal.signal(signal.SIGTERM, old_term)


def _pause_verify(a, cfg: Config, workers: _Workers, t: float) -> dict:
    """Park every worker at an operation boundary, verify the whole arena, resume."""
    a.ctl[1, CTL_PAUSED] = 0
    a.ctl[0, CTL_PAUSE] = 1
    deadline = time.perf_counter() + 5.0
    try:
        while a.ctl[1, CTL_PAUSED] < cfg.cpus:
            workers.heartbeat()
            d = workers.dead()
            if d is not None:
                raise WorkerDied(f"worker for cpu {d[0]} {_describe_exit(d[1])}")
            if time.perf_counter() > deadline:
                raise WorkerDied("workers did not park for verification within 5 s")
            time.sleep(0.0002)
        v = arena_verify_report(a, 0)
    finally:
        a.ctl[0, CTL_PAUSE] = 0
    return soak_check(t, v)


def _finish(arena: Arena, cfg: Config, meta: dict, workers: _Workers, samples: list, seconds: float,
            body: Body, watch: disturbance.Watch, measured_from: int = 1) -> dict:
    meta["killed_workers"] = workers.stop(arena.v.ctl)
    dead = [(c, pr.exitcode) for c, pr in enumerate(workers.procs) if pr.exitcode != 0]
    if dead:
        c, code = dead[0]
        raise WorkerDied(f"worker for cpu {c} {_describe_exit(code)}")
    rec = body.record(arena, cfg, meta, samples, seconds)
    fig = watch.figures(measured_from)
    holds = _preempted_holds(arena, body.lock_classes, 1.0 / arena.cycles_per_ns) if cfg.lockstat else []
    rec["disturbance"] = disturbance.verdict(fig, holds, workers.pin_requested)
    rec["meta"]["pinned"] = workers.pin_requested and all(
        w.get("affinity") == [w["pinned_to"]] for w in fig["workers"])  # what the workers really had
    return rec


def _preempted_holds(arena, class_names: tuple[str, ...], ns_per_cycle: float) -> list[dict]:
    """Per lock class and CPU, the longest and the mean hold the workers' lock_stat slots recorded."""
    st = arena.v.lstat[PHASE_MEASURE]  # (classes, cpus, LS_WIDTH), written by the stopped workers
    hmax, hmean = [], []
    for c in range(min(len(class_names), st.shape[0])):
        acq = st[c, :, sync.LS_ACQUISITIONS]
        hmax.append([float(x) * ns_per_cycle for x in st[c, :, sync.LS_HOLD_MAX]])
        hmean.append([float(t) * ns_per_cycle / n if n else None for t, n in zip(st[c, :, sync.LS_HOLD_TOTAL], acq,
                                                                                  strict=True)])
    return disturbance.preempted_holds(hmax, hmean, class_names[: len(hmax)])


def _run_fixed_work(a, cfg: Config, workers: _Workers) -> tuple[float, float]:
    """Every CPU performs ``ops_per_cpu`` operations, all counted; the time until the last one
    finishes is the figure (what pytest-benchmark compares between revisions)."""
    a.ctl[0, CTL_PHASE] = PHASE_MEASURE
    t0 = time.perf_counter()
    a.ctl[0, CTL_GO] = 1
    while a.ctl[1, CTL_FINISHED] < cfg.cpus:
        workers.heartbeat()
        d = workers.dead(clean_exit_ok=True)
        if d is not None:
            raise WorkerDied(f"worker for cpu {d[0]} {_describe_exit(d[1])}")
        time.sleep(0.0005)
    return t0, time.perf_counter()


def _record(arena: Arena, cfg: Config, meta: dict, samples: list, seconds: float) -> dict:
    """Read what the workers left in shared memory (they have stopped) and build the run record."""
    a = arena.v
    cnt = a.cnt[PHASE_MEASURE]
    total = cnt.sum(axis=0)
    verify = arena_verify_report(a, 0)
    meta["loadavg_end"] = loadavg()
    counters = {name: int(total[i]) for i, name in enumerate(COUNTER_NAMES)}
    return run_record(cfg.to_dict(), meta, samples, seconds, counters, [int(x) for x in cnt[:, C_OPS]],
                      sync.lstat_sum(a.lstat[PHASE_MEASURE], LOCK_CLASS_NAMES),
                      sync.lsite_sum(a.lsite[PHASE_MEASURE], LOCK_CLASS_NAMES, site_name),
                      sync.lock_spread(a.locks, LOCK_CLASS_NAMES),
                      1.0 / arena.cycles_per_ns, verify)


# ---------------------------------------------------------------------------------------------
# What the workers run


@dataclass(frozen=True)
class Body:
    """What a run's workers do and what their counters become.  The harness above (fork, pinning,
    barrier, warm-up, samples, stop, dead workers, signals, cleanup) is the same for every body; a
    body's arena must offer ``v.ctl``, ``v.params[P_WATCHDOG_CYCLES]`` and ``v.cnt[phase, cpu,
    C_OPS]`` and ``v.lstat`` as the zswap arena lays them out, and its loop must keep the start
    barrier, the stop flag and the parent watchdog as ``cpu.cpu_run`` does."""

    prepare: Callable[[], float]  # compile in the parent before any fork; returns the seconds it took
    arena: Callable  # (cfg, cycles_per_ns) -> the shared state, a context manager that unlinks it
    loop: Callable  # (views, cpu, max_ops) -> ops done, or cpu.ORPHANED: the compiled worker loop
    describe: Callable[[object], dict]  # arena -> what it adds to the record's meta
    record: Callable  # (arena, cfg, meta, samples, seconds) -> the record, once the workers stopped
    configure: Callable = lambda cfg: (cfg, {})  # cfg -> (the cfg to run, what it adds to meta), after prepare
    lock_classes: tuple[str, ...] = LOCK_CLASS_NAMES  # names of the arena's lstat classes, in order


def _zswap_arena(cfg: Config, rate: float) -> Arena:
    return Arena(cfg, shared=True, cycles_per_ns=rate)


def _zswap_loop(views, cpu: int, max_ops: int) -> int:
    from zswap_conc.cpu import cpu_run

    return cpu_run(views, cpu, max_ops)


def _zswap_configure(cfg: Config) -> tuple[Config, dict]:
    """Refuse a pool /dev/shm cannot hold before any work (the calibration included), then size the
    automatic think time."""
    shm_space_check(Layout(cfg, corpus_get()[0].shape[0]).total)
    cfg, think = think_calibrate(cfg)
    return cfg, {"think": think}


ZSWAP = Body(prepare=warm_up, arena=_zswap_arena, loop=_zswap_loop,
             describe=lambda arena: {"corpus": arena.corpus_desc}, record=_record, configure=_zswap_configure)
