"""Bad input, fuzzed: any flags, values and experiment files end in a valid run (here: reaching the
runner with a validated config) or exit status 2 with one line; never a traceback."""

import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zswap_conc import cli
from zswap_conc.config import Config, ConfigError
from zswap_conc.experiment import experiment_build

FLAGS = ["--strategy", "--cpus", "--duration", "--warmup", "--buckets", "--swap-types", "--swap-size", "--allocator",
         "--pools", "--pool-size", "--lock", "--compressor", "--reject-above", "--mix", "--clusters-per-cpu",
         "--zero-pct", "--same-pct", "--incompressible-pct", "--seed", "--max-pool-frames", "--max-pool-percent",
         "--ram-size", "--writeback", "--lru", "--dev-write-ns", "--dev-read-ns", "--sort", "--bogus"]
VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1", "2", "3", "256", "1e9", "abc", "", "50/35/15", "50/50/0", "hashed", "global",
                     "zbud", "zsmalloc", "ttas", "lz4", "zstd", "synthetic:800ns", "synthetic:0ns", "64K", "1G",
                     "100T", "recursive", "pageframe", "nan", "inf", "0.5", "contentions"]),
    st.text(max_size=8),
)


class ReachedRun(Exception):
    pass


@given(st.lists(st.tuples(st.sampled_from(FLAGS), VALUES), max_size=6))
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
def test_cli_run_fuzz(pairs):
    import zswap_conc.runner as runner

    argv = ["run"] + [x for pair in pairs for x in pair]
    seen = {}

    def fake_run(cfg):
        assert isinstance(cfg, Config)
        seen["cfg"] = cfg
        raise ReachedRun

    real, runner.run = runner.run, fake_run
    try:
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = cli.main(argv)
            except ReachedRun:
                return  # a valid configuration reached the runner
    finally:
        runner.run = real
    lines = [line for line in err.getvalue().strip().splitlines() if not line.startswith(("note:", "warning:"))]
    assert code == 2, argv
    assert len(lines) == 1 and lines[0].startswith("zswap-conc: error: "), (argv, err.getvalue())


TOML_VALUES = st.one_of(st.integers(-5, 300), st.floats(allow_nan=True), st.text(max_size=10), st.booleans(),
                        st.lists(st.integers(-2, 40), max_size=4), st.lists(st.text(max_size=6), max_size=3))


@given(st.dictionaries(st.sampled_from(["strategies", "cpus", "repeats", "duration", "warmup", "workload",
                                        "compressor", "swap_types", "oversubscribe", "config", "junk"]),
                       TOML_VALUES, max_size=5),
       st.dictionaries(st.sampled_from(["allocator", "pool_size", "lock", "buckets", "writeback", "lru", "pages",
                                        "nonsense", "max_pool_frames"]), TOML_VALUES, max_size=3))
@settings(max_examples=300, deadline=None)
def test_experiment_file_fuzz(settings_, config_table):
    if "config" in settings_:
        settings_["config"] = config_table
    try:
        exp = experiment_build({}, settings_)
    except ConfigError as e:
        assert "\n" not in str(e) and str(e)
        return
    assert exp.repeats >= 1 and exp.cpus and exp.variants


def test_unwritable_output_and_cache_are_reported_before_work(tmp_path):
    r = subprocess.run([sys.executable, "-m", "zswap_conc.cli", "run", "--out", "/proc/zswap-run.json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--out: cannot write" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "zswap_conc.cli", "sweep", "--out", "/proc/zswap-sweep"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--out: cannot write" in r.stderr
    env = {"NUMBA_CACHE_DIR": "/proc/zswap-cache", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "zswap_conc.cli", "run", "--strategy", "nope"], capture_output=True,
                       text=True, timeout=120, env=env)
    assert "note: numba cache /proc/zswap-cache is not writable; using" in r.stderr and r.returncode == 2
