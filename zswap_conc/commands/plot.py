"""``zswap-conc plot``: contention curves from results files (reads records only)."""

from __future__ import annotations

import argparse

HELP = "draw contention curves from results files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", nargs="+", help="sweep.json or run JSON files")
    p.add_argument("--out", help="output prefix (default: contention beside the first file)")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.plot import plot_files

    for path in plot_files(ns.results, ns.out):
        print(f"wrote {path}")
    return 0
