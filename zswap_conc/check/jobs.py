"""Parallel and distributed hunts: the same work split between N jobs, in local processes
(``--jobs N``) or on a Dask distributed cluster (``--cluster ADDRESS``, the ``[cluster]`` extra).

Job j takes trials j, j + N, ... (hunt.py), or, for a tree search of one fixed program, its share of
the tree (dfs.py).  A job that finds a violation publishes its trial; the others finish only the
trials below it, so the lowest failing trial is found whatever N and however the jobs are timed,
and a budget in schedules is split evenly.  The parent reports the lowest failing trial (then the
lowest job) and sums the rest.
"""

from __future__ import annotations

import math
import os
import time
import uuid

from zswap_conc.check.hunt import HuntResult, hunt_job

NEVER = 2**62  # "no job has failed yet"
STOP_POLL_S = 0.5  # how often a cluster job asks whether another job found something


def default_jobs() -> int:
    """One job per core this process may run on."""
    return max(1, len(os.sched_getaffinity(0)))


def _args_for(args: dict, jobs: int) -> dict:
    a = dict(args)
    if a.get("budget_executions") is not None:
        a["budget_executions"] = math.ceil(a["budget_executions"] / jobs)
    return a


def _merge(results: list[HuntResult], jobs: int, seconds: float) -> HuntResult:
    found = [r for r in results if r.found]
    best = min(found, key=lambda r: (r.trial, results.index(r))) if found else results[0]
    out = HuntResult(best.variant, best.scheduler, jobs=jobs)
    for r in results:
        out.executions += r.executions
        out.steps += r.steps
        out.trials += r.trials
        out.truncated += r.truncated
        out.pruned += r.pruned
        out.states += r.states
        out.end_states += r.end_states
        out.pct_k = max(out.pct_k, r.pct_k)
    out.exhausted = all(r.exhausted for r in results)
    out.seconds = seconds
    if found:
        for name in ("invariant", "detail", "kind", "trial", "program", "schedule", "trace"):
            setattr(out, name, getattr(best, name))
    return out


def _local_job(args: dict, job: int, jobs: int, stop_at, queue) -> None:
    def stop() -> int:
        return stop_at.value

    try:
        r = hunt_job(**args, job=job, jobs=jobs, stop=stop)
        if r.found:
            with stop_at.get_lock():
                stop_at.value = min(stop_at.value, r.trial)
        queue.put((job, r, None))
    except BaseException as e:  # reported by the parent, one line
        queue.put((job, None, f"{type(e).__name__}: {e}"))


def hunt_parallel(args: dict, jobs: int, cluster: str | None) -> HuntResult:
    if cluster:
        return _hunt_cluster(args, jobs, cluster)
    import multiprocess as mp

    from zswap_conc.check.execution import World
    from zswap_conc.check.hunt import replay, trial_program

    # compile (or load) the checked path once, before the fork, so that no job pays for it
    w = World(trial_program(args["variant"], 0, args["seed"], args["fixed"], args["kernel"], args["strategy"]))
    replay(w, [])
    w.close()
    ctx = mp.get_context("fork")
    stop_at = ctx.Value("q", NEVER)
    queue = ctx.Queue()
    job_args = _args_for(args, jobs)
    t0 = time.perf_counter()
    procs = [ctx.Process(target=_local_job, args=(job_args, j, jobs, stop_at, queue), daemon=True)
             for j in range(jobs)]
    for p in procs:
        p.start()
    results: dict[int, HuntResult] = {}
    errors = []
    try:
        while len(results) + len(errors) < jobs:
            try:
                job, r, err = queue.get(timeout=1.0)
            except Exception:
                if not any(p.is_alive() for p in procs) and queue.empty():
                    errors.append("a hunt job died without reporting")
                    break
                continue
            if err:
                errors.append(f"job {job}: {err}")
            else:
                results[job] = r
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    if errors:
        raise RuntimeError(errors[0])
    return _merge([results[j] for j in sorted(results)], jobs, time.perf_counter() - t0)


def _cluster_job(args: dict, job: int, jobs: int, stop_name: str) -> HuntResult:
    """One job on a Dask worker; the stop flag is a distributed Variable polled every STOP_POLL_S."""
    from distributed import Variable, get_client

    var = Variable(stop_name, client=get_client())
    seen = [NEVER, 0.0]

    def stop() -> int:
        now = time.monotonic()
        if now - seen[1] >= STOP_POLL_S:
            seen[1] = now
            try:
                seen[0] = int(var.get(timeout=1))
            except Exception:
                pass
        return seen[0]

    r = hunt_job(**args, job=job, jobs=jobs, stop=stop)
    if r.found:
        try:
            current = int(var.get(timeout=1))
        except Exception:
            current = NEVER
        if r.trial < current:
            var.set(r.trial)
    return r


def _hunt_cluster(args: dict, jobs: int, address: str) -> HuntResult:
    try:
        from distributed import Client, Variable
    except ImportError:
        from zswap_conc.config import ConfigError

        raise ConfigError("--cluster: needs the optional Dask extra; accepted: pip install 'zswap-conc[cluster]'") \
            from None
    t0 = time.perf_counter()
    with Client(address, timeout="20s") as client:
        if jobs <= 0:
            jobs = max(1, sum(client.nthreads().values()))
        name = f"zswap-hunt-stop-{uuid.uuid4().hex}"
        var = Variable(name, client=client)
        var.set(NEVER)
        job_args = _args_for(args, jobs)
        futures = [client.submit(_cluster_job, job_args, j, jobs, name, pure=False, key=f"{name}-{j}")
                   for j in range(jobs)]
        results = client.gather(futures)
        var.delete()
    return _merge(list(results), jobs, time.perf_counter() - t0)
