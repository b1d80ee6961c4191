"""``zswap-conc compare``: two results files point by point (reads records only)."""

from __future__ import annotations

import argparse
import sys

HELP = "compare two results files point by point"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", help="the reference results file (sweep.json or a run)")
    p.add_argument("b", help="the results file compared with it")
    p.add_argument("--force", action="store_true", help="compare even if machine or config differ")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON (one object per point)")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.compare import compare_files, compare_table
    from zswap_conc.results.document import json_text

    rows, problem = compare_files(ns.a, ns.b, ns.force)
    if problem:
        print(f"warning: compared despite {problem} (--force)", file=sys.stderr)
    if ns.json:
        print(json_text(rows))
    else:
        print(compare_table(rows))
    return 0
