"""Shared fixtures: a /dev/shm leak check around every test that asks for it."""

import os

import pytest

SHM = "/dev/shm"


def shm_entries() -> set[str]:
    try:
        return {n for n in os.listdir(SHM) if n.startswith("zswap_conc_")}
    except FileNotFoundError:
        return set()


@pytest.fixture
def no_shm_leak():
    before = shm_entries()
    yield
    leaked = shm_entries() - before
    assert not leaked, f"shared-memory segments leaked: {sorted(leaked)}"
