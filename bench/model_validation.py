"""Validation of the contention model on this machine: what docs/results/model-2core/ publishes.

    python3 bench/model_validation.py --out docs/results/model-2core            # about 15 minutes
    python3 bench/model_validation.py --out /tmp/mv --duration 0.2 --repeats 1 --sweep-duration 0.3 --quick

1. Calibrate the hand-off cost once, from one lockbench shape (CALIBRATION) at 1 and 2 CPUs.
2. Every other lockbench shape (hold 50/200/1000 ns x outside 100/500/2000 ns x 1/256 locks x
   ticket/ttas), measured at --cpus (default 1..cores), is predicted from its 1-CPU runs and
   compared with its other CPU counts.  The calibration shape is left out of the error table: a
   prediction checked against its own input proves nothing.
3. The default sweep variants and the 2012 profile (SWEEP_VARIANTS), the same way (predicted from
   their 1-CPU runs).
4. Predictions at 16, 64 and 256 CPUs for each default variant, from the sweep's 1-CPU runs, with
   the CPU count where it peaks and where one more CPU stops adding 5% of one CPU's throughput.

It writes, under --out: calibration.json, lockbench/<shape>.json, predictions/<shape>.json,
sweep/ (the sweep's folder), sweep-prediction.json (at the measured CPU counts),
prediction-1-256.json, model.png/svg (sweep with its predictions to 16 CPUs), lockbench-model.png/svg
(one shape with its prediction to 16 CPUs), errors.json (every compared point) and errors.md (the
README's tables).  Each step is a zswap-conc command, printed
before it runs, so any one can be rerun by hand.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from zswap_conc.commands.predict import calibration_from

HOLDS = (50, 200, 1000)
OUTSIDES = (100, 500, 2000)
LOCK_COUNTS = (1, 256)
LOCKS = ("ticket", "ttas")
CALIBRATION = (200, 500, 1, "ticket")  # hold, outside, locks, lock: contended enough for many hand-offs at 2 CPUs
QUICK = ((50, 500, 1, "ticket"), (1000, 100, 1, "ttas"), (200, 2000, 256, "ticket"))
# The default sweep's variants (the newest profile, 6.11, with each tree strategy; split64m is 6.11's own design)
# and the reviewed 2012 design whole, so the predictions have a row for the oldest and the newest kernel.
SWEEP_VARIANTS = "global,per-swaptype:4,hashed,split64m,kernel=2012"
FIGURE = (50, 500, 1, "ticket")  # the shape drawn with its prediction to 16 CPUs
OPS_GOAL, CONTENTION_GOAL = 0.15, 0.05


def label(shape: tuple) -> str:
    hold, outside, locks, lock = shape
    return f"{lock}:h{hold}:o{outside}:k{locks}"


def cli(*args: str, capture: bool = False) -> str:
    cmd = [sys.executable, "-m", "zswap_conc.cli", *args]
    print("$ zswap-conc " + " ".join(shlex.quote(a) for a in args), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=capture, text=True)
    if r.returncode != 0:
        sys.exit(f"step failed (exit {r.returncode}): {' '.join(args)}\n{r.stderr if capture else ''}")
    return r.stdout if capture else ""


def lockbench(shape: tuple, path: Path, ns: argparse.Namespace) -> None:
    hold, outside, locks, lock = shape
    cli("lockbench", "--hold-ns", str(hold), "--outside-ns", str(outside), "--locks", str(locks), "--lock", lock,
        "--cpus", ns.cpus, "--repeats", str(ns.repeats), "--duration", str(ns.duration), "--out", str(path),
        "--quiet")


def errors_of(prediction: Path, measurement: Path) -> list[dict]:
    return json.loads(cli("compare", str(prediction), str(measurement), "--json", capture=True))


def fmt_row(kind: str, r: dict) -> str:
    mc = r["measured_contentions_per_acquisition"]
    return (f"| {kind} | `{r['variant']}` | {r['cpus']} | {r['predicted_ops_s']:,.0f} | {r['measured_ops_s']:,.0f} | "
            f"{r['ops_error']:+.1%} | {r['predicted_contentions_per_acquisition']:.3f} | {mc:.3f} | "
            f"{r['contention_error']:+.3f} | {'yes' if r.get('role') == 'disturbed' else 'no'} |")


def summary_line(label: str, rs: list[dict]) -> str:
    worst_ops = max(rs, key=lambda r: abs(r["ops_error"]))
    worst_con = max(rs, key=lambda r: abs(r["contention_error"]))
    met_ops = sum(abs(r["ops_error"]) <= OPS_GOAL for r in rs)
    met_con = sum(abs(r["contention_error"]) <= CONTENTION_GOAL for r in rs)
    return (f"{label}: {len(rs)} points; ops/s within {OPS_GOAL:.0%} at {met_ops}, largest error "
            f"{worst_ops['ops_error']:+.1%} (`{worst_ops['variant']}` at {worst_ops['cpus']}); contentions per "
            f"acquisition within {CONTENTION_GOAL} at {met_con}, largest difference "
            f"{worst_con['contention_error']:+.3f} (`{worst_con['variant']}` at {worst_con['cpus']}).")


def errors_md(lock_rows: list[dict], sweep_rows: list[dict], cal: dict, pred: dict, ns: argparse.Namespace) -> str:
    # a disturbed measurement is compared too (and marked): on a 2-core machine nearly every lock-heavy
    # run has a preempted hold, and leaving them out would leave nothing to check the model against
    compared = ("checked", "disturbed")
    checked = [("lockbench", r) for r in lock_rows if r.get("role") in compared] + \
              [("sweep", r) for r in sweep_rows if r.get("role") in compared]
    lines = [f"Calibration: `{cal['shape']}` (left out below): hand-off {cal['handoff_ns']:.1f} ns with one waiter, "
             f"{cal['cpu_model']}, {cal['cores_allowed']} cores.",
             f"Measured: median of {ns.repeats} runs of {ns.duration:g} s per lockbench point, {ns.sweep_repeats} runs "
             f"of {ns.sweep_duration:g} s per sweep point; predicted from each workload's own 1-CPU runs. "
             f"disturbed: a run of the point was marked disturbed (see the README).", "",
             "| kind | workload | CPUs | predicted ops/s | measured ops/s | error | predicted cont/acq | "
             "measured cont/acq | difference | disturbed |", "|---|---|---|---|---|---|---|---|---|---|"]
    lines += [fmt_row(k, r) for k, r in checked]
    lines.append("")
    for kind in ("lockbench", "sweep"):
        rs = [r for k, r in checked if k == kind]
        if rs:
            lines.append(summary_line(f"{kind}, every point", rs))
            quiet = [r for r in rs if r.get("role") == "checked"]
            lines.append(summary_line(f"{kind}, undisturbed points", quiet) if quiet else
                         f"{kind}, undisturbed points: none.")
    lines += ["", "Predictions (not measurements; beyond 2 CPUs the growth of the ticket hand-off with waiters is "
              "the model's, untested on this machine):", "",
              "| variant | input | ops/s at 16 | at 64 | at 256 | peak (CPUs) | stops adding 5% of a CPU at |",
              "|---|---|---|---|---|---|---|"]
    for v in pred["variants"]:
        pts = {p["cpus"]: p for p in v["points"]}
        w = v["workload"]
        inp = f"{v['from_cpus']} CPU: outside {w['outside_ns']:,.0f} ns; " + "; ".join(
            f"{c['class']} {c['acquisitions_per_op']:g}/op x {c['hold_ns']:,.0f} ns" for c in w["classes"])
        lines.append(f"| `{v['variant']}` | {inp} | " + " | ".join(
            f"{pts[n]['ops_s']:,.0f}" if n in pts else "-" for n in (16, 64, 256))
            + f" | {v['peak_ops_s']:,.0f} ({v['peak_cpus']}) | {v['saturation_cpus'] or '-'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpus", default=f"1-{len(os.sched_getaffinity(0))}",
                    help="measured CPU counts (default 1..cores)")
    ap.add_argument("--duration", type=float, default=1.0, help="seconds per lockbench run (default 1)")
    ap.add_argument("--repeats", type=int, default=3, help="lockbench runs per point (default 3)")
    ap.add_argument("--sweep-duration", type=float, default=1.5, help="seconds per sweep run (default 1.5)")
    ap.add_argument("--sweep-repeats", type=int, default=3, help="sweep runs per point (default 3)")
    ap.add_argument("--quick", action="store_true", help=f"only the shapes {[label(s) for s in QUICK]}")
    ap.add_argument("--skip-sweep", action="store_true", help="lockbench shapes only")
    ap.add_argument("--tables-only", action="store_true",
                    help="measure nothing: rewrite errors.md from the folder's errors.json, calibration and "
                         "predictions (give the same --repeats/--duration the measurement used)")
    ns = ap.parse_args()
    out = Path(ns.out)
    if ns.tables_only:
        errors = json.loads((out / "errors.json").read_text())
        cal = calibration_from(str(out / "calibration.json"), force=False, machine=None)
        wide = out / "prediction-1-256.json"
        pred = json.loads(wide.read_text()) if wide.exists() else {"variants": []}
        (out / "errors.md").write_text(errors_md(errors["lockbench"], errors["sweep"], cal, pred, ns))
        print((out / "errors.md").read_text())
        return
    for sub in ("lockbench", "predictions"):
        (out / sub).mkdir(parents=True, exist_ok=True)

    cal_path = out / "calibration.json"
    lockbench(CALIBRATION, cal_path, ns)
    shapes = QUICK if ns.quick else tuple(itertools.product(HOLDS, OUTSIDES, LOCK_COUNTS, LOCKS))
    lock_rows: list[dict] = []
    for shape in shapes:
        if shape == CALIBRATION:
            continue
        name = label(shape).replace(":", "-")
        meas, pred = out / "lockbench" / f"{name}.json", out / "predictions" / f"{name}.json"
        lockbench(shape, meas, ns)
        cli("predict", str(meas), "--calibration", str(cal_path), "--cpus", ns.cpus, "--out", str(pred), capture=True)
        lock_rows += errors_of(pred, meas)
        if shape == FIGURE:
            wide = out / "predictions" / f"{name}-1-16.json"
            cli("predict", str(meas), "--calibration", str(cal_path), "--cpus", "1-16", "--out", str(wide),
                capture=True)
            cli("plot", str(meas), str(wide), "--out", str(out / "lockbench-model"))

    sweep_rows: list[dict] = []
    pred_wide = {"variants": []}
    if not ns.skip_sweep:
        sweep = out / "sweep"
        cli("sweep", "--strategies", SWEEP_VARIANTS, "--cpus", ns.cpus, "--repeats", str(ns.sweep_repeats),
            "--duration", str(ns.sweep_duration), "--out", str(sweep), "--quiet")
        cli("predict", str(sweep / "sweep.json"), "--calibration", str(cal_path), "--cpus", ns.cpus,
            "--out", str(out / "sweep-prediction.json"), capture=True)
        sweep_rows = errors_of(out / "sweep-prediction.json", sweep / "sweep.json")
        cli("predict", str(sweep / "sweep.json"), "--calibration", str(cal_path), "--cpus", "1-256",
            "--out", str(out / "prediction-1-256.json"), capture=True)
        cli("predict", str(sweep / "sweep.json"), "--calibration", str(cal_path), "--cpus", "1-16",
            "--out", str(out / "prediction-1-16.json"), capture=True)
        cli("plot", str(sweep / "sweep.json"), str(out / "prediction-1-16.json"), "--out", str(out / "model"))
        pred_wide = json.loads((out / "prediction-1-256.json").read_text())

    cal = calibration_from(str(cal_path), force=False, machine=None)
    (out / "errors.json").write_text(json.dumps({"lockbench": lock_rows, "sweep": sweep_rows}, indent=1) + "\n")
    (out / "errors.md").write_text(errors_md(lock_rows, sweep_rows, cal, pred_wide, ns))
    print((out / "errors.md").read_text())


if __name__ == "__main__":
    main()
