"""A record's git revision: -dirty for uncommitted code, not for regenerated results."""

import subprocess

from zswap_conc.results.meta import git_revision_of


def test_dirty_means_code_not_published_results(tmp_path):
    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "r.json").write_text("{}")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "c")
    clean = git_revision_of(tmp_path)
    assert clean and not clean.endswith("-dirty")
    (tmp_path / "docs" / "results" / "r.json").unlink()  # a publish step regenerating its folder
    assert git_revision_of(tmp_path) == clean
    (tmp_path / "code.py").write_text("x = 2\n")
    assert git_revision_of(tmp_path) == clean + "-dirty"
