"""``zswap-conc predict``: ops/s, lock wait share, contentions per acquisition and speedup at many
CPUs, from a results file measured here (a run, a sweep or a lockbench; by default its runs at the
smallest CPU count) or from parameters alone (--hold 50ns --outside 500ns --locks 1 --lock ticket).
Writes a versioned prediction file and prints a table; 'plot' draws it dashed over measurements and
'compare PREDICTION MEASUREMENT' prints the model's error at each point.

Method: a closed queueing network solved exactly by mean value analysis.  The CPUs are the
customers; the work outside locks is a delay station; each lock instance is a single-server
queueing station visited (acquisitions per op x its share) times per operation, its service time
the mean hold.  A ticket lock's hand-off costs one cache-line transfer per waiting CPU (Boyd-Wickizer
et al., "Non-scalable locks are dangerous", 2012); a ttas lock's costs one.  The transfer time is
the hand-off latency 'zswap-conc lockbench' measured at 2 CPUs on this machine (--calibration)."""

from __future__ import annotations

import argparse
import textwrap

from zswap_conc.commands.common import int_flag, ns_flag
from zswap_conc.config import ConfigError
from zswap_conc.results.document import ResultsError
from zswap_conc.results.prediction import MODEL_ASSUMPTIONS

__doc__ += "\n\nAssumptions:\n" + "\n".join(textwrap.fill(a, 100, initial_indent="  - ", subsequent_indent="    ")
                                            for a in MODEL_ASSUMPTIONS)

HELP = "predict ops/s and contention at 1..256 CPUs (a calibrated queueing model)"
CPUS_MAX = 4096
DEFAULT_CPUS = "1-256"
MEASURE_CALIBRATION = ("measure it with 'zswap-conc lockbench --cpus 1,2 --out calibration.json' and pass "
                       "--calibration calibration.json (or --handoff 0 for plain MVA)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("results", nargs="?", help="a run, sweep or lockbench results file (or give parameters)")
    g = p.add_argument_group("parameters alone (instead of a results file)")
    g.add_argument("--hold", type=ns_flag("--hold", 1e9), help="mean hold, e.g. 50ns (up to 1s)")
    g.add_argument("--outside", type=ns_flag("--outside", 1e12), help="time per operation outside locks, e.g. 500ns")
    g.add_argument("--locks", type=int_flag("--locks", 1, 1 << 20), help="lock instances, used evenly (default 1)")
    g.add_argument("--lock", help="ticket | ttas (default ticket)")
    p.add_argument("--cpus", default=DEFAULT_CPUS, help=f"CPU counts to predict, e.g. 16,64,256 or 1-256 "
                   f"(default {DEFAULT_CPUS}; at most {CPUS_MAX})")
    p.add_argument("--from-cpus", type=int_flag("--from-cpus", 1, CPUS_MAX),
                   help="which CPU count of the results file is the input (default its smallest)")
    p.add_argument("--calibration", help="a lockbench file measured at 2 or more CPUs on this machine: the "
                   "hand-off cost")
    p.add_argument("--handoff", type=ns_flag("--handoff", 1e6), help="the hand-off cost with one waiter, "
                   "instead of --calibration (0: plain MVA)")
    p.add_argument("--force", action="store_true", help="use a calibration from another machine")
    p.add_argument("--out", help="prediction file (default zswap-results/prediction-<time>.json)")
    p.add_argument("--json", action="store_true", help="print the prediction as JSON")


def variant_inputs(path: str, doc: dict, from_cpus: int | None) -> list[tuple[str, list[dict], dict, int]]:
    """(label, runs at the input CPU count, layout, CPUs) for each variant of a results document."""
    from zswap_conc.results.lockbench import shape_label
    from zswap_conc.results.sweep import variant_label

    kind = doc["kind"]
    if kind == "run":
        c = doc.get("config", {})
        runs = [{**doc, "cpus": c.get("cpus")}]
        variants = {variant_label(c.get("strategy", "?"), c.get("swap_types", 1)): (runs, c)}
    elif kind == "sweep":
        base = doc.get("experiment", {}).get("base_config", {})
        variants = {}
        for r in doc.get("runs", []):
            cfg = {**base, **_profile_settings(r.get("variant"), base),
                   "strategy": r.get("strategy"), "swap_types": r.get("swap_types", 1)}
            variants.setdefault(r["variant"], ([], cfg))[0].append(r)
    elif kind == "lockbench":
        c = doc.get("config", {})
        variants = {shape_label(c): (doc.get("runs", []), c)}
    else:
        raise ResultsError(f"{path}: field 'kind' is {kind!r}; accepted: run, sweep, lockbench (a measurement)")
    out = []
    for label, (runs, cfg) in variants.items():
        counts = sorted({r.get("cpus") for r in runs if isinstance(r.get("cpus"), int)})
        if not counts:
            raise ResultsError(f"{path}: {label} has no complete run; measure it, e.g. with --cpus 1")
        n = from_cpus or counts[0]
        if n not in counts:
            raise ResultsError(f"{path}: --from-cpus {n}: {label} was measured at {counts} CPUs only")
        out.append((label, [r for r in runs if r.get("cpus") == n], cfg, n))
    return out


def _profile_settings(variant: object, base: dict) -> dict:
    """A ``kernel=PROFILE`` sweep variant runs its release's settings, not the base's, except those
    the base set explicitly (its ``overrides``)."""
    from zswap_conc.kernels import PROFILES

    if not isinstance(variant, str) or not variant.startswith("kernel="):
        return {}
    profile = PROFILES.get(variant[len("kernel="):].split(":")[0].split("@")[0])
    if profile is None:
        return {}
    kept = set(base.get("overrides") or ())
    return {k: v for k, v in profile.settings.items() if k not in kept}


def _layout(kind: str, cfg: dict, runs: list[dict], cpus: int) -> dict:
    """What the model's spread laws need of a configuration, with the lock spread the runs measured
    (for the classes whose spread is the workload's, not the CPU count's)."""
    if kind == "lockbench":
        return {"locks": int(cfg.get("locks", 1))}
    layout = {k: cfg.get(k) for k in ("strategy", "swap_types", "buckets", "pools", "swap_size", "clusters_per_cpu",
                                      "swap_cache_lock") if cfg.get(k) is not None}
    spreads: dict[str, list[float]] = {}
    for r in runs:
        for name, s in (r.get("lock_spread") or {}).items():
            if isinstance(s, dict) and isinstance(s.get("effective"), (int, float)) and s["effective"] > 0:
                spreads.setdefault(name, []).append(float(s["effective"]))
    layout["measured_spread"] = {k: sorted(v)[len(v) // 2] for k, v in spreads.items()}
    layout["input_cpus"] = cpus
    return layout


def calibration_from(path: str, force: bool, machine: dict | None) -> dict:
    """The hand-off cost a lockbench file measured: the median over the runs at its smallest CPU
    count above 1 that had contended acquisitions."""
    from zswap_conc.results.document import load
    from zswap_conc.results.lockbench import shape_label

    doc = load(path)
    if doc["kind"] != "lockbench":
        raise ResultsError(f"--calibration: {path} is a {doc['kind']} file, not a lockbench; {MEASURE_CALIBRATION}")
    try:
        runs = [r for r in doc["runs"] if r["cpus"] > 1 and r["handoff"]["samples"] > 0]
        counts = sorted({r["cpus"] for r in runs})
        if not counts:
            raise ResultsError(f"--calibration: {path} measured no contended hand-off (no run at 2 or more CPUs "
                               f"that waited); {MEASURE_CALIBRATION}")
        at = [r for r in runs if r["cpus"] == counts[0]]
        hand = sorted(r["handoff"]["avg_ns"] for r in at)[len(at) // 2]
        m = doc["meta"]
        cal = {"source": path, "shape": shape_label(doc["config"]), "lock": doc["config"]["lock"], "cpus": counts[0],
               "handoff_ns": hand, "runs": len(at), "cpu_model": m.get("cpu_model"), "machine": m.get("machine"),
               "cores_allowed": m.get("cores_allowed")}
    except (KeyError, TypeError) as e:
        raise ResultsError(f"--calibration: {path}: field {e} is missing; {MEASURE_CALIBRATION}") from None
    if machine is not None and not force:
        for f in ("cpu_model", "machine", "cores_allowed"):
            if machine.get(f) != cal[f]:
                raise ResultsError(f"--calibration: {path} was measured on another machine (meta.{f} "
                                   f"{cal[f]!r} vs {machine.get(f)!r}); calibrate on the machine of the input, "
                                   f"or pass --force")
    return cal


def prediction_build(ns: argparse.Namespace) -> dict:
    """Read the inputs, solve the model for every variant, and build the prediction record."""
    from zswap_conc import __version__
    from zswap_conc.compare import config_of
    from zswap_conc.experiment import cpus_parse
    from zswap_conc.model import LOCKS, LockClass, Workload, model_predict, workload_describe, workload_from_runs
    from zswap_conc.results.document import load
    from zswap_conc.results.meta import git_revision
    from zswap_conc.results.prediction import MODEL_ASSUMPTIONS, prediction_document

    cpus = list(cpus_parse(ns.cpus))
    if cpus[-1] > CPUS_MAX:
        raise ConfigError(f"--cpus: {cpus[-1]} is out of range; accepted: 1..{CPUS_MAX}")
    params = [f for f in ("hold", "outside", "locks", "lock") if getattr(ns, f) is not None]
    workloads: list[tuple[Workload, int, dict]] = []  # (workload, input CPUs, source config)
    if ns.results is not None:
        if params:
            raise ConfigError(f"--{params[0]}: give a results file or parameters, not both; accepted: one of them")
        doc = load(ns.results)
        if not doc.get("complete", True) and not doc.get("runs"):
            raise ResultsError(f"{ns.results}: an incomplete record with no runs; measure again")
        machine = {k: doc["meta"].get(k) for k in ("cpu_model", "machine", "cores_allowed")}
        source_config = config_of(doc)
        for label, runs, cfg, n in variant_inputs(ns.results, doc, ns.from_cpus):
            lock = cfg.get("lock", "ticket")
            try:
                w = workload_from_runs(runs, label, lock, _layout(doc["kind"], cfg, runs, n))
            except ValueError as e:
                raise ResultsError(f"{ns.results}: {label} at {n} CPU(s): {e} (measured with --lockstat off?); "
                                   f"measure it with lock statistics on") from None
            except (KeyError, TypeError) as e:
                raise ResultsError(f"{ns.results}: {label}: field {e} is missing") from None
            if lock not in LOCKS:
                raise ResultsError(f"{ns.results}: {label}: lock {lock!r}; accepted: {', '.join(LOCKS)}")
            workloads.append((w, n, cfg))
        source, source_kind = ns.results, doc["kind"]
    else:
        if ns.hold is None or ns.outside is None:
            raise ConfigError("--hold: parameters need at least --hold and --outside (or give a results file); "
                              "accepted: e.g. --hold 50ns --outside 500ns --locks 1 --lock ticket")
        lock = ns.lock or "ticket"
        if lock not in LOCKS:
            raise ConfigError(f"--lock: unknown lock {lock!r}; accepted: {', '.join(LOCKS)}")
        locks = ns.locks or 1
        if ns.hold + ns.outside <= 0:
            raise ConfigError("--hold: an operation of no time at all has no throughput; accepted: --hold + "
                              "--outside > 0")
        label = f"{lock}:h{ns.hold:g}:o{ns.outside:g}:k{locks}"
        source_config = {"hold_ns": ns.hold, "outside_ns": ns.outside, "locks": locks, "lock": lock}
        workloads.append((Workload(label, ns.outside, (LockClass("lock", 1.0, ns.hold),), lock, {"locks": locks}),
                          1, source_config))
        machine, source, source_kind = None, "parameters", "parameters"
    if ns.handoff is not None:
        cal = {"source": "--handoff", "handoff_ns": ns.handoff}
    elif ns.calibration:
        cal = calibration_from(ns.calibration, ns.force, machine)
    else:
        raise ConfigError(f"--calibration: the model needs this machine's hand-off cost; {MEASURE_CALIBRATION}")
    variants = []
    for w, n, cfg in workloads:
        res = model_predict(w, cpus, cal["handoff_ns"])
        variants.append({"variant": w.label, "strategy": cfg.get("strategy", "lockbench"),
                         "swap_types": cfg.get("swap_types", 1), "from_cpus": n,
                         "workload": workload_describe(w, cpus), **res})
    meta = dict(machine or {k: cal.get(k) for k in ("cpu_model", "machine", "cores_allowed")})
    meta["predicted_by"] = {"package_version": __version__, "git_revision": git_revision()}
    inputs = {"source": source, "source_kind": source_kind, "config": source_config, "calibration": cal}
    model = {"method": "exact mean value analysis of a closed queueing network (CPUs: customers; work outside "
                       "locks: a delay station; each lock instance: a load-dependent FCFS station)",
             "handoff": "ticket: c x waiters; ttas: c (one transfer); c calibrated with one waiter",
             "assumptions": list(MODEL_ASSUMPTIONS)}
    return prediction_document(meta, inputs, model, cpus, variants)


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.outputs import default_file, out_file_check
    from zswap_conc.results.document import dump, json_text
    from zswap_conc.results.prediction import prediction_table

    out = ns.out or default_file("prediction")
    out_file_check(out)
    doc = prediction_build(ns)
    try:
        dump(doc, out)
    except OSError as e:
        raise ResultsError(f"--out: cannot write {out} ({e.strerror or e}); nothing was written") from None
    if ns.json:
        print(json_text(doc))
    else:
        print(prediction_table(doc))
        print(f"wrote {out}")
    return 0
