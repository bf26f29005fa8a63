"""Settings from the command line and [tool.llmperf]: precedence, validation, paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.settings.settings import (
    CONFIG_KEYS,
    TABLE_KEYS,
    ModelSpec,
    Settings,
    build_settings,
    cli_flag,
    read_pyproject_table,
)


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    """Three distinct directories, so that a path resolved against the wrong one shows."""
    made = {name: tmp_path / name for name in ("cwd", "config_dir", "rootdir")}
    for path in made.values():
        path.mkdir()
    return made


def settings(
    dirs: dict[str, Path], cli: dict[str, Any] | None = None, file: dict[str, Any] | None = None
) -> Settings:
    return build_settings(cli or {}, file or {}, **dirs)


# --- defaults and precedence -------------------------------------------------------------


def test_defaults_when_nothing_is_given(dirs: dict[str, Path]) -> None:
    result = settings(dirs)
    assert result.baseline is None
    assert result.candidate is None
    assert result.update is False
    assert result.snapshot_dir == dirs["rootdir"] / ".llmperf"
    assert (result.device, result.dtype) == ("auto", "auto")
    assert (result.repeats, result.warmup, result.max_new_tokens) == (5, 1, 32)
    assert result.latency_statistic == "p95"
    assert result.latency_percentile == 95.0
    assert result.has_prices is False
    assert result.hardware_mismatch == "warn"


def test_command_line_wins_over_pyproject(dirs: dict[str, Path]) -> None:
    result = settings(
        dirs,
        cli={"repeats": "7", "device": "cuda:1", "dtype": None},
        file={"repeats": 3, "device": "cpu", "dtype": "bfloat16", "seed": 4},
    )
    assert result.repeats == 7
    assert result.device == "cuda:1"
    # None on the command line means "not given": the file's value stands.
    assert result.dtype == "bfloat16"
    assert result.seed == 4


def test_command_line_strings_are_parsed_to_types(dirs: dict[str, Path]) -> None:
    result = settings(
        dirs,
        cli={
            "baseline": "gpt2",
            "update": True,
            "repeats": " 9 ",
            "warmup": "0",
            "max_new_tokens": "+16",
            "price_input_per_1m": "0.5",
            "price_output_per_1m": "2",
            "latency_statistic": "p99",
            "trust_remote_code": "yes",
            "hardware_mismatch": "fail",
        },
    )
    assert result.update is True
    assert (result.repeats, result.warmup, result.max_new_tokens) == (9, 0, 16)
    assert (result.price_input_per_1m, result.price_output_per_1m) == (0.5, 2.0)
    assert result.has_prices is True
    assert result.latency_percentile == 99.0
    assert result.trust_remote_code is True
    assert result.hardware_mismatch == "fail"


def test_pyproject_values_keep_their_toml_types(dirs: dict[str, Path]) -> None:
    result = settings(
        dirs,
        file={"baseline": "gpt2", "update": True, "warmup": 2, "price_output_per_1m": 3},
    )
    assert result.update is True
    assert result.warmup == 2
    assert result.price_output_per_1m == 3.0
    assert isinstance(result.price_output_per_1m, float)


@pytest.mark.parametrize("statistic", ["p50", "p90", "p95", "p99"])
def test_latency_statistic_sets_the_percentile(dirs: dict[str, Path], statistic: str) -> None:
    result = settings(dirs, file={"latency_statistic": statistic})
    assert result.latency_percentile == float(statistic[1:])


@pytest.mark.parametrize("device", ["auto", "cpu", "mps", "cuda", "cuda:0", "cuda:12"])
def test_valid_devices(dirs: dict[str, Path], device: str) -> None:
    assert settings(dirs, cli={"device": device}).device == device


def test_cli_flag_names_the_option() -> None:
    assert cli_flag("repeats") == "--llm-repeats"
    assert cli_flag("price_input_per_1m") == "--llm-price-input"
    assert cli_flag("dir") == "--llm-dir"


# --- bad values ----------------------------------------------------------------------------

# key, bad value, text that tells the valid values
BAD_VALUES = [
    ("device", "gpu", "auto, cpu, cuda, cuda:N or mps"),
    ("device", "CUDA", "auto, cpu, cuda, cuda:N or mps"),
    ("device", "cuda:x", "auto, cpu, cuda, cuda:N or mps"),
    ("dtype", "float64", "auto, float32, float16, bfloat16"),
    ("latency_statistic", "p42", "p50, p90, p95, p99"),
    ("hardware_mismatch", "ignore", "warn, fail"),
    ("repeats", "0", "at least 1"),
    ("repeats", "five", "whole number"),
    ("repeats", "2.5", "whole number"),
    ("max_new_tokens", "-3", "at least 1"),
    ("warmup", "-1", "at least 0"),
    ("seed", "-1", "at least 0"),
    ("price_input_per_1m", "-0.1", "at least 0"),
    ("price_input_per_1m", "nan", "finite"),
    ("price_output_per_1m", "inf", "finite"),
    ("price_output_per_1m", "cheap", "US dollars"),
    ("update", "maybe", "true or false"),
    ("trust_remote_code", "sure", "true or false"),
    ("baseline", "   ", "hub id or a checkpoint directory"),
    ("candidate", "", "hub id or a checkpoint directory"),
]


@pytest.mark.parametrize(("key", "value", "valid"), BAD_VALUES)
def test_bad_command_line_value_names_the_flag_and_valid_values(
    dirs: dict[str, Path], key: str, value: str, valid: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        settings(dirs, cli={key: value})
    message = str(excinfo.value)
    assert cli_flag(key) in message
    assert repr(value) in message
    assert valid in message


@pytest.mark.parametrize(("key", "value", "valid"), BAD_VALUES)
def test_bad_pyproject_value_names_the_key_and_valid_values(
    dirs: dict[str, Path], key: str, value: str, valid: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        settings(dirs, file={key: value})
    message = str(excinfo.value)
    assert f"'{key}' in [tool.llmperf]" in message
    assert valid in message


@pytest.mark.parametrize(
    ("key", "value", "valid"),
    [
        ("repeats", True, "not true/false"),
        ("repeats", 2.0, "whole number"),
        ("warmup", [1], "whole number"),
        ("price_input_per_1m", False, "not true/false"),
        ("price_input_per_1m", float("inf"), "finite"),
        ("update", 1, "true or false"),
        ("device", 0, "auto, cpu, cuda, cuda:N or mps"),
        ("baseline", 5, "hub id or a checkpoint directory"),
        ("dtype", None, "auto, float32, float16, bfloat16"),
    ],
)
def test_wrongly_typed_pyproject_values_are_rejected(
    dirs: dict[str, Path], key: str, value: Any, valid: str
) -> None:
    with pytest.raises(ConfigError) as excinfo:
        settings(dirs, file={key: value})
    assert f"'{key}' in [tool.llmperf]" in str(excinfo.value)
    assert valid in str(excinfo.value)


def test_a_valid_command_line_value_does_not_hide_a_bad_one(dirs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="--llm-dtype"):
        settings(dirs, cli={"repeats": "3", "dtype": "int4"})


def test_unknown_pyproject_keys_are_listed_with_the_valid_keys(dirs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        settings(dirs, file={"repeat": 3, "devcie": "cpu", "seed": 1})
    message = str(excinfo.value)
    assert "devcie, repeat" in message
    assert "seed" not in message.split("Valid keys")[0]
    assert f"Valid keys: {', '.join(CONFIG_KEYS + TABLE_KEYS)}." in message


def test_update_without_baseline_is_an_error(dirs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        settings(dirs, cli={"update": True, "candidate": "./ckpt"})
    assert "--llm-update" in str(excinfo.value)
    assert "--llm-baseline=MODEL" in str(excinfo.value)


def test_update_from_pyproject_without_baseline_is_an_error(dirs: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="--llm-baseline=MODEL"):
        settings(dirs, file={"update": True})


def test_update_with_baseline_from_pyproject_is_fine(dirs: dict[str, Path]) -> None:
    result = settings(dirs, cli={"update": True}, file={"baseline": "gpt2"})
    assert result.update is True
    assert result.baseline is not None
    assert result.baseline.name == "gpt2"


# --- paths -----------------------------------------------------------------------------------


def test_command_line_models_resolve_against_cwd(dirs: dict[str, Path]) -> None:
    result = settings(dirs, cli={"baseline": "./base", "candidate": "./ckpt"})
    assert result.baseline == ModelSpec("./base", dirs["cwd"], role="baseline")
    assert result.candidate is not None
    assert result.candidate.local_path == dirs["cwd"] / "ckpt"


def test_pyproject_models_resolve_against_the_config_dir(dirs: dict[str, Path]) -> None:
    result = settings(dirs, file={"candidate": "./ckpt"}, cli={"baseline": "./base"})
    assert result.candidate is not None
    assert result.candidate.local_path == dirs["config_dir"] / "ckpt"
    assert result.baseline is not None
    assert result.baseline.local_path == dirs["cwd"] / "base"


def test_model_names_are_stripped(dirs: dict[str, Path]) -> None:
    result = settings(dirs, cli={"baseline": "  gpt2 "})
    assert result.baseline is not None
    assert result.baseline.name == "gpt2"


def test_snapshot_dir_from_the_command_line_resolves_against_cwd(dirs: dict[str, Path]) -> None:
    result = settings(dirs, cli={"dir": "snaps"}, file={"dir": "ignored"})
    assert result.snapshot_dir == dirs["cwd"] / "snaps"


def test_snapshot_dir_from_pyproject_resolves_against_the_config_dir(
    dirs: dict[str, Path],
) -> None:
    result = settings(dirs, file={"dir": "perf/snaps"})
    assert result.snapshot_dir == dirs["config_dir"] / "perf" / "snaps"


def test_absolute_snapshot_dir_is_kept(dirs: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    assert settings(dirs, file={"dir": str(target)}).snapshot_dir == target
    assert settings(dirs, cli={"dir": str(target)}).snapshot_dir == target


# --- ModelSpec.local_path ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2", "org/name", "openai-community/gpt2"])
def test_hub_ids_have_no_local_path(tmp_path: Path, name: str) -> None:
    assert ModelSpec(name, tmp_path).local_path is None


@pytest.mark.parametrize("name", ["./ckpt", "../ckpt", "runs/exp1/ckpt"])
def test_path_like_names_are_local_even_before_they_exist(tmp_path: Path, name: str) -> None:
    path = ModelSpec(name, tmp_path).local_path
    assert path == tmp_path / name
    assert not path.exists()


def test_an_existing_directory_wins_over_a_hub_id(tmp_path: Path) -> None:
    (tmp_path / "org" / "name").mkdir(parents=True)
    assert ModelSpec("org/name", tmp_path).local_path == tmp_path / "org" / "name"


def test_absolute_path_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "ckpt"
    assert ModelSpec(str(target), Path("/nonexistent-base")).local_path == target


def test_home_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ModelSpec("~/ckpt", Path("/nonexistent-base")).local_path == tmp_path / "ckpt"


# --- read_pyproject_table ----------------------------------------------------------------


def test_read_pyproject_table(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\n\n[tool.llmperf]\nbaseline = "gpt2"\nrepeats = 3\nupdate = true\n',
        encoding="utf-8",
    )
    assert read_pyproject_table(pyproject) == {"baseline": "gpt2", "repeats": 3, "update": True}


def test_no_pyproject_or_no_table_gives_empty(tmp_path: Path) -> None:
    assert read_pyproject_table(None) == {}
    assert read_pyproject_table(tmp_path / "missing.toml") == {}
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.ruff]\nline-length = 100\n", encoding="utf-8")
    assert read_pyproject_table(pyproject) == {}


def test_invalid_toml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.llmperf\nrepeats = \n", encoding="utf-8")
    with pytest.raises(ConfigError) as excinfo:
        read_pyproject_table(pyproject)
    assert str(pyproject) in str(excinfo.value)
    assert "not valid TOML" in str(excinfo.value)


def test_llmperf_that_is_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool]\nllmperf = "gpt2"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[tool\.llmperf\].*must be a table"):
        read_pyproject_table(pyproject)


def test_pyproject_table_feeds_build_settings(tmp_path: Path, dirs: dict[str, Path]) -> None:
    pyproject = dirs["config_dir"] / "pyproject.toml"
    pyproject.write_text('[tool.llmperf]\ncandidate = "./ckpt"\nrepeats = 2\n', encoding="utf-8")
    result = settings(dirs, file=read_pyproject_table(pyproject))
    assert result.repeats == 2
    assert result.candidate is not None
    assert result.candidate.local_path == dirs["config_dir"] / "ckpt"


# --- secrets: keys too short to mask, names holding a key ----------------------------------


@pytest.fixture
def fresh_secrets() -> Any:
    from pytest_llmperf.redaction import REDACTOR

    REDACTOR.clear()
    yield
    REDACTOR.clear()


@pytest.mark.parametrize("key", ["abc", "sk-1234"])
def test_a_key_too_short_to_mask_is_refused_naming_its_variable(
    dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, fresh_secrets: None, key: str
) -> None:
    from pytest_llmperf.settings.settings import register_secrets

    monkeypatch.setenv("STAGING_KEY", key)
    parsed = settings(
        dirs, {"candidate": ["m@http://127.0.0.1:9/v1"], "api_key_env": "STAGING_KEY"}
    )
    with pytest.raises(ConfigError) as error:
        register_secrets(parsed)
    message = str(error.value)
    assert "STAGING_KEY" in message and "shorter than 8 characters" in message
    assert key not in message.replace("STAGING_KEY", "")


@pytest.mark.parametrize("name", ["sk-proj-0123456789abcdef", "run-sk-proj-0123456789abcdef"])
def test_a_candidate_name_holding_the_key_is_refused(
    dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, fresh_secrets: None, name: str
) -> None:
    from pytest_llmperf.settings.settings import register_secrets

    monkeypatch.setenv("STAGING_KEY", "sk-proj-0123456789abcdef")
    parsed = settings(
        dirs,
        {"candidate": [f"{name}=m@http://127.0.0.1:9/v1", "b=./b"], "api_key_env": "STAGING_KEY"},
    )
    with pytest.raises(ConfigError, match=r"holds a secret.*NAME=MODEL") as error:
        register_secrets(parsed)
    assert "0123456789" not in str(error.value)


def test_a_long_key_and_plain_names_are_accepted(
    dirs: dict[str, Path], monkeypatch: pytest.MonkeyPatch, fresh_secrets: None
) -> None:
    from pytest_llmperf.settings.settings import register_secrets

    monkeypatch.setenv("STAGING_KEY", "sk-proj-0123456789abcdef")
    parsed = settings(
        dirs, {"candidate": ["a=m@http://127.0.0.1:9/v1", "b=./b"], "api_key_env": "STAGING_KEY"}
    )
    register_secrets(parsed)
