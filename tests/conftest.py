"""Shared fixtures: a /dev/shm leak check around every test that asks for it."""

import os

import pytest

SHM = "/dev/shm"


def shm_entries() -> set[str]:
    try:
        return {n for n in os.listdir(SHM) if n.startswith("zswap_conc_")}
    except FileNotFoundError:
        return set()


@pytest.fixture(scope="session", autouse=True)
def compiled():
    """Compile (or load from numba's cache) the measured path once, before any test: a test that
    starts the CLI in a subprocess then times the run, not the first compile."""
    from zswap_conc.runner import warm_up

    warm_up()


@pytest.fixture
def no_shm_leak():
    before = shm_entries()
    yield
    leaked = shm_entries() - before
    assert not leaked, f"shared-memory segments leaked: {sorted(leaked)}"
