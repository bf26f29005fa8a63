"""One `Settings` object from the command line and `[tool.llmperf]`; the command line wins.

Each field declared with `option()` is an option (options.py): its key, flag, parser,
default and help live on that one line. Per-model settings (dtype, prices, API-key
variable, tokenizer) are one `PerModelOptions` per role, built once from the option fields;
each model's `ModelSpec` carries its role's, so nothing downstream asks "which role is this?".
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from pytest_llmperf.errors import BudgetError, ConfigError
from pytest_llmperf.files import check_writable_directory, check_writable_file
from pytest_llmperf.limits import ACCURACY_TESTS, MODES, parse_limits
from pytest_llmperf.redaction import MIN_KEY, add_secret, redact
from pytest_llmperf.results import Pricing
from pytest_llmperf.settings import lineup, parsers
from pytest_llmperf.settings.endpoint_spec import EndpointSpec, is_endpoint, parse_endpoint
from pytest_llmperf.settings.options import Option, option, options_of
from pytest_llmperf.settings.outputs import resolve_output
from pytest_llmperf.text import shown_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

LATENCY_STATISTICS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
DTYPES = ("auto", "float32", "float16", "bfloat16")
HARDWARE_MISMATCH_POLICIES = ("warn", "fail")
INCONCLUSIVE_RULES = ("report", "estimate", "pass", "fail")
ADAPTER_MODES = ("unmerged", "merged")
LIVE_BASELINE_RULES = ("always", "auto", "never")


@dataclass(frozen=True)
class PerModelOptions:
    """The settings a model has of its own: given per role (--llm-baseline-dtype, ...), each
    falling back to the setting of every model (--llm-dtype, ...)."""

    dtype: str = "auto"
    pricing: Pricing = field(default_factory=Pricing)  # prices every result the model gives
    api_key_env: str | None = None  # NAME of the variable holding an endpoint's key
    tokenizer: str | None = None  # counts an endpoint's tokens when the server reports none


@dataclass(frozen=True)
class ModelSpec:
    """A model as the user named it (a hub id, a checkpoint directory relative to
    `base_dir`, or an endpoint), with the settings that are its own."""

    name: str
    base_dir: Path
    role: str = "candidate"
    options: PerModelOptions = field(default_factory=PerModelOptions)
    adapter_base: ModelSpec | None = None  # base of a PEFT adapter, when not its own record
    adapter_mode: str = "unmerged"
    candidate_name: str = ""  # a candidate's name in test ids and the ranking

    @property
    def flag(self) -> str:
        """The option that named it, for messages: '--llm-baseline' or '--llm-candidate'."""
        return f"--llm-{self.role}"

    @property
    def endpoint(self) -> EndpointSpec | None:
        """The OpenAI-compatible server the name points at (MODEL@URL or URL), else None."""
        return parse_endpoint(self.name, where="model")

    @property
    def local_path(self) -> Path | None:
        """The checkpoint directory the name points at (or looks like), else None: a hub id."""
        if is_endpoint(self.name):
            return None
        path = Path(self.name).expanduser()
        if not path.is_absolute():
            path = self.base_dir / path
        if path.exists() or _looks_like_path(self.name):
            return path
        return None


def same_model(a: ModelSpec, b: ModelSpec) -> bool:
    """Whether two specs name one model: one checkpoint directory however its path is
    written, else the same hub id or endpoint."""
    path_a, path_b = a.local_path, b.local_path
    if path_a is not None and path_b is not None:
        return path_a.resolve() == path_b.resolve()
    return path_a is None and path_b is None and a.name == b.name


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


_MODEL = "hub id, checkpoint directory, or MODEL@http://HOST:PORT/v1"
_DTYPE_CHOICES = "auto|float32|float16|bfloat16"


@dataclass(frozen=True)
class Settings:
    """Everything the plugin was told, validated and typed."""

    baseline: ModelSpec | None = option(
        None, f"baseline model: {_MODEL}", parse=parsers.model_name, in_report=True
    )
    candidate: ModelSpec | None = option(
        None,
        f"candidate model: {_MODEL}; give it more than once (or a list in [tool.llmperf]) to "
        "judge every test per candidate against the same baseline; NAME=MODEL names one "
        "(else it is named by its directory)",
        parse=lineup.entries,
        repeatable=True,
        in_report=True,
    )
    candidates: tuple[str, ...] | None = option(
        None,
        "candidates by glob, e.g. runs/sft/checkpoint-* (every checkpoint of a training run, "
        "in step order); also a list of NAME=MODEL or globs",
        parse=lineup.entries,
        repeatable=True,
        default_text="none",
    )
    rank_by: tuple[tuple[str, str], ...] = option(
        (("max", "accuracy"), ("min", "cost"), ("min", "latency")),
        "how the session's ranking picks the best of the candidates that pass every limit: "
        "figures in order of importance, each max: or min:, the next deciding ties",
        parse=parsers.rank_rule,
        in_report=True,
        default_text="max:accuracy,min:cost,min:latency",
    )
    update: bool = option(
        False,
        "write or refresh the .llmperf/ snapshots from the baseline's measurements",
        parse=parsers.boolean,
        switch=True,
        in_report=True,
    )
    remove_unused: bool = option(
        False,
        "with --llm-update: delete the snapshots whose tests are gone",
        parse=parsers.boolean,
        switch=True,
    )
    snapshot_dir: Path = option(
        Path(".llmperf"),
        "snapshot directory",
        parse=parsers.directory,
        key="dir",
        default_text=".llmperf under the rootdir",
    )
    device: str = option("auto", "auto|cpu|cuda[:N]|mps", parse=parsers.device, in_report=True)
    threads: str | int = option(
        "auto",
        "CPU threads of in-process models (torch.set_num_threads), recorded with snapshots; "
        "auto: on a CPU device, all cores but one, shared among xdist workers, so that a "
        "busy neighbour does not stall every thread; elsewhere torch's own default",
        parse=parsers.threads,
        in_report=True,
    )
    dtype: str = option(
        "auto",
        f"{_DTYPE_CHOICES} (auto: the checkpoint's own)",
        parse=parsers.choice(DTYPES),
        in_report=True,
    )
    repeats: int = option(5, "measured runs per prompt", parse=parsers.positive_int, in_report=True)
    warmup: int = option(
        1, "warm-up runs before measuring", parse=parsers.non_negative_int, in_report=True
    )
    max_new_tokens: int = option(
        32,
        "max_new_tokens of every generate call unless a test sets it",
        parse=parsers.positive_int,
        in_report=True,
    )
    latency_statistic: str = option(
        "p95",
        "p50|p90|p95|p99 used by the latency_ms and ttft_ms SLAs",
        parse=parsers.choice(tuple(LATENCY_STATISTICS)),
        in_report=True,
    )
    price_input_per_1m: float = option(
        0.0,
        "US dollars per 1M input tokens, for cost limits",
        parse=parsers.price,
        flag="--llm-price-input",
    )
    price_output_per_1m: float = option(
        0.0,
        "US dollars per 1M output tokens, for cost limits",
        parse=parsers.price,
        flag="--llm-price-output",
    )
    seed: int = option(
        0,
        "seed of the run order and of sampling",
        parse=parsers.seed,
        in_report=True,
    )
    trust_remote_code: bool = option(
        False,
        "allow models with custom code",
        parse=parsers.boolean,
        switch=True,
    )
    hardware_mismatch: str = option(
        "warn",
        "warn|fail when a snapshot's hardware differs",
        parse=parsers.choice(HARDWARE_MISMATCH_POLICIES),
        in_report=True,
    )
    eval_limit: int | None = option(
        None,
        "at most this many items of every eval set a test passes to generate(): a seeded "
        "random subsample (the seed of load_eval), unless the test's own limit is smaller",
        parse=parsers.positive_int,
        in_report=True,
        default_text="all items",
    )
    scorer_timeout_s: float = option(
        10.0,
        "seconds a scorer may take on one answer before the test fails naming it",
        parse=parsers.seconds,
        in_report=True,
    )
    mode: str = option(
        "natural",
        "natural (stop at end of sequence) | fixed_length (min_new_tokens = max_new_tokens)",
        parse=parsers.choice(MODES),
        in_report=True,
    )
    false_failure_rate: float = option(
        0.05,
        "chance of failing a good candidate, across the session",
        parse=parsers.fraction(0.0001, 0.5),
        in_report=True,
    )
    sla_false_pass_rate: float = option(
        0.05,
        "chance that a percentile SLA (latency_ms on p95) passes a model that is over it; "
        "the fewest runs that can pass a p95 SLA are 59 at 0.05, 90 at 0.01",
        parse=parsers.fraction(0.0001, 0.5),
        in_report=True,
    )
    noise_floor: float = option(
        0.01,
        "relative change below which nothing counts",
        parse=parsers.fraction(0.0, 0.5),
        in_report=True,
    )
    max_pairs: int = option(
        320,
        "most runs per model a timing decision may take",
        parse=parsers.positive_int,
        in_report=True,
    )
    max_seconds: float = option(
        60.0,
        "most seconds a test may spend on extra runs",
        parse=parsers.seconds,
        in_report=True,
    )
    inconclusive: str = option(
        "report",
        "report|estimate|pass|fail: a timing verdict still inconclusive at the cap is "
        "reported as such (the test passes with a warning), or decided by its point estimate, "
        "or passed, or failed",
        parse=parsers.choice(INCONCLUSIVE_RULES),
        in_report=True,
    )
    accuracy_test: str = option(
        "paired",
        "paired|exact: quality limits (accuracy_drop, accuracy_gain, min_accuracy) are decided "
        "on an interval over the questions, answers paired by question (paired), or on the "
        "accuracies as measured, where one flipped answer decides (exact)",
        parse=parsers.choice(ACCURACY_TESTS),
        in_report=True,
    )
    instance_spread: float = option(
        0.03,
        "how far two copies of one in-process model may run apart by where their weights lie "
        "in memory: the standard deviation of their log latency ratio per placement (0.03: "
        "about 3%); live pairs place both models' weights afresh before every pass over the "
        "prompts and widen timing ratios by 3.1 times this over the root of the passes "
        "(4.2% at 5 passes, 2.1% at 20), so that no placement alone fails or passes a "
        "candidate; 0: no allowance",
        parse=parsers.fraction(0.0, 0.5),
        in_report=True,
    )
    snapshot_shift: float = option(
        0.25,
        "how far a snapshot's timings may shift between the recording process and a later "
        "one on the same machine (0.25: 25%); timing ratios against a snapshot are widened "
        "by it on each side, so that no shift alone fails or passes a candidate",
        parse=parsers.fraction(0.0, 1.0),
        in_report=True,
    )
    live_baseline: str = option(
        "always",
        "always|auto|never: timing ratios against a snapshot are judged in alternating pairs "
        "with the snapshot's baseline model, loaded here when it can be: every one (always), "
        "only those the snapshot did not pass (auto: faster, but trusts a pass that a busy "
        "machine at recording time can make wrong), or none (never: left inconclusive)",
        parse=parsers.choice(LIVE_BASELINE_RULES),
        in_report=True,
    )
    baseline_dtype: str | None = option(
        None,
        f"{_DTYPE_CHOICES} of the baseline",
        parse=parsers.choice(DTYPES),
        in_report=True,
        default_text="--llm-dtype",
    )
    candidate_dtype: str | None = option(
        None,
        f"{_DTYPE_CHOICES} of the candidate",
        parse=parsers.choice(DTYPES),
        in_report=True,
        default_text="--llm-dtype",
    )
    adapter_base: ModelSpec | None = option(
        None,
        "base model of a PEFT adapter",
        parse=parsers.model_name,
        default_text="its adapter_config.json's own record",
    )
    adapter_mode: str = option(
        "unmerged",
        "unmerged|merged: judge a PEFT adapter as served, or merged",
        parse=parsers.choice(ADAPTER_MODES),
        in_report=True,
    )
    baseline_price_input_per_1m: float | None = option(
        None,
        "the baseline's own input price",
        parse=parsers.price,
        flag="--llm-baseline-price-input",
        default_text="price_input_per_1m",
    )
    baseline_price_output_per_1m: float | None = option(
        None,
        "the baseline's own output price",
        parse=parsers.price,
        flag="--llm-baseline-price-output",
        default_text="price_output_per_1m",
    )
    candidate_price_input_per_1m: float | None = option(
        None,
        "the candidate's own input price",
        parse=parsers.price,
        flag="--llm-candidate-price-input",
        default_text="price_input_per_1m",
    )
    candidate_price_output_per_1m: float | None = option(
        None,
        "the candidate's own output price",
        parse=parsers.price,
        flag="--llm-candidate-price-output",
        default_text="price_output_per_1m",
    )
    requests_per_month: int = option(
        0,
        "request volume, for a projected monthly cost (0: none)",
        parse=parsers.non_negative_int,
        in_report=True,
    )
    report: Path | None = option(
        None,
        "write a JSON report of every judged test to this file (docs/report-schema.md)",
        parse=parsers.file_path,
    )
    markdown: Path | None = option(
        None,
        "write the report as Markdown, for a pull-request comment, to this file",
        parse=parsers.file_path,
    )
    plots: Path | None = option(
        None,
        "write latency and trade-off PNGs and an index.html to this directory (matplotlib)",
        parse=parsers.directory,
    )
    history: Path | None = option(
        None,
        "append each judged run's JSON report to this directory, named by time and git "
        "commit; see the trend with: python -m pytest_llmperf.report.trend DIR",
        parse=parsers.directory,
    )
    benchmark_json: Path | None = option(
        None,
        "write pytest-benchmark JSON to this file (or storage directory if DIR/)",
        parse=parsers.file_path,
    )
    api_key_env: str | None = option(
        None,
        "NAME of the environment variable holding endpoint models' API key",
        parse=parsers.env_name,
        secret=True,
    )
    baseline_api_key_env: str | None = option(
        None,
        "the baseline endpoint's own API key variable",
        parse=parsers.env_name,
        secret=True,
        default_text="api_key_env",
    )
    candidate_api_key_env: str | None = option(
        None,
        "the candidate endpoint's own API key variable",
        parse=parsers.env_name,
        secret=True,
        default_text="api_key_env",
    )
    request_timeout_s: float = option(
        60.0,
        "seconds an endpoint request may take before it fails",
        parse=parsers.seconds,
        flag="--llm-request-timeout",
    )
    baseline_tokenizer: str | None = option(
        None,
        "tokenizer (hub id or dir) counting a baseline endpoint's tokens",
        parse=parsers.model_name,
    )
    candidate_tokenizer: str | None = option(
        None,
        "tokenizer (hub id or dir) counting a candidate endpoint's tokens",
        parse=parsers.model_name,
    )
    benchmark_storage: bool = False  # benchmark_json is a pytest-benchmark storage directory
    rootdir: Path = Path(".")  # pytest's rootdir: snapshots name local models relative to it
    default_limits: tuple[tuple[str, float], ...] = ()  # [tool.llmperf.budget]
    lineup: tuple[ModelSpec, ...] = ()  # every candidate, named; `candidate` is the first

    @property
    def several_candidates(self) -> bool:
        return len(self.lineup) > 1

    @cached_property
    def baseline_candidates(self) -> frozenset[str]:
        """Names of the candidates that are the baseline model itself (a glob over the
        training run's checkpoints that matches the baseline's own directory): ranked as
        the baseline, never recommended."""
        if self.baseline is None or not self.several_candidates:
            return frozenset()
        baseline = self.baseline
        return frozenset(spec.candidate_name for spec in self.lineup if same_model(spec, baseline))

    @property
    def latency_percentile(self) -> float:
        return LATENCY_STATISTICS[self.latency_statistic]

    @cached_property
    def per_model(self) -> dict[str, PerModelOptions]:
        """Each role's own settings, built once; also for a role no model was given (a
        snapshot's baseline is priced from the baseline's)."""
        return {
            "baseline": self._own_options(
                self.baseline_dtype,
                self.baseline_price_input_per_1m,
                self.baseline_price_output_per_1m,
                self.baseline_api_key_env,
                self.baseline_tokenizer,
            ),
            "candidate": self._own_options(
                self.candidate_dtype,
                self.candidate_price_input_per_1m,
                self.candidate_price_output_per_1m,
                self.candidate_api_key_env,
                self.candidate_tokenizer,
            ),
        }

    def _own_options(
        self,
        dtype: str | None,
        price_input: float | None,
        price_output: float | None,
        api_key_env: str | None,
        tokenizer: str | None,
    ) -> PerModelOptions:
        """A role's own values, each unset one taken from the setting of every model."""
        return PerModelOptions(
            dtype=self.dtype if dtype is None else dtype,
            pricing=Pricing(
                self.price_input_per_1m if price_input is None else price_input,
                self.price_output_per_1m if price_output is None else price_output,
            ),
            api_key_env=self.api_key_env if api_key_env is None else api_key_env,
            tokenizer=tokenizer,
        )

    @property
    def has_prices(self) -> bool:
        return any(options.pricing.is_set for options in self.per_model.values())


OPTIONS: tuple[Option, ...] = options_of(Settings)
OPTIONS_BY_KEY: dict[str, Option] = {entry.key: entry for entry in OPTIONS}
CONFIG_KEYS = tuple(OPTIONS_BY_KEY)
# Tables in [tool.llmperf] with no command-line flag: default limits of every marker.
TABLE_KEYS = ("budget",)


def cli_flag(key: str) -> str:
    """The command-line flag of a `[tool.llmperf]` key."""
    return OPTIONS_BY_KEY[key].flag


def read_pyproject_table(pyproject: Path | None) -> dict[str, Any]:
    """The `[tool.llmperf]` table of a pyproject.toml, or {} when there is none."""
    if pyproject is None or not pyproject.is_file():
        return {}
    try:
        with pyproject.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{pyproject} is not valid TOML: {error}") from None
    tool = document.get("tool", {})
    table = tool.get("llmperf", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ConfigError(f"[tool.llmperf] in {pyproject} must be a table")
    return table


def build_settings(
    cli_values: Mapping[str, Any],
    file_values: Mapping[str, Any],
    *,
    cwd: Path,
    config_dir: Path,
    rootdir: Path,
) -> Settings:
    """Merge command-line values (None when not given) over `[tool.llmperf]` values."""
    unknown = sorted(set(file_values) - set(CONFIG_KEYS) - set(TABLE_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [tool.llmperf]: {', '.join(unknown)}. "
            f"Valid keys: {', '.join(CONFIG_KEYS + TABLE_KEYS)}."
        )
    parsed: dict[str, Any] = {}
    from_cli: set[str] = set()
    for entry in OPTIONS:
        if cli_values.get(entry.key) is not None:
            raw, where = cli_values[entry.key], entry.flag
            from_cli.add(entry.key)
        elif entry.key in file_values:
            raw, where = file_values[entry.key], f"'{entry.key}' in [tool.llmperf]"
        else:
            continue
        try:
            parsed[entry.key] = entry.parse(raw)
        except ValueError as error:
            if entry.secret:
                add_secret(raw if isinstance(raw, str) else None)
                raise ConfigError(
                    f"the value given for {where} is not valid (not shown: it may be a secret): "
                    f"it {error}."
                ) from None
            raise ConfigError(
                f"{shown_value(raw)} is not a valid value for {where}: it {error}."
            ) from None
    parsed["default_limits"] = _default_limits(file_values.get("budget", {}))
    try:
        return _assemble(parsed, from_cli, cwd=cwd, config_dir=config_dir, rootdir=rootdir)
    except OSError as error:  # a path the system will not look at: a name too long, a loop
        raise ConfigError(
            f"a path given to pytest-llmperf cannot be used ({error.strerror or error}): "
            f"{shown_value(str(error.filename), 120)}: give a shorter, valid path."
        ) from None


def _default_limits(table: Any) -> tuple[tuple[str, float], ...]:
    """[tool.llmperf.budget]: limits every assert_within_budget marker starts from."""
    if not isinstance(table, dict):
        raise ConfigError("[tool.llmperf.budget] must be a table of limits, e.g. latency_ms = 400")
    if not table:
        return ()
    try:
        limits = parse_limits((), table)
    except BudgetError as error:
        raise ConfigError(f"[tool.llmperf.budget]: {error}") from None
    return tuple((limit.name, limit.value) for limit in limits)


def _assemble(
    parsed: dict[str, Any], from_cli: set[str], *, cwd: Path, config_dir: Path, rootdir: Path
) -> Settings:
    def base(key: str) -> Path:
        return cwd if key in from_cli else config_dir

    def where(key: str) -> str:
        return cli_flag(key) if key in from_cli else f"'{key}' in [tool.llmperf]"

    named = {
        key: ModelSpec(parsed.pop(key), base(key))
        for key in ("baseline", "adapter_base")
        if key in parsed
    }
    candidates = _lineup(parsed, base, where)
    if candidates:
        named["candidate"] = candidates[0]
    snapshot_dir = rootdir / ".llmperf"
    if "dir" in parsed:
        snapshot_dir = base("dir") / Path(parsed.pop("dir")).expanduser()
    for key in ("report", "markdown"):
        if key in parsed:
            parsed[key] = base(key) / Path(parsed[key]).expanduser()
            check_writable_file(parsed[key], where(key))
    if "history" in parsed:
        parsed["history"] = base("history") / Path(parsed["history"]).expanduser()
        check_writable_directory(parsed["history"], where("history"))
    for key in ("plots", "benchmark_json"):
        if key in parsed:
            parsed.update(resolve_output(key, parsed[key], base(key), where(key)))
    for key, spec in named.items():
        parse_endpoint(spec.name, where=f"--llm-{key.replace('_', '-')}")
    settings = Settings(
        snapshot_dir=snapshot_dir, rootdir=rootdir, lineup=candidates, **named, **parsed
    )
    if settings.update and settings.baseline is None:
        raise ConfigError(
            "--llm-update records the baseline's measurements, but no baseline was given: "
            "add --llm-baseline=MODEL."
        )
    if settings.update:
        # Found now, not after every test has been measured.
        check_writable_directory(settings.snapshot_dir, "--llm-update's snapshot directory")
    if settings.remove_unused and not settings.update:
        raise ConfigError(
            "--llm-remove-unused deletes unused snapshots while updating them, and needs "
            "--llm-update: add --llm-baseline=MODEL --llm-update."
        )
    return with_model_settings(settings)


def register_secrets(settings: Settings) -> None:
    """Mask each endpoint's API key in every output, and a key variable's name that may be
    the key itself (see parsers.conventional_env_name). A key too short to mask safely is
    refused; so is a candidate name holding a key: it becomes the test id that pytest
    itself prints and writes to JUnit XML, where no masking of the plugin's runs."""
    for spec in (settings.baseline, settings.candidate, *settings.lineup):
        if spec is None or spec.options.api_key_env is None:
            continue
        key_env = spec.options.api_key_env
        if not parsers.conventional_env_name(key_env):
            add_secret(key_env)
        key = os.environ.get(key_env)
        if key and len(key) < MIN_KEY:
            raise ConfigError(
                f"the API key in the environment variable {key_env} is shorter than {MIN_KEY} "
                "characters (not shown), too short to be masked in the reports without "
                "masking ordinary words: use the server's real key (an OpenAI-style key is "
                "much longer), or set no key variable for a server that needs none."
            )
        add_secret(key)
    for spec in settings.lineup:
        if redact(spec.candidate_name) != spec.candidate_name:
            raise ConfigError(
                f"a candidate's name ({redact(spec.candidate_name)}) holds a secret (an API key "
                "or a value given as a key variable): the name becomes the test id pytest "
                "prints and writes to JUnit XML. Name the candidate with NAME=MODEL, e.g. "
                "--llm-candidate=tuned=./path/to/ckpt."
            )


def _lineup(parsed: dict[str, Any], base: Any, where: Any) -> tuple[ModelSpec, ...]:
    """Every candidate named by `candidate` and `candidates`, in the order given."""
    found: list[ModelSpec] = []
    for key in ("candidate", "candidates"):
        for entry in parsed.pop(key, ()):
            for name, model in lineup.expand(entry, base(key), where(key)):
                found.append(ModelSpec(model, base(key), candidate_name=name))
    lineup.check_unique([spec.candidate_name for spec in found])
    return tuple(found)


def with_model_settings(settings: Settings) -> Settings:
    """The settings with each model's spec carrying its role's own settings."""

    def own(spec: ModelSpec, role: str) -> ModelSpec:
        return ModelSpec(
            spec.name,
            spec.base_dir,
            role=role,
            options=settings.per_model[role],
            adapter_base=settings.adapter_base,
            adapter_mode=settings.adapter_mode,
            candidate_name=spec.candidate_name,
        )

    return replace(
        settings,
        baseline=None if settings.baseline is None else own(settings.baseline, "baseline"),
        candidate=None if settings.candidate is None else own(settings.candidate, "candidate"),
        lineup=tuple(own(spec, "candidate") for spec in settings.lineup),
    )
