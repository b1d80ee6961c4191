"""Was a run disturbed?  What the rest of the machine did to the workers, and whether a lock holder
was preempted -- so that a disturbed run is marked as such instead of passing for a result.

Read by the parent from /proc at the start of the run, at every per-second sample and at the end,
never in the workers' loop (the measured path is untouched):
  - per worker: the time it waited runnable on a run queue (``/proc/PID/schedstat``: the scheduler's
    own count of preempted time), its involuntary context switches (``status``), its migrations
    between cores (``sched``, where the kernel has it), the cores it was seen on (``stat``) and the
    affinity it actually had (``sched_getaffinity``), against the core it was pinned to;
  - the machine: CPU time used by every process but this run (``/proc/stat`` busy time minus the
    run's own), as cores, over the warm-up (the start), the last sample (the end) and the whole
    window; and the share the hypervisor stole;
  - preempted lock holds, from the lock_stat figures the workers already keep: a hold longer than
    ``PREEMPT_FACTOR`` times the median of the CPUs' mean holds of its class (and at least
    ``PREEMPT_FLOOR_NS``) means the holder was off its CPU, which a kernel spinlock (preemption
    disabled) never is.

``verdict`` turns these into ``disturbed`` and one reason per signal over its threshold.  The
thresholds are deliberately loose: a run is called disturbed when the disturbance is large enough to
move the figures it reports, not at the first kworker that ran.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field

RUN_DELAY_MAX = 0.01  # a worker waiting runnable on a run queue more than 1% of the window
INVOLUNTARY_MAX_PER_S = 50.0  # involuntary switches a second, per worker (a spinning worker on its own core: ~0-10)
OTHERS_MAX_CORES = 0.25  # cores other processes used: at the start, at the end or over the window
STEAL_MAX = 0.02  # the hypervisor took more than 2% of the machine's CPU time
PREEMPT_FACTOR = 100  # a hold this many times the median of the CPUs' mean holds ...
PREEMPT_FLOOR_NS = 250_000.0  # ... and at least 250 us: an exponential hold exceeds 100x its mean with p = e^-100
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def task_read(pid: int) -> dict | None:
    """One task's scheduler figures, or None once it is gone."""
    sched = _read(f"/proc/{pid}/schedstat")
    stat = _read(f"/proc/{pid}/stat")
    if sched is None or stat is None:
        return None
    out: dict = {}
    try:
        run_ns, delay_ns, _ = (int(x) for x in sched.split()[:3])
        out.update(cpu_ns=run_ns, run_delay_ns=delay_ns)
        out["processor"] = int(stat.rsplit(") ", 1)[1].split()[36])  # field 39, after pid and (comm)
    except (ValueError, IndexError):
        return None
    for line in (_read(f"/proc/{pid}/status") or "").splitlines():
        if line.startswith("nonvoluntary_ctxt_switches:"):
            out["involuntary"] = int(line.split()[1])
        elif line.startswith("voluntary_ctxt_switches:"):
            out["voluntary"] = int(line.split()[1])
    for line in (_read(f"/proc/{pid}/sched") or "").splitlines():  # CONFIG_SCHED_DEBUG only
        if line.startswith("se.nr_migrations"):
            out["migrations"] = int(line.split(":")[1])
    try:
        out["affinity"] = sorted(os.sched_getaffinity(pid))
    except OSError:
        pass
    try:
        out["policy"] = {os.SCHED_OTHER: "other", os.SCHED_FIFO: "fifo", os.SCHED_RR: "rr"}.get(
            os.sched_getscheduler(pid), "other")
    except (OSError, AttributeError):
        pass
    return out


def system_read() -> dict | None:
    """The machine's CPU time so far, in ns: ``busy`` (every process, user and kernel) and ``steal``."""
    text = _read("/proc/stat")
    if not text or not text.startswith("cpu "):
        return None
    v = [int(x) for x in text.split("\n", 1)[0].split()[1:]]
    v += [0] * (8 - len(v))
    tick = 1e9 / CLK_TCK
    busy = v[0] + v[1] + v[2] + v[5] + v[6]  # user nice system irq softirq (guest time is inside user)
    return {"busy_ns": busy * tick, "steal_ns": v[7] * tick, "cores": os.cpu_count() or 1}


@dataclass
class Snapshot:
    t: float  # time.monotonic()
    system: dict | None
    tasks: dict[int, dict | None]  # pid -> task_read


@dataclass
class Watch:
    """The run's tasks watched from the parent: ``mark`` at the start (GO), at the start of the
    measured window, at every sample and at the end."""

    parent: int
    workers: list[int]  # worker pids, by cpu
    cores: list[int | None]  # the core each was pinned to (None: not pinned)
    marks: list[Snapshot] = field(default_factory=list)
    seen: list[set] = field(default_factory=list)  # cores each worker was seen running on

    def __post_init__(self) -> None:
        self.seen = [set() for _ in self.workers]

    def mark(self) -> None:
        snap = Snapshot(time.monotonic(), system_read(), {p: task_read(p) for p in (self.parent, *self.workers)})
        for k, pid in enumerate(self.workers):
            t = snap.tasks.get(pid)
            if t is not None:
                self.seen[k].add(t["processor"])
        self.marks.append(snap)

    def _others(self, a: Snapshot, b: Snapshot) -> tuple[float | None, float | None]:
        """(cores used by other processes, share stolen) between two marks."""
        if a.system is None or b.system is None or b.t <= a.t:
            return None, None
        wall = (b.t - a.t) * 1e9
        ours = 0.0
        for pid in (self.parent, *self.workers):
            x, y = a.tasks.get(pid), b.tasks.get(pid)
            if x is not None and y is not None:
                ours += y["cpu_ns"] - x["cpu_ns"]
        others = max(0.0, (b.system["busy_ns"] - a.system["busy_ns"] - ours) / wall)
        steal = max(0.0, (b.system["steal_ns"] - a.system["steal_ns"]) / (wall * b.system["cores"]))
        return round(others, 3), round(steal, 4)

    def figures(self, measured_from: int = 1) -> dict:
        """What the marks say: per worker over the measured window (from mark ``measured_from`` to the
        last), and the other processes' load at the start (mark 0 to ``measured_from``), at the end
        (the last interval) and over the window."""
        if len(self.marks) < 2:
            return {"workers": [], "others": {}}
        first = self.marks[min(measured_from, len(self.marks) - 2)]
        last = self.marks[-1]
        wall = max(1e-9, last.t - first.t)
        workers = []
        for k, pid in enumerate(self.workers):
            a, b = first.tasks.get(pid), last.tasks.get(pid)
            w: dict = {"cpu": k, "pid": pid, "pinned_to": self.cores[k], "cores_seen": sorted(self.seen[k])}
            if a is not None and b is not None:
                w.update(
                    cpu_share=round((b["cpu_ns"] - a["cpu_ns"]) / (wall * 1e9), 4),
                    run_delay_share=round((b["run_delay_ns"] - a["run_delay_ns"]) / (wall * 1e9), 4),
                    involuntary_switches=b.get("involuntary", 0) - a.get("involuntary", 0),
                    voluntary_switches=b.get("voluntary", 0) - a.get("voluntary", 0),
                    migrations=(b["migrations"] - a["migrations"]) if "migrations" in a and "migrations" in b
                    else None,
                    affinity=b.get("affinity"),
                    policy=b.get("policy"),
                )
            workers.append(w)
        window = self._others(first, last)
        start = self._others(self.marks[0], self.marks[measured_from]) if measured_from else window
        end = self._others(self.marks[-2], last)
        return {"seconds": round(wall, 3), "workers": workers,
                "others": {"cores_start": start[0], "cores_end": end[0], "cores_window": window[0],
                           "steal_share": window[1]}}


def preempted_holds(hold_max_ns: list[list[float]], hold_mean_ns: list[list[float | None]],
                    class_names: tuple[str, ...] | list[str]) -> list[dict]:
    """Holds long enough that their holder must have been off its CPU: per lock class, each CPU whose
    longest hold exceeds the class's threshold (``PREEMPT_FACTOR`` x the median of the CPUs' mean
    holds, at least ``PREEMPT_FLOOR_NS``).  ``hold_max_ns[c][k]`` and ``hold_mean_ns[c][k]`` are
    class c's longest and mean hold on CPU k (mean None: no acquisition)."""
    out = []
    for c, name in enumerate(class_names):
        means = [m for m in hold_mean_ns[c] if m is not None]
        if not means:
            continue
        typical = statistics.median(means)
        threshold = max(PREEMPT_FACTOR * typical, PREEMPT_FLOOR_NS)
        for k, mx in enumerate(hold_max_ns[c]):
            if hold_mean_ns[c][k] is not None and mx > threshold:
                out.append({"class": name, "cpu": k, "hold_max_ns": round(mx, 1), "threshold_ns": round(threshold, 1),
                            "median_mean_hold_ns": round(typical, 1)})
    return out


def _us(ns: float) -> str:
    return f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.0f} us"


CAUSES = {  # a reason's code: what it says in a summary of many runs
    "pinning": "pinning did not hold",
    "preempted": "workers preempted",
    "switched": "workers switched out",
    "others": "other processes' load",
    "steal": "hypervisor steal",
    "holds": "lock holders preempted",
}


def verdict(fig: dict, holds: list[dict], pin_requested: bool) -> dict:
    """``disturbed`` and its reasons (one short phrase per signal over its threshold; ``causes`` the
    code of each, see ``CAUSES``), with the figures and the thresholds they were held against."""
    reasons: list[str] = []
    causes: list[str] = []

    def add(code: str, text: str) -> None:
        causes.append(code)
        reasons.append(text)

    for w in fig.get("workers", []):
        cpu = w["cpu"]
        if pin_requested and w.get("pinned_to") is not None:
            if w.get("affinity") is not None and w["affinity"] != [w["pinned_to"]]:
                add("pinning", f"cpu {cpu} was to be pinned to core {w['pinned_to']} but could run on {w['affinity']}")
            elif len(w["cores_seen"]) > 1 or (w.get("migrations") or 0) > 0:
                add("pinning", f"cpu {cpu} migrated between cores {w['cores_seen']}")
        share = w.get("run_delay_share")
        if share is not None and share > RUN_DELAY_MAX:
            add("preempted", f"cpu {cpu} waited runnable (preempted) {share:.1%} of the window")
        invol = w.get("involuntary_switches")
        if invol is not None and fig.get("seconds") and invol / fig["seconds"] > INVOLUNTARY_MAX_PER_S:
            add("switched", f"cpu {cpu} was switched out {invol / fig['seconds']:.0f} times/s")
    o = fig.get("others", {})
    for key, when in (("cores_start", "at the start"), ("cores_end", "at the end"), ("cores_window", "over the run")):
        v = o.get(key)
        if v is not None and v > OTHERS_MAX_CORES:
            add("others", f"other processes used {v:.2f} cores {when}")
            break
    if (o.get("steal_share") or 0) > STEAL_MAX:
        add("steal", f"the hypervisor stole {o['steal_share']:.1%} of the CPU time")
    if holds:
        worst = max(holds, key=lambda h: h["hold_max_ns"])
        add("holds", f"{len(holds)} lock holder(s) preempted: {worst['class']} held {_us(worst['hold_max_ns'])} on "
                       f"cpu {worst['cpu']} (threshold {_us(worst['threshold_ns'])})")
    return {
        "disturbed": bool(reasons),
        "reasons": reasons,
        "causes": causes,
        **fig,
        "preempted_holds": holds,
        "thresholds": {"run_delay_share": RUN_DELAY_MAX, "involuntary_per_s": INVOLUNTARY_MAX_PER_S,
                       "others_cores": OTHERS_MAX_CORES, "steal_share": STEAL_MAX,
                       "preempted_hold": f"max({PREEMPT_FACTOR} x median of the CPUs' mean holds, "
                                         f"{PREEMPT_FLOOR_NS / 1e3:.0f} us)"},
    }


def causes_summary(runs: list[dict]) -> str:
    """How many of ``runs`` (records or sweep entries) each cause disturbed, most frequent first."""
    count: dict[str, int] = {}
    for r in runs:
        for code in set((r.get("disturbance") or {}).get("causes", [])):
            count[code] = count.get(code, 0) + 1
    return ", ".join(f"{CAUSES.get(c, c)} {n}" for c, n in sorted(count.items(), key=lambda kv: -kv[1]))


def warning_line(disturbance: dict, rt_granted: bool = False) -> str:
    """The one warning line of a disturbed run (``rt_granted``: it ran with --rt already)."""
    return ("warning: this run was disturbed (" + "; ".join(disturbance["reasons"][:3])
            + ("; ..." if len(disturbance["reasons"]) > 3 else "")
            + "): its figures measure the machine's other load, not only the design; rerun on a quieter machine"
            + ("" if rt_granted else " or with --rt"))
