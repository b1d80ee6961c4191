"""Bad input, fuzzed: any flags, values and experiment files end in a valid run (here: reaching the
runner with a validated config) or exit status 2 with one line; never a traceback."""

import subprocess
import sys

from hypothesis import HealthCheck, event, given, settings
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

    def fake_run(cfg, **_kw):
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


# ---------------------------------------------------------------------------------------------
# Documents drawn from the schema: experiment files (TOML) and results files (JSON), each value of
# its spec's type and range or, now and then, of any other type or range.  Whatever is drawn, the
# command ends with status 0 or 2, one line on stderr, no traceback, and no file claimed complete.

from zswap_conc import schema as S  # noqa: E402

PRINTABLE = st.characters(min_codepoint=32, max_codepoint=0x17F).filter(str.isprintable)
HUGE = st.sampled_from([1 << 63, (1 << 64) + 1, -(1 << 63) - 1, 10**30, -(10**30)])
ANY_VALUE = st.one_of(
    st.integers(-(1 << 70), 1 << 70), HUGE, st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.text(max_size=12), st.none(), st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(0, 3), max_size=2),
)


def _valid(spec: S.Spec) -> st.SearchStrategy:
    """Values the spec accepts, spread over its whole range (its bounds included)."""
    if isinstance(spec, S.Int):
        return st.one_of(st.integers(spec.lo, spec.hi), st.sampled_from([spec.lo, spec.hi]))
    if isinstance(spec, S.Float):
        lo = spec.lo if spec.lo > -1e300 else -1e6
        return st.one_of(st.floats(lo, spec.hi, allow_nan=False, allow_infinity=False,
                                   exclude_min=spec.lo_open), st.just(spec.hi))
    if isinstance(spec, S.Bool):
        return st.booleans()
    if isinstance(spec, S.Str):
        names = spec.names()
        return st.sampled_from(names) if names else st.text(PRINTABLE, max_size=min(spec.max_len, 16))
    if isinstance(spec, S.Size):
        return st.one_of(st.integers(spec.lo, spec.hi), st.sampled_from(["64K", "32M", "1G", "16G"]))
    if isinstance(spec, S.Nullable):
        return st.one_of(st.none(), _value(spec.inner))
    if isinstance(spec, S.List):
        return st.lists(_value(spec.item), min_size=spec.min_len, max_size=min(spec.max_len, max(spec.min_len, 3)))
    if isinstance(spec, S.AnyOf):
        return st.one_of(*[_value(o) for o in spec.options])
    if isinstance(spec, S.Table):
        return st.fixed_dictionaries({k: _value(spec.fields[k]) for k in spec.required if k in spec.fields},
                                     optional={k: _value(v) for k, v in spec.fields.items()
                                               if k not in spec.required})
    raise TypeError(spec)


def _value(spec: S.Spec) -> st.SearchStrategy:
    """Mostly what the spec accepts; one time in 40 any value at all (a wrong type, NaN, 2^64, ...)."""
    return st.integers(0, 39).flatmap(lambda k: ANY_VALUE if k == 0 else _valid(spec))


def _toml(doc: dict) -> str:
    """A TOML file for ``doc`` (scalars and arrays first, then tables; nested tables dotted)."""
    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == -float("inf") else repr(v))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in v) + '"'
        if isinstance(v, (list, tuple)):  # TOML has no null: a null item or field is left out
            return "[" + ", ".join(scalar(x) for x in v if x is not None) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{_key(k)} = {scalar(x)}" for k, x in v.items() if x is not None) + "}"
        raise TypeError(v)

    def table(d, name):
        lines = [f"[{name}]"] if name else []
        lines += [f"{_key(k)} = {scalar(v)}" for k, v in d.items() if v is not None and not isinstance(v, dict)]
        for k, v in d.items():
            if isinstance(v, dict):
                lines += table(v, f"{name}.{_key(k)}" if name else _key(k))
        return lines

    return "\n".join(table(doc, "")) + "\n"


def _key(k: str) -> str:
    return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in k) + '"'


def _cli_in_process(argv: list[str]) -> tuple[int, str]:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = cli.main(argv)  # an exception escaping here is the traceback a user would see
    return code, err.getvalue()


def _one_line_or_none(code: int, err: str) -> None:
    lines = [line for line in err.strip().splitlines() if not line.startswith(("note:", "warning:"))]
    assert code in (0, 2), (code, err)
    assert "Traceback" not in err, err
    if code == 0:  # nothing on stderr but notes and warnings (no Python warning, no stray message)
        assert lines == [], err
    else:
        assert len(lines) == 1 and lines[0].startswith("zswap-conc: error: "), err


@given(_valid(S.EXPERIMENT).flatmap(lambda d: st.fixed_dictionaries(
    {}, optional={"config": _valid(S.config_table(nullable=("think_ns",)))}).map(lambda c: {**d, **c})))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_experiment_files_drawn_from_the_schema(tmp_path_factory, doc):
    import zswap_conc.sweep as sweep_mod

    tmp = tmp_path_factory.mktemp("toml")
    (tmp / "e.toml").write_text(_toml(doc), encoding="utf-8")

    def fake_sweep(exp, out, progress=True):
        raise ReachedRun

    real, sweep_mod.sweep_run = sweep_mod.sweep_run, fake_sweep
    try:
        code, err = _cli_in_process(["sweep", "--config", str(tmp / "e.toml"), "--out", str(tmp / "o"), "--quiet"])
    except ReachedRun:
        event("reached the sweep")
        return  # a valid experiment reached the sweep
    finally:
        sweep_mod.sweep_run = real
    event(f"exit {code}")
    _one_line_or_none(code, err)


RESULT_SPECS = {"sweep": S.SWEEP_DOC, "run": S.RUN_DOC, "lockbench": S.LOCKBENCH_DOC, "prediction": S.PREDICTION_DOC}


def _results_doc(kind: str) -> st.SearchStrategy:
    from zswap_conc.results.document import FORMAT_VERSION

    version = st.integers(0, 9).map(lambda k: FORMAT_VERSION if k else FORMAT_VERSION + 1)
    envelope = {"schema": st.just("zswap-conc"), "format_version": version, "kind": st.just(kind),
                "complete": st.booleans()}
    return st.tuples(st.fixed_dictionaries(envelope), _valid(RESULT_SPECS[kind])).map(lambda t: {**t[1], **t[0]})


@given(st.sampled_from(sorted(RESULT_SPECS)).flatmap(_results_doc), st.sampled_from(["plot", "compare"]))
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_results_files_drawn_from_the_schema(tmp_path_factory, doc, command):
    import json

    from zswap_conc.plot import figure_paths

    tmp = tmp_path_factory.mktemp("results")
    f = tmp / "r.json"
    f.write_text(json.dumps(doc))  # Python's json writes NaN and Infinity too: the reader must refuse them
    argv = ["plot", str(f), "--out", str(tmp / "fig")] if command == "plot" else ["compare", str(f), str(f)]
    code, err = _cli_in_process(argv)
    event(f"{doc['kind']} {command}: exit {code}")
    _one_line_or_none(code, err)
    if command == "plot":  # the figure is written whole or not at all
        made = [p.exists() for p in figure_paths(tmp / "fig")]
        assert made in ([True, True], [False, False]) and made[0] == (code == 0)
    assert not list(tmp.glob(".*.tmp"))
