"""Kernel profiles: every setting cites a commit, every profile is a distinct design that validates,
explicit flags override and are recorded, and a bad profile or override ends in one line, exit 2."""

import contextlib
import io

import pytest

from zswap_conc import cli
from zswap_conc.config import Config, validate
from zswap_conc.kernels import DEFAULT_PROFILE, PROFILE_NAMES, PROFILE_SETTINGS, PROFILES, SOURCES, profile_sources


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_every_setting_cites_a_known_commit(name):
    src = profile_sources(name)
    assert set(src) == set(PROFILE_SETTINGS)
    assert set(src.values()) <= set(SOURCES)
    assert set(PROFILES[name].sources.values()) <= set(SOURCES)


def test_profiles_are_distinct_designs_and_the_newest_is_the_default():
    designs = [tuple(PROFILES[n].settings[k] for k in PROFILE_SETTINGS) for n in PROFILE_NAMES]
    assert len(set(designs)) == len(designs)
    assert Config().kernel == validate(Config()).kernel == DEFAULT_PROFILE == PROFILE_NAMES[-1]


@pytest.mark.parametrize("name", PROFILE_NAMES)
def test_profile_fills_unset_settings_and_flags_win(name):
    cfg = validate(Config(kernel=name))
    assert all(getattr(cfg, k) == v for k, v in PROFILES[name].settings.items())
    assert cfg.overrides == ()
    other = "zbud" if PROFILES[name].settings["allocator"] == "zsmalloc" else "zsmalloc"
    if other == "zbud":  # zbud has no size classes and no allocator-internal object LRU
        cfg = validate(Config(kernel=name, allocator=other, alloc_lock="pool"))
    else:
        cfg = validate(Config(kernel=name, allocator=other))
    assert cfg.allocator == other and "allocator" in cfg.overrides


def _main(argv):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)
    return code, [line for line in err.getvalue().splitlines() if not line.startswith(("note:", "warning:"))]


@pytest.mark.parametrize("argv, names", [
    (["run", "--kernel", "5.99"], PROFILE_NAMES),
    (["sweep", "--kernel", "latest"], PROFILE_NAMES),
    (["soak", "--kernel", "3.10"], PROFILE_NAMES),
    (["reclaim", "--kernel", ""], PROFILE_NAMES),
    (["hunt", "--kernel", "6"], PROFILE_NAMES),
    (["run", "--kernel", "6.2", "--allocator", "zbud", "--alloc-lock", "class"], ("--alloc-lock pool",)),
    (["run", "--kernel", "6.11", "--wb-order", "pin-first"], ("--wb-order claim-first",)),
    (["run", "--kernel", "3.11", "--lru", "pageframe", "--lru-lock", "own"], ("--lru object",)),
])
def test_bad_profile_or_override_is_one_line_naming_what_is_accepted(argv, names):
    code, lines = _main(argv)
    assert code == 2 and len(lines) == 1 and lines[0].startswith("zswap-conc: error: ")
    assert "accepted" in lines[0] and all(n in lines[0] for n in names)


def test_readme_profile_table_is_the_generated_one():
    """The README's table is ``profile_table_md()``: a profile edited in code shows in the README."""
    from pathlib import Path

    from zswap_conc.kernels import profile_table_md

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert profile_table_md() in readme
