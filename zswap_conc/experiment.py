"""What a sweep runs: the variants (strategy x swap types), the CPU counts, the repeats and the
base configuration, from command-line flags or an experiment TOML file.

A variant is written ``STRATEGY[:N][@WRITEBACK]`` (N swap types, CPUs spread over them; a writeback
path), so ``per-swaptype:4`` is the 2012 design with four swap devices and
``per-swaptype@recursive`` the 2012 writeback under pool pressure (with a pool limit set); or
``kernel=PROFILE[@WRITEBACK]``, a whole release's design (its strategy, allocator, locks, LRU and
writeback order) on the same workload.  The built-in default answers the review's scalability
question: every strategy, plus the 2012 design with four devices.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from zswap_conc.config import Config, ConfigError, parse_compressor, validate
from zswap_conc.kernels import PROFILE_NAMES
from zswap_conc.results.sweep import variant_label
from zswap_conc.strategies import STRATEGIES
from zswap_conc.workload import PRESETS

# per-swaptype with one swap type is global's design (one tree, one tree_lock): measured once
DEFAULT_VARIANTS = ("global", "per-swaptype:4", "hashed", "split64m")
DEFAULT_REPEATS = 4  # 4 runs a side is the fewest for which compare's rank test can give a verdict
DEFAULT_DURATION = 1.5  # seconds per point: the default sweep must finish in about 2 minutes
DEFAULT_WARMUP = 0.3


@dataclass(frozen=True)
class Variant:
    """One curve of the sweep."""

    strategy: str  # "" for a kernel variant: its profile's
    swap_types: int
    writeback: str | None = None  # None: the base configuration's
    kernel: str | None = None  # a profile: every setting not given explicitly is its

    @property
    def label(self) -> str:
        if self.kernel is not None:
            return variant_label(f"kernel={self.kernel}", self.swap_types, self.writeback)
        return variant_label(self.strategy, self.swap_types, self.writeback)


def variant_parse(text: str, default_types: int = 1) -> Variant:
    from zswap_conc.config import WRITEBACK_NAMES

    text, _, wb = text.strip().partition("@")
    if wb and wb not in WRITEBACK_NAMES:
        raise ConfigError(f"--strategies: unknown writeback path {wb!r} in {text}@{wb}; accepted: "
                          f"{', '.join(WRITEBACK_NAMES)}")
    if text.startswith("kernel="):
        from zswap_conc.kernels import PROFILE_NAMES

        kernel, _, types = text[len("kernel="):].partition(":")
        if kernel not in PROFILE_NAMES:
            raise ConfigError(f"--strategies: unknown profile in {text!r}; accepted: kernel=PROFILE with PROFILE "
                              f"one of {', '.join(PROFILE_NAMES)}")
        n = int(types) if types.isdigit() else 0 if types else default_types
        if not 1 <= n <= 32:
            raise ConfigError(f"--strategies: {text!r}: swap types must be 1..32, e.g. kernel=6.11:4")
        return Variant("", n, wb or None, kernel)
    name, _, types = text.partition(":")
    if name not in STRATEGIES:
        raise ConfigError(f"--strategies: unknown strategy {name!r}; accepted: {', '.join(STRATEGIES)} "
                          f"(optionally :N for N swap types)")
    if types:
        try:
            n = int(types)
        except ValueError:
            n = 0
        if not 1 <= n <= 32:
            raise ConfigError(f"--strategies: {text!r}: swap types must be 1..32, e.g. per-swaptype:4")
        return Variant(name, n, wb or None)
    return Variant(name, default_types, wb or None)


@dataclass(frozen=True)
class Experiment:
    variants: tuple[Variant, ...]
    cpus: tuple[int, ...]
    repeats: int
    base: Config
    workload: str = "thrash"
    oversubscribe: bool = False
    source: dict = field(default_factory=dict)  # the experiment file's settings, as read
    given: Config | None = None  # the base before validation: what a kernel variant starts from

    def configs(self):
        """(repeat, variant, cpus, config) in run order: repeats outermost, then CPU counts, then
        variants, so variants interleave (A B C D A B C D ...) and drift hits them all alike."""
        for rep in range(self.repeats):
            for n in self.cpus:
                for v in self.variants:
                    yield rep, v, n, self.variant_config(v, n)

    def variant_config(self, v: Variant, cpus: int) -> Config:
        if v.kernel is not None:
            # the settings as given (not the base profile's, nor what validation derived from them),
            # with the base's think time: every variant does the same work between operations
            c = (self.given or self.base).replace(kernel=v.kernel, swap_types=v.swap_types, cpus=cpus,
                                                  think_ns=self.base.think_ns)
            if v.writeback is not None:
                c = c.replace(writeback=v.writeback)
            return validate(c)
        c = self.base.replace(strategy=v.strategy, swap_types=v.swap_types, cpus=cpus)
        return c if v.writeback is None else c.replace(writeback=v.writeback)

    def duplicates(self) -> list[tuple[str, str]]:
        """Pairs of variants that measure the same design (the same run configuration)."""
        seen: dict = {}
        pairs = []
        for v in self.variants:
            key = dataclasses.replace(self.variant_config(v, 1), overrides=())
            if key in seen:
                pairs.append((seen[key], v.label))
            else:
                seen[key] = v.label
        return pairs

    def to_dict(self) -> dict:
        return {
            "variants": [v.label for v in self.variants],
            "cpus": list(self.cpus),
            "repeats": self.repeats,
            "workload": self.workload,
            "oversubscribe": self.oversubscribe,
            "base_config": self.base.to_dict(),
            "source": self.source,
        }


CPUS_MAX = 4096  # CPU counts a sweep or lockbench may list (oversubscribed beyond the cores)


def cpus_parse(text: str) -> tuple[int, ...]:
    """'1,2,4,8' or '1-16' -> CPU counts, each 1..CPUS_MAX."""
    out: set[int] = set()
    try:
        for part in str(text).split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(x) for x in part.split("-", 1))
                if not 1 <= lo <= hi <= CPUS_MAX:
                    raise ValueError
                out.update(range(lo, hi + 1))
            elif part:
                out.add(int(part))
    except ValueError:
        raise ConfigError(f"--cpus: cannot read {str(text)[:40]!r}; give counts 1..{CPUS_MAX} like 1,2,4,8 or a "
                          f"range 1-16") from None
    if not out or min(out) < 1 or max(out) > CPUS_MAX:
        raise ConfigError(f"--cpus: {str(text)[:40]!r} must list CPU counts 1..{CPUS_MAX}, e.g. 1,2,4 or 1-16")
    return tuple(sorted(out))


def toml_load(path: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise ConfigError(f"--config: cannot read {path} ({e.strerror})") from None
    except (ValueError, RecursionError) as e:  # TOMLDecodeError, or bytes that are not UTF-8
        raise ConfigError(f"--config: {path} is not valid TOML ({str(e)[:120]})") from None


def experiment_build(flags: dict, file_settings: dict | None = None, config_flags: dict | None = None) -> Experiment:
    """Combine an experiment file's settings with flags given explicitly (flags win).  Every value of
    the file is checked against ``schema.EXPERIMENT`` and its ``[config]`` table against the run
    settings first, including the ones a flag then overrides; ``config_flags`` are run settings given
    as flags (already parsed)."""
    from zswap_conc.config import NONE_MEANS_PROFILE
    from zswap_conc.schema import EXPERIMENT, SchemaError, config_table

    try:
        s = EXPERIMENT.check(dict(file_settings or {}), "")
        file_config = config_table(nullable=NONE_MEANS_PROFILE).check(s.get("config", {}), "config")
    except SchemaError as e:
        raise ConfigError(f"--config: {e}") from None
    s.update({k: v for k, v in flags.items() if v is not None and k != "config"})
    base_over = {**file_config, **(flags.get("config") or {}), **(config_flags or {})}
    if "kernel" in s:
        base_over["kernel"] = s["kernel"]
    base = Config.from_dict(base_over, "config")
    workload = s.get("workload", "thrash")
    if workload not in PRESETS:
        raise ConfigError(f"--workload: unknown workload {workload!r}; accepted: {', '.join(PRESETS)}")
    changes: dict = {"mix": PRESETS[workload]}
    if "compressor" in s:
        name, ns = parse_compressor(s["compressor"])
        changes.update(compressor=name, synthetic_ns=ns)
    changes["duration"] = float(s.get("duration", DEFAULT_DURATION))
    changes["warmup"] = float(s.get("warmup", DEFAULT_WARMUP))
    base = base.replace(**changes)
    default_types = int(s.get("swap_types", 1))
    kernels = s.get("kernels")
    if isinstance(kernels, str):
        kernels = list(PROFILE_NAMES) if kernels.strip() == "all" else [x for x in kernels.split(",") if x.strip()]
    strategies = s.get("strategies", () if kernels else DEFAULT_VARIANTS)
    if isinstance(strategies, str):
        strategies = [x for x in strategies.split(",") if x.strip()]
    strategies = list(strategies) + [f"kernel={k.strip()}" for k in kernels or ()]
    if not strategies:
        raise ConfigError("--strategies: the list is empty; accepted: " + ", ".join(STRATEGIES))
    variants = tuple(dict.fromkeys(variant_parse(x, default_types) for x in strategies))
    cores = len(os.sched_getaffinity(0))
    cpus_raw = s.get("cpus")
    if cpus_raw is None:
        cpus = tuple(range(1, cores + 1))
    elif isinstance(cpus_raw, list):
        cpus = cpus_parse(",".join(str(x) for x in cpus_raw))
    else:
        cpus = cpus_parse(str(cpus_raw))
    oversub = bool(s.get("oversubscribe", False))
    if max(cpus) > cores and not oversub:
        raise ConfigError(f"--cpus: {max(cpus)} exceeds the {cores} cores available; accepted: 1..{cores}, "
                          f"or add --oversubscribe to measure beyond them (marked in the results)")
    repeats = int(s.get("repeats", DEFAULT_REPEATS))
    if not 1 <= repeats <= 100:
        raise ConfigError(f"--repeats: {repeats} is out of range; accepted: 1..100")
    exp = Experiment(variants=variants, cpus=cpus, repeats=repeats, base=validate(base.replace(cpus=1)),
                     workload=workload, oversubscribe=oversub, source=file_settings or {}, given=base)
    for v in variants:  # every point must be a valid run before anything starts
        for n in cpus:
            validate(exp.variant_config(v, n))
    return exp
