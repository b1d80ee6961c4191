"""A swap entry: (swap type, offset) packed into one int64, as the kernel's ``swp_entry_t``.

It is the key of every tree (``index``), the name of a slot (``arena.SL_KEY``) and part of every
stored page's stamp (``pages``), so its layout is defined here once.
"""

from __future__ import annotations

from numba import njit

from zswap_conc.jit import HOT

SWP_TYPE_SHIFT = 40  # offsets below 2^40 pages (4 PiB of swap per device)
SWP_OFFSET_MASK = (1 << SWP_TYPE_SHIFT) - 1


@njit(**HOT, inline="always")
def swp_entry(swap_type, offset):
    """The key of slot ``offset`` on device ``swap_type`` (scalars or numpy arrays)."""
    return (swap_type << SWP_TYPE_SHIFT) | offset


@njit(**HOT, inline="always")
def swp_type(key):
    return key >> SWP_TYPE_SHIFT


@njit(**HOT, inline="always")
def swp_offset(key):
    return key & SWP_OFFSET_MASK
