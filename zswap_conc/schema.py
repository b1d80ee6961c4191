"""Types and ranges of every value a user or a file can hand the tool: run settings (flags and the
``[config]`` table of an experiment file), experiment files, lockbench shapes, and every field of a
results document that a reader (``plot``, ``compare``, ``predict``) uses.

This is the one validator of single values.  ``config.validate`` checks each setting here before its
cross-field rules; ``experiment`` checks a TOML file here before any flag overrides it;
``results.document.load`` checks a results file here, by kind, before any reader sees it; and
``tests/faults/test_fuzz.py`` draws documents from these specs.  A value that passes its spec is
safe to use: integers fit in 64 bits (the arena's words), floats are finite, strings are short
and printable, lists and tables have the shape a reader indexes.

JSON null: results never hold NaN or infinity (``document.dump`` writes strict JSON).  A figure
that is genuinely unknown is null, and its spec says so with ``Nullable``: a wait share or
contention rate measured with ``--lockstat off``, a hand-off with no contended acquisition, a
compare ratio against a median of 0, an average over no samples.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zswap_conc import config as C  # the names of settings (config imports this module only lazily)

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
TEXT_MAX = 4096  # characters in any string setting or field (names, labels, paths)
LIST_MAX = 1 << 20  # items in any list (runs, samples, points)


class SchemaError(ValueError):
    """A value outside its spec; ``str()`` is one line: the value's path, what it is, what is accepted."""


def shown(value: Any, width: int = 40) -> str:
    """A value as an error message quotes it: one printable line, cut to ``width``."""
    text = repr(value)
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= width else text[: width - 3] + "..."


def _num(x: float) -> str:
    """A bound as a person reads it (2^63-1, not 9223372036854775807)."""
    if isinstance(x, int) and abs(x) >= 1 << 40:
        p = x.bit_length() - 1
        if x == (1 << (p + 1)) - 1:
            return f"2^{p + 1}-1"
        if x == 1 << p:
            return f"2^{p}"
        if x == -(1 << 63):
            return "-2^63"
    if isinstance(x, float) and x == int(x) and abs(x) < 1e15:
        return f"{int(x)}"
    return f"{x:g}" if isinstance(x, float) else str(x)


class Spec:
    """One value's type and range."""

    def check(self, value: Any, path: str) -> Any:  # the value, converted where the spec converts (sizes)
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def _fail(self, value: Any, path: str, why: str | None = None) -> SchemaError:
        why = why or f"{shown(value)} has the wrong type"
        return SchemaError(f"{path}: {why}; accepted: {self.describe()}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Int(Spec):
    """An integer in [lo, hi]; the defaults are the int64 range every arena word has."""

    lo: int = INT64_MIN
    hi: int = INT64_MAX

    def check(self, value, path):
        if not _is_int(value):
            raise self._fail(value, path)
        if not self.lo <= value <= self.hi:
            raise self._fail(value, path, f"{shown(value)} is out of range")
        return value

    def describe(self):
        return f"an integer {_num(self.lo)}..{_num(self.hi)}"


@dataclass(frozen=True)
class Float(Spec):
    """A finite number in [lo, hi] (an integer is accepted); ``lo_open``: lo itself is refused."""

    lo: float = -1e300
    hi: float = 1e300
    lo_open: bool = False

    def check(self, value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._fail(value, path)
        if isinstance(value, int) and abs(value) > 1 << 1000:  # a float() of it would overflow
            raise self._fail(value, path, f"{shown(value)} is out of range")
        if not math.isfinite(value):
            raise self._fail(value, path, f"{shown(value)} is not a finite number")
        if not (self.lo < value if self.lo_open else self.lo <= value) or value > self.hi:
            raise self._fail(value, path, f"{shown(value)} is out of range")
        return value

    def describe(self):
        left = f"> {_num(self.lo)}" if self.lo_open else f">= {_num(self.lo)}"
        if self.lo <= -1e300:
            return f"a finite number <= {_num(self.hi)}"
        return f"a finite number {left} and <= {_num(self.hi)}" if self.lo_open else \
            f"a finite number {_num(self.lo)}..{_num(self.hi)}"


@dataclass(frozen=True)
class Bool(Spec):
    def check(self, value, path):
        if not isinstance(value, bool):
            raise self._fail(value, path)
        return value

    def describe(self):
        return "true or false"


@dataclass(frozen=True)
class Str(Spec):
    """A printable string of at most ``max_len`` characters, one of ``choices`` if given (a tuple, or
    a function returning one, for names only compiled modules know)."""

    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    max_len: int = TEXT_MAX

    def names(self) -> tuple[str, ...] | None:
        return self.choices() if callable(self.choices) else self.choices

    def check(self, value, path):
        if not isinstance(value, str):
            raise self._fail(value, path)
        names = self.names()
        if names is not None and value not in names:
            raise self._fail(value, path, f"unknown value {shown(value)}")
        if len(value) > self.max_len or not value.isprintable():
            raise self._fail(value, path, f"{shown(value)} is not a short printable string")
        return value

    def describe(self):
        names = self.names()
        return ", ".join(names) if names is not None else f"a printable string of at most {self.max_len} characters"


SIZE_RE = re.compile(r"\s*(\d{1,20})\s*([KMGT]?)(i?B)?\s*", re.IGNORECASE)
SIZE_SCALE = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def size_parse(text: str) -> int | None:
    """'256M', '64K', '1G', '4096' -> bytes; None if it is not a size."""
    m = SIZE_RE.fullmatch(text)
    if not m:
        return None
    return int(m.group(1)) * SIZE_SCALE[m.group(2).upper()]


@dataclass(frozen=True)
class Size(Spec):
    """Bytes: an integer, or a string with a K/M/G/T suffix ('256M'); checked as bytes in [lo, hi]."""

    lo: int = 0
    hi: int = INT64_MAX

    def check(self, value, path):
        if isinstance(value, str):
            v = size_parse(value)
            if v is None:
                raise self._fail(value, path, f"cannot read size {shown(value)}")
            value = v
        elif not _is_int(value):
            raise self._fail(value, path)
        if not self.lo <= value <= self.hi:
            raise self._fail(value, path, f"{value} bytes is out of range")
        return value

    def describe(self):
        return f"bytes {_num(self.lo)}..{_num(self.hi)}, or a size like 256M"


@dataclass(frozen=True)
class Nullable(Spec):
    """``inner``, or null (None): a figure that is genuinely unknown, or a setting left to its default."""

    inner: Spec

    def check(self, value, path):
        return None if value is None else self.inner.check(value, path)

    def describe(self):
        return f"{self.inner.describe()}, or null"


@dataclass(frozen=True)
class List(Spec):
    item: Spec
    min_len: int = 0
    max_len: int = LIST_MAX

    def check(self, value, path):
        if not isinstance(value, (list, tuple)):
            raise self._fail(value, path)
        if not self.min_len <= len(value) <= self.max_len:
            raise self._fail(value, path, f"a list of {len(value)} items")
        return [self.item.check(x, f"{path}[{i}]") for i, x in enumerate(value)]

    def describe(self):
        n = f"{self.min_len}" if self.min_len == self.max_len else f"{self.min_len}..{_num(self.max_len)}"
        return f"a list of {n} items, each {self.item.describe()}"


@dataclass(frozen=True)
class AnyOf(Spec):
    """The first of ``options`` that accepts the value (``--cpus`` in a file: "1-4", 2 or [1, 2])."""

    options: tuple[Spec, ...]

    def check(self, value, path):
        for opt in self.options:
            try:
                return opt.check(value, path)
            except SchemaError:
                continue
        raise self._fail(value, path)

    def describe(self):
        return " | ".join(o.describe() for o in self.options)


@dataclass(frozen=True)
class Table(Spec):
    """A table (JSON object, TOML table) with string keys: ``fields`` each checked where present,
    ``required`` ones present; keys beyond ``fields`` refused unless ``extra`` (results documents
    hold much that no reader uses)."""

    fields: dict[str, Spec]
    required: tuple[str, ...] = ()
    extra: bool = False

    def check(self, value, path):
        if not isinstance(value, dict):
            raise self._fail(value, path)
        for k in value:
            if not isinstance(k, str):
                raise SchemaError(f"{path or 'top level'}: key {shown(k)} is not a string; accepted: {self.describe()}")
        for k in self.required:
            if k not in value:
                raise SchemaError(f"{path + ': ' if path else ''}field {k!r} is missing")
        out = dict(value) if self.extra else {}
        for k, v in value.items():
            spec = self.fields.get(k)
            if spec is None:
                if not self.extra:
                    raise SchemaError(f"{path or 'top level'}: unknown setting {shown(k)}; accepted: "
                                      f"{', '.join(sorted(self.fields))}")
                continue
            out[k] = spec.check(v, f"{path}.{k}" if path else k)
        return out

    def describe(self):
        return "a table of " + ", ".join(sorted(self.fields)) if self.fields else "a table"


def check(spec: Spec, value: Any, path: str, error: type[Exception] = SchemaError) -> Any:
    """``spec.check`` raising ``error`` (ConfigError for settings, ResultsError for files) instead."""
    try:
        return spec.check(value, path)
    except SchemaError as e:
        if error is SchemaError:
            raise
        raise error(str(e)) from None


# ---------------------------------------------------------------------------------------------
# Run settings: every field of config.Config, with the flag that sets it


def _strategy_names() -> tuple[str, ...]:
    from zswap_conc.strategies import STRATEGIES  # the registry lives with the compiled strategies

    return STRATEGIES


def _workload_names() -> tuple[str, ...]:
    from zswap_conc.workload import PRESETS

    return tuple(PRESETS)


NS_MAX = 10**8  # a cost in ns a setting may ask for (0.1 s per page or operation)
SECONDS_MAX = 86400.0  # a measured window
WARMUP_MAX = 3600.0

PERCENT = Float(0.0, 100.0)


@dataclass(frozen=True)
class Setting:
    """One run setting: its spec, and the flag that sets it (named in errors about a flag's value)."""

    spec: Spec
    flag: str


# A Config field's spec.  Profile settings (kernels.PROFILE_SETTINGS) and think_ns may be null in a
# file or before validation: null means "the kernel profile's" (think_ns: "auto").
SETTINGS: dict[str, Setting] = {
    "kernel": Setting(Str(C.PROFILE_NAMES), "--kernel"),
    "strategy": Setting(Str(_strategy_names), "--strategy"),
    "index": Setting(Str(C.INDEX_NAMES), "--index"),
    "buckets": Setting(Int(1, 1 << 16), "--buckets"),
    "cpus": Setting(Int(1, 1024), "--cpus"),
    "duration": Setting(Float(0.0, SECONDS_MAX, lo_open=True), "--duration"),
    "warmup": Setting(Float(0.0, WARMUP_MAX), "--warmup"),
    "swap_types": Setting(Int(1, 32), "--swap-types"),
    "swap_size": Setting(Size(C.PAGE_SIZE * C.CLUSTER_PAGES, 1 << 46), "--swap-size"),
    "clusters_per_cpu": Setting(Int(1, 4096), "--clusters-per-cpu"),
    "allocator": Setting(Str(C.ALLOCATOR_NAMES), "--allocator"),
    "alloc_lock": Setting(Str(C.ALLOC_LOCK_NAMES), "--alloc-lock"),
    "pools": Setting(Int(0, 1024), "--pools"),
    "pool_size": Setting(Size(C.PAGE_SIZE, 64 << 30), "--pool-size"),
    "lock": Setting(Str(C.LOCK_NAMES), "--lock"),
    "lockstat": Setting(Bool(), "--lockstat"),
    "compressor": Setting(Str(("lz4", "zstd", "synthetic")), "--compressor"),
    "synthetic_ns": Setting(Int(0, 10_000_000), "--compressor"),
    "zstd_level": Setting(Int(1, 19), "--zstd-level"),
    "reject_above": Setting(Int(0, 1 << 20), "--reject-above"),
    "mix": Setting(List(Int(0, 100), 3, 3), "--mix"),
    "pages": Setting(Table({"zero": PERCENT, "same": PERCENT, "incompressible": PERCENT}), "--zero-pct"),
    "dup_rate": Setting(Float(0.0, 1.0), "--dup-rate"),
    "think_ns": Setting(Int(0, NS_MAX), "--think-ns"),
    "seed": Setting(Int(0, INT64_MAX), "--seed"),
    "pin": Setting(Bool(), "--no-pin"),
    "rt": Setting(Bool(), "--rt"),
    "ops_per_cpu": Setting(Int(0, 1 << 40), "--ops-per-cpu"),
    "max_pool_frames": Setting(Int(0, 1 << 40), "--max-pool-frames"),
    "max_pool_percent": Setting(PERCENT, "--max-pool-percent"),
    "ram_size": Setting(Size(C.PAGE_SIZE, 1 << 50), "--ram-size"),
    "writeback": Setting(Str(C.WRITEBACK_NAMES), "--writeback"),
    "wb_order": Setting(Str(C.WB_ORDER_NAMES), "--wb-order"),
    "lru": Setting(Str(C.LRU_NAMES), "--lru"),
    "lru_lock": Setting(Str(C.LRU_LOCK_NAMES), "--lru-lock"),
    "free_under_tree": Setting(Str(C.FREE_UNDER_TREE_NAMES), "--free-under-tree"),
    "load": Setting(Str(C.LOAD_NAMES), "--load"),
    "swap_lock": Setting(Str(C.SWAP_LOCK_NAMES), "--swap-lock"),
    "swap_cache_lock": Setting(Str(C.SWAP_CACHE_LOCK_NAMES), "--swap-cache-lock"),
    "frame_depth": Setting(Int(2, C.FRAME_DEPTH_MAX), "--frame-depth"),
    "dev_write_ns": Setting(Int(0, NS_MAX), "--dev-write-ns"),
    "dev_read_ns": Setting(Int(0, NS_MAX), "--dev-read-ns"),
    "protocol": Setting(Str(C.PROTOCOL_NAMES), "protocol"),
    "overrides": Setting(List(Str(max_len=64), 0, 64), "overrides"),
}


def setting_spec(name: str, nullable: bool = False) -> Spec:
    s = SETTINGS[name].spec
    return Nullable(s) if nullable else s


def config_table(nullable: tuple[str, ...] = ()) -> Table:
    """The ``[config]`` table of an experiment file (and ``Config.from_dict``): any run setting;
    ``nullable`` ones may be null."""
    return Table({k: setting_spec(k, k in nullable) for k in SETTINGS})


# ---------------------------------------------------------------------------------------------
# Experiment files (``sweep --config FILE``): the top level; ``config`` is the table above

CPU_COUNT = Int(1, 4096)
EXPERIMENT = Table({
    "strategies": AnyOf((Str(), List(Str(max_len=80), 1, 256))),
    "cpus": AnyOf((Str(max_len=200), CPU_COUNT, List(CPU_COUNT, 1, 4096))),
    "repeats": Int(1, 100),
    "duration": SETTINGS["duration"].spec,
    "warmup": SETTINGS["warmup"].spec,
    "workload": Str(_workload_names),
    "compressor": Str(max_len=40),
    "swap_types": SETTINGS["swap_types"].spec,
    "out": Str(),
    "oversubscribe": Bool(),
    "kernel": SETTINGS["kernel"].spec,
    "kernels": AnyOf((Str(max_len=200), List(Str(max_len=40), 1, 64))),
    "config": Table({}, extra=True),  # checked as config_table() by experiment_build, with its own path
})

# lockbench's shape (LockbenchConfig): times in ns
HOLD_MAX_NS = 1e9  # a hold over a second is not a spinlock
OUTSIDE_MAX_NS = 1e9
DISTS = ("exponential", "fixed")
LOCKBENCH = Table({
    "hold_ns": Float(0.0, HOLD_MAX_NS),
    "outside_ns": Float(0.0, OUTSIDE_MAX_NS),
    "locks": Int(1, 1 << 16),
    "lock": Str(C.LOCK_NAMES),
    "dist": Str(DISTS),
    "cpus": Int(1, 1024),
    "duration": SETTINGS["duration"].spec,
    "warmup": SETTINGS["warmup"].spec,
    "pin": Bool(),
    "rt": Bool(),
    "seed": SETTINGS["seed"].spec,
    "ops_per_cpu": SETTINGS["ops_per_cpu"].spec,
    "lockstat": Bool(),
})
LOCKBENCH_FLAGS = {"hold_ns": "--hold-ns", "outside_ns": "--outside-ns", "locks": "--locks", "lock": "--lock",
                   "dist": "--dist", "cpus": "--cpus", "duration": "--duration", "warmup": "--warmup",
                   "seed": "--seed"}

# ---------------------------------------------------------------------------------------------
# Results documents: the fields readers use, by kind (``extra``: the rest is not read)

COUNT = Int(0, INT64_MAX)  # an event count
RATE = Float(0.0, 1e15)  # ops/s and the like
SHARE = Float(0.0, 2.0)  # a share of CPU time: at most 1, plus a wait begun in the warm-up
FRACTION = Float(0.0, 1.0)  # events per event: contentions per acquisition
NS = Float(0.0, 1e15)  # a time in ns
TEXT = Str()

META = Table({  # a prediction from parameters alone was made on no machine: its machine fields are null
    "cpu_model": Nullable(TEXT), "machine": Nullable(TEXT),
    "cores_allowed": Nullable(Int(1, 1 << 20)), "cores_online": Nullable(Int(1, 1 << 20)),
    "oversubscribed": Bool(), "pinned": Nullable(Bool()), "git_revision": Nullable(TEXT),
    "loadavg_start": Nullable(List(Float(0.0, 1e9), 3, 3)), "loadavg_end": Nullable(List(Float(0.0, 1e9), 3, 3)),
    "cycles_per_ns": Float(0.0, 1e6, lo_open=True),
}, extra=True)

RESULT_CONFIG = Table({  # a run's config as recorded: the fields readers label and compare by
    "strategy": Nullable(TEXT), "swap_types": Int(1, 32), "cpus": Int(1, 1 << 20), "kernel": TEXT,
    "compressor": TEXT, "synthetic_ns": Int(0, INT64_MAX), "allocator": Nullable(TEXT), "lock": TEXT,
    "overrides": List(Str(max_len=64), 0, 64), "lockstat": Bool(), "writeback": Nullable(TEXT),
    "buckets": Int(1, 1 << 16), "pools": Nullable(Int(0, 1024)), "swap_size": Int(0, INT64_MAX),
    "clusters_per_cpu": Int(1, 4096), "duration": Float(0.0, SECONDS_MAX), "warmup": Float(0.0, WARMUP_MAX),
    "think_ns": Nullable(Int(0, INT64_MAX)),
}, extra=True)

LOCK_ROW = Table({
    "class": Str(max_len=64), "acquisitions": COUNT, "contentions": COUNT, "con-bounces": COUNT,
    "acq-bounces": COUNT, "waittime-min": NS, "waittime-max": NS, "waittime-total": NS, "waittime-avg": NS,
    "holdtime-min": NS, "holdtime-max": NS, "holdtime-total": NS, "holdtime-avg": NS, "handoff-avg": NS,
    "handoff-max": NS,
}, required=("class", "acquisitions", "contentions", "waittime-total", "holdtime-total", "holdtime-avg"),
    extra=True)

THROUGHPUT = Table({"ops_s": RATE, "per_cpu_ops_s": List(RATE)}, required=("ops_s",), extra=True)
CONTENTION = Table({"wait_share": Nullable(SHARE), "contentions_per_acquisition": Nullable(FRACTION),
                    "acquisitions_per_op": Nullable(Float(0.0, 1e9))},
                   required=("wait_share", "contentions_per_acquisition"), extra=True)
INTEGRITY = Table({
    "verified": COUNT, "mismatches": COUNT, "load_mismatches": COUNT, "tree_error": Int(), "pool_error": Int(),
    "accounting_ok": Bool(), "leaked_entries": COUNT, "lru_error": Int(), "frames_counter_ok": Bool(),
}, required=("mismatches", "load_mismatches", "tree_error", "pool_error", "accounting_ok", "leaked_entries"),
    extra=True)
DISTURBANCE = Table({"disturbed": Bool(), "reasons": List(Str(max_len=400), 0, 64)},
                    required=("disturbed", "reasons"), extra=True)
SAMPLE = Table({"t": Float(0.0, 1e9), "ops_s": List(RATE, 0, 1 << 16)}, required=("t", "ops_s"), extra=True)

RUN_MEASURED = {  # what a complete run holds, as a run document and as a sweep's run entry
    "seconds": Float(0.0, 1e9, lo_open=True), "throughput": THROUGHPUT, "contention": CONTENTION,
    "lock_stat": List(LOCK_ROW, 0, 64), "integrity": INTEGRITY, "samples": List(SAMPLE),
    "disturbance": DISTURBANCE,
}
RUN_REQUIRED = ("seconds", "throughput", "contention", "lock_stat", "integrity")

SWEEP_RUN = Table({
    "variant": Str(max_len=80), "strategy": Str(max_len=80), "swap_types": Int(1, 32), "cpus": CPU_COUNT,
    "repeat": Int(0, 1000), "oversubscribed": Bool(), "pinned": Nullable(Bool()), **RUN_MEASURED,
}, required=("variant", "strategy", "swap_types", "cpus", "repeat", *RUN_REQUIRED), extra=True)

ENVELOPE = {"schema": Str(("zswap-conc",)), "format_version": Int(0, 1 << 20), "kind": Str(max_len=40),
            "complete": Bool(), "meta": META, "stopped_by": Nullable(Str(max_len=1000))}

SWEEP_DOC = Table({
    **ENVELOPE,
    "experiment": Table({"variants": List(Str(max_len=80), 0, 256), "base_config": RESULT_CONFIG,
                         "workload": Nullable(TEXT), "repeats": Int(1, 100)}, required=("variants", "base_config"),
                        extra=True),
    "runs": List(SWEEP_RUN),
}, required=("meta", "experiment", "runs"), extra=True)

RUN_DOC = Table({**ENVELOPE, "config": RESULT_CONFIG, **RUN_MEASURED},
                required=("meta", "config", *RUN_REQUIRED), extra=True)
RUN_PARTIAL = Table({**ENVELOPE, "config": RESULT_CONFIG, "samples": List(SAMPLE)}, required=("meta", "config"),
                    extra=True)  # a run that ended early: what it measured before

LOCKBENCH_RUN = Table({
    "cpus": CPU_COUNT, "repeat": Int(0, 1000), "oversubscribed": Bool(), "seconds": Float(0.0, 1e9, lo_open=True),
    "throughput": THROUGHPUT,
    "contention": Table({"wait_share": SHARE, "contentions_per_acquisition": FRACTION,
                         "acquisitions_per_op": Float(0.0, 1e9)},
                        required=("wait_share", "contentions_per_acquisition"), extra=True),
    "handoff": Table({"avg_ns": NS, "max_ns": NS, "samples": COUNT}, required=("avg_ns", "samples"), extra=True),
    "lock_stat": List(LOCK_ROW, 1, 64),
    "integrity": Table({"acquisitions": COUNT, "guarded": COUNT, "lost_updates": Int()}, required=("lost_updates",),
                       extra=True),
    "disturbance": DISTURBANCE,
}, required=("cpus", "seconds", "throughput", "contention", "handoff", "lock_stat", "integrity"), extra=True)

LOCKBENCH_DOC = Table({
    **ENVELOPE,
    "config": Table({**{k: LOCKBENCH.fields[k] for k in ("hold_ns", "outside_ns", "locks", "lock", "dist")}},
                    required=("hold_ns", "outside_ns", "locks", "lock"), extra=True),
    "runs": List(LOCKBENCH_RUN),
}, required=("meta", "config", "runs"), extra=True)

PREDICTED_POINT = Table({
    "cpus": CPU_COUNT, "ops_s": RATE, "linear": RATE, "speedup": Float(0.0, 1e9), "efficiency": Float(0.0, 1e9),
    "wait_share": SHARE, "contentions_per_acquisition": FRACTION,
}, required=("cpus", "ops_s", "linear", "speedup", "efficiency", "wait_share", "contentions_per_acquisition"),
    extra=True)
PREDICTION_DOC = Table({
    **ENVELOPE,
    "inputs": Table({"source": TEXT, "config": Table({}, extra=True),
                     "calibration": Nullable(Table({"handoff_ns": NS, "source": TEXT}, extra=True))},
                    required=("source",), extra=True),
    "model": Table({}, extra=True),
    "cpus": List(CPU_COUNT),
    "variants": List(Table({
        "variant": Str(max_len=80), "strategy": Nullable(Str(max_len=80)), "swap_types": Int(1, 32),
        "from_cpus": CPU_COUNT, "peak_cpus": Nullable(CPU_COUNT), "peak_ops_s": Nullable(RATE),
        "saturation_cpus": Nullable(CPU_COUNT), "points": List(PREDICTED_POINT),
    }, required=("variant", "points"), extra=True), 0, 256),
}, required=("meta", "inputs", "model", "variants"), extra=True)

RECLAIM_DOC = Table({**ENVELOPE, "curves": List(Table({}, extra=True))}, required=("meta", "curves"), extra=True)

RESULTS = {"sweep": SWEEP_DOC, "run": RUN_DOC, "lockbench": LOCKBENCH_DOC, "prediction": PREDICTION_DOC,
           "reclaim": RECLAIM_DOC}


def results_spec(doc: dict) -> Spec | None:
    """The spec of a results document by its kind (an incomplete run: what it kept); None for a kind
    no reader here knows (the reader refuses it by name)."""
    kind = doc.get("kind")
    if kind == "run" and doc.get("complete") is False and "throughput" not in doc:
        return RUN_PARTIAL
    return RESULTS.get(kind) if isinstance(kind, str) else None


def finite_or_none(x: float | None) -> float | None:
    """``x`` if it is a finite number, else None: the JSON null of an unknown figure."""
    return x if x is not None and isinstance(x, (int, float)) and math.isfinite(x) else None
