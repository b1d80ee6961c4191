"""``zswap-conc plot``: contention curves from results files (reads records only)."""

from __future__ import annotations

import argparse

HELP = "draw contention curves from results files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", nargs="+", help="results files: sweep.json, run, lockbench or prediction JSON")
    p.add_argument("--out", help="output prefix: writes PREFIX.png and PREFIX.svg (default: contention beside the "
                   "first file; for one run, the run file's name)")


def main(ns: argparse.Namespace) -> int:
    import sys

    from zswap_conc.outputs import out_file_check
    from zswap_conc.plot import default_prefix, figure_paths, plot_files, plot_problems
    from zswap_conc.results.document import load

    if ns.out is not None:  # before reading anything: a folder or an unwritable place is refused
        for path in figure_paths(ns.out):
            out_file_check(str(path))
    docs = [load(p) for p in ns.results]
    prefix = ns.out or default_prefix(ns.results, docs)
    for path in figure_paths(prefix):
        out_file_check(str(path))
    for line in plot_problems(docs, ns.results):
        print(f"warning: {line}; the figure shows both, each named in its legend", file=sys.stderr)
    for path in plot_files(ns.results, prefix, docs):
        print(f"wrote {path}")
    return 0
