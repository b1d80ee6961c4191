"""Shared pieces of the benchmark suites: a private single-CPU arena."""

import pytest

from zswap_conc.arena import CTL_GO, CTL_PHASE, Arena
from zswap_conc.config import Config, validate


@pytest.fixture
def arena_factory():
    made = []

    def make(**kw):
        base = dict(cpus=1, clusters_per_cpu=16, pool_size=64 << 20)
        base.update(kw)
        ar = Arena(validate(Config(**base)), shared=False)
        ar.v.ctl[0, CTL_GO] = 1
        ar.v.ctl[0, CTL_PHASE] = 1
        made.append(ar)
        return ar

    yield make
    for ar in made:
        ar.close()
