"""``zswap-conc clean``: list (and with --yes remove) shared memory left by dead runs."""

from __future__ import annotations

import argparse

HELP = "list (and with --yes remove) shared memory left by dead runs"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--yes", action="store_true", help="remove them")


def main(ns: argparse.Namespace) -> int:
    from zswap_conc.arena import segment_remove, segments_stale

    stale = segments_stale()
    if not stale:
        print("no shared-memory segments left by dead runs")
        return 0
    for name, pid, size in stale:
        if ns.yes:
            segment_remove(name)
        print(f"{'removed' if ns.yes else 'stale'}: /dev/shm/{name} ({size >> 20} MiB, run by pid {pid}, gone)")
    if not ns.yes:
        print("run 'zswap-conc clean --yes' to remove them")
    return 0
