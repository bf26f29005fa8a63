"""One `Settings` object from the command line and `[tool.llmperf]`; the command line wins."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_llmperf.settings.endpoint_spec import EndpointSpec, is_endpoint, parse_endpoint
from pytest_llmperf.errors import ConfigError
from pytest_llmperf.files import check_writable_file
from pytest_llmperf.report.artifacts import resolve_output

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

LATENCY_STATISTICS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
DTYPES = ("auto", "float32", "float16", "bfloat16")
HARDWARE_MISMATCH_POLICIES = ("warn", "fail")
INCONCLUSIVE_RULES = ("estimate", "pass", "fail")
MODES = ("natural", "fixed_length")
ADAPTER_MODES = ("unmerged", "merged")
_DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class ModelSpec:
    """A model as the user named it: a hub id or a checkpoint directory, relative to `base_dir`."""

    name: str
    base_dir: Path

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


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 1


@dataclass(frozen=True)
class Settings:
    """Everything the plugin was told, validated and typed."""

    baseline: ModelSpec | None = None
    candidate: ModelSpec | None = None
    update: bool = False
    remove_unused: bool = False
    snapshot_dir: Path = Path(".llmperf")
    device: str = "auto"
    dtype: str = "auto"
    repeats: int = 5
    warmup: int = 1
    max_new_tokens: int = 32
    latency_statistic: str = "p95"
    price_input_per_1m: float = 0.0
    price_output_per_1m: float = 0.0
    seed: int = 0
    trust_remote_code: bool = False
    hardware_mismatch: str = "warn"
    mode: str = "natural"
    false_failure_rate: float = 0.05
    noise_floor: float = 0.01
    max_pairs: int = 320
    max_seconds: float = 60.0
    inconclusive: str = "estimate"
    baseline_dtype: str | None = None
    candidate_dtype: str | None = None
    adapter_base: ModelSpec | None = None
    adapter_mode: str = "unmerged"
    baseline_price_input_per_1m: float | None = None
    baseline_price_output_per_1m: float | None = None
    candidate_price_input_per_1m: float | None = None
    candidate_price_output_per_1m: float | None = None
    requests_per_month: int = 0
    api_key_env: str | None = None
    baseline_api_key_env: str | None = None
    candidate_api_key_env: str | None = None
    request_timeout_s: float = 60.0
    baseline_tokenizer: str | None = None
    candidate_tokenizer: str | None = None
    report: Path | None = None  # --llm-report: the JSON report
    markdown: Path | None = None  # --llm-markdown: the same as Markdown
    plots: Path | None = None  # --llm-plots: PNGs and index.html
    benchmark_json: Path | None = None  # --llm-benchmark-json: pytest-benchmark's format
    benchmark_storage: bool = False  # benchmark_json is a pytest-benchmark storage directory
    default_limits: tuple[tuple[str, float], ...] = ()  # [tool.llmperf.budget]

    @property
    def latency_percentile(self) -> float:
        return LATENCY_STATISTICS[self.latency_statistic]

    @property
    def has_prices(self) -> bool:
        return any(
            price > 0 for role in ("baseline", "candidate") for price in self.prices_for(role)
        )

    def prices_for(self, role: str) -> tuple[float, float]:
        """US dollars per 1M input and output tokens for 'baseline' or 'candidate'."""
        own_in, own_out = (
            (self.baseline_price_input_per_1m, self.baseline_price_output_per_1m)
            if role == "baseline"
            else (self.candidate_price_input_per_1m, self.candidate_price_output_per_1m)
        )
        return (
            self.price_input_per_1m if own_in is None else own_in,
            self.price_output_per_1m if own_out is None else own_out,
        )

    def api_key_env_for(self, role: str) -> str | None:
        """The environment variable holding the role's endpoint API key: its own, else common."""
        own = self.baseline_api_key_env if role == "baseline" else self.candidate_api_key_env
        return own if own is not None else self.api_key_env

    def tokenizer_for(self, role: str) -> str | None:
        """The tokenizer that counts an endpoint model's tokens when the server reports none."""
        return self.baseline_tokenizer if role == "baseline" else self.candidate_tokenizer

    def dtype_for(self, role: str) -> str:
        """The dtype setting of 'baseline' or 'candidate': its own key, else `dtype`."""
        own = self.baseline_dtype if role == "baseline" else self.candidate_dtype
        return own if own is not None else self.dtype


def _positive_int(value: Any) -> int:
    number = _integer(value)
    if number < 1:
        raise ValueError("must be a whole number of at least 1")
    return number


def _non_negative_int(value: Any) -> int:
    number = _integer(value)
    if number < 0:
        raise ValueError("must be a whole number of at least 0")
    return number


def _integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise ValueError("must be a whole number")


def _price(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number of US dollars, not true/false")
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise ValueError("must be a number of US dollars per 1M tokens") from None
    if not price >= 0 or price == float("inf"):
        raise ValueError("must be a finite number of at least 0")
    return price


def _fraction(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"must be a number between {low} and {high}, not true/false")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number between {low} and {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be a number between {low} and {high}")
        return number

    return parse


def _seconds(value: Any) -> float:
    seconds = _fraction(0.0, 86400.0)(value)
    if seconds <= 0:
        raise ValueError("must be a number of seconds greater than 0")
    return seconds


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError("must be true or false")


def _choice(valid: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str) and value in valid:
            return value
        raise ValueError(f"must be one of: {', '.join(valid)}")

    return parse


def _device(value: Any) -> str:
    if isinstance(value, str) and _DEVICE_PATTERN.match(value):
        return value
    raise ValueError("must be auto, cpu, cuda, cuda:N or mps")


def _directory(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("must be a directory path")


def _file_path(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("must be a file path")


def _model_name(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("must be a Hugging Face hub id or a checkpoint directory")


def _env_name(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return value
    raise ValueError(
        "must be the NAME of an environment variable (e.g. STAGING_API_KEY), not the key itself"
    )


# key in [tool.llmperf] -> (command-line flag, parser)
_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "baseline": ("--llm-baseline", _model_name),
    "candidate": ("--llm-candidate", _model_name),
    "update": ("--llm-update", _boolean),
    "remove_unused": ("--llm-remove-unused", _boolean),
    "dir": ("--llm-dir", _directory),
    "device": ("--llm-device", _device),
    "dtype": ("--llm-dtype", _choice(DTYPES)),
    "repeats": ("--llm-repeats", _positive_int),
    "warmup": ("--llm-warmup", _non_negative_int),
    "max_new_tokens": ("--llm-max-new-tokens", _positive_int),
    "latency_statistic": ("--llm-latency-statistic", _choice(tuple(LATENCY_STATISTICS))),
    "price_input_per_1m": ("--llm-price-input", _price),
    "price_output_per_1m": ("--llm-price-output", _price),
    "seed": ("--llm-seed", _non_negative_int),
    "trust_remote_code": ("--llm-trust-remote-code", _boolean),
    "hardware_mismatch": ("--llm-hardware-mismatch", _choice(HARDWARE_MISMATCH_POLICIES)),
    "mode": ("--llm-mode", _choice(MODES)),
    "false_failure_rate": ("--llm-false-failure-rate", _fraction(0.0001, 0.5)),
    "noise_floor": ("--llm-noise-floor", _fraction(0.0, 0.5)),
    "max_pairs": ("--llm-max-pairs", _positive_int),
    "max_seconds": ("--llm-max-seconds", _seconds),
    "inconclusive": ("--llm-inconclusive", _choice(INCONCLUSIVE_RULES)),
    "baseline_dtype": ("--llm-baseline-dtype", _choice(DTYPES)),
    "candidate_dtype": ("--llm-candidate-dtype", _choice(DTYPES)),
    "adapter_base": ("--llm-adapter-base", _model_name),
    "adapter_mode": ("--llm-adapter-mode", _choice(ADAPTER_MODES)),
    "baseline_price_input_per_1m": ("--llm-baseline-price-input", _price),
    "baseline_price_output_per_1m": ("--llm-baseline-price-output", _price),
    "candidate_price_input_per_1m": ("--llm-candidate-price-input", _price),
    "candidate_price_output_per_1m": ("--llm-candidate-price-output", _price),
    "requests_per_month": ("--llm-requests-per-month", _non_negative_int),
    "report": ("--llm-report", _file_path),
    "markdown": ("--llm-markdown", _file_path),
    "plots": ("--llm-plots", _directory),
    "benchmark_json": ("--llm-benchmark-json", _file_path),
    "api_key_env": ("--llm-api-key-env", _env_name),
    "baseline_api_key_env": ("--llm-baseline-api-key-env", _env_name),
    "candidate_api_key_env": ("--llm-candidate-api-key-env", _env_name),
    "request_timeout_s": ("--llm-request-timeout", _seconds),
    "baseline_tokenizer": ("--llm-baseline-tokenizer", _model_name),
    "candidate_tokenizer": ("--llm-candidate-tokenizer", _model_name),
}
# Tables in [tool.llmperf] with no command-line flag: default limits of every marker.
TABLE_KEYS = ("budget",)

CONFIG_KEYS = tuple(_FIELDS)


def cli_flag(key: str) -> str:
    """The command-line flag of a `[tool.llmperf]` key."""
    return _FIELDS[key][0]


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
    unknown = sorted(set(file_values) - set(_FIELDS) - set(TABLE_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key(s) in [tool.llmperf]: {', '.join(unknown)}. "
            f"Valid keys: {', '.join(CONFIG_KEYS + TABLE_KEYS)}."
        )
    parsed: dict[str, Any] = {}
    from_cli: set[str] = set()
    for key, (flag, parse) in _FIELDS.items():
        if cli_values.get(key) is not None:
            raw, where = cli_values[key], flag
            from_cli.add(key)
        elif key in file_values:
            raw, where = file_values[key], f"'{key}' in [tool.llmperf]"
        else:
            continue
        try:
            parsed[key] = parse(raw)
        except ValueError as error:
            raise ConfigError(f"{raw!r} is not a valid value for {where}: it {error}.") from None
    parsed["default_limits"] = _default_limits(file_values.get("budget", {}))
    return _assemble(parsed, from_cli, cwd=cwd, config_dir=config_dir, rootdir=rootdir)


def _default_limits(table: Any) -> tuple[tuple[str, float], ...]:
    """[tool.llmperf.budget]: limits every assert_within_budget marker starts from."""
    from pytest_llmperf.judge.budget import parse_limits
    from pytest_llmperf.errors import BudgetError

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

    models = {
        key: ModelSpec(parsed.pop(key), base(key))
        for key in ("baseline", "candidate", "adapter_base")
        if key in parsed
    }
    snapshot_dir = rootdir / ".llmperf"
    if "dir" in parsed:
        snapshot_dir = base("dir") / Path(parsed.pop("dir")).expanduser()
    for key in ("report", "markdown"):
        if key in parsed:
            parsed[key] = base(key) / Path(parsed[key]).expanduser()
            where = cli_flag(key) if key in from_cli else f"'{key}' in [tool.llmperf]"
            check_writable_file(parsed[key], where)
    for key in ("plots", "benchmark_json"):
        if key in parsed:
            where = cli_flag(key) if key in from_cli else f"'{key}' in [tool.llmperf]"
            parsed.update(resolve_output(key, parsed[key], base(key), where))
    for key, spec in models.items():
        parse_endpoint(spec.name, where=f"--llm-{key.replace('_', '-')}")
    settings = Settings(**models, snapshot_dir=snapshot_dir, **parsed)
    if settings.update and settings.baseline is None:
        raise ConfigError(
            "--llm-update records the baseline's measurements, but no baseline was given: "
            "add --llm-baseline=MODEL."
        )
    if settings.remove_unused and not settings.update:
        raise ConfigError(
            "--llm-remove-unused deletes unused snapshots while updating them, and needs "
            "--llm-update: add --llm-baseline=MODEL --llm-update."
        )
    return settings
