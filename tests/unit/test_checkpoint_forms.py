"""Checkpoint forms: settings, the cheap directory checks, labels, and loading each form."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.backends import load_backend
from pytest_llmperf.backends.checkpoint import (
    check_checkpoint_dir,
    describe_quantization,
    form_label,
    read_adapter,
)
from pytest_llmperf.backends.peft_adapter import base_model_spec
from pytest_llmperf.errors import ConfigError, ModelLoadError, ModelUnavailableError
from pytest_llmperf.settings.settings import (
    ModelSpec,
    Settings,
    build_settings,
    with_model_settings,
)

# --- settings ------------------------------------------------------------------------------


def settings(tmp_path: Path, cli: dict[str, Any], file: dict[str, Any]) -> Settings:
    (tmp_path / "cwd").mkdir(exist_ok=True)
    (tmp_path / "config").mkdir(exist_ok=True)
    return build_settings(
        cli, file, cwd=tmp_path / "cwd", config_dir=tmp_path / "config", rootdir=tmp_path
    )


MODELS = {"baseline": "org/base", "candidate": "org/tuned"}


def test_each_model_falls_back_to_dtype(tmp_path):
    result = settings(tmp_path, {}, {**MODELS, "dtype": "float16", "candidate_dtype": "bfloat16"})
    assert result.candidate.options.dtype == "bfloat16"
    assert result.baseline.options.dtype == "float16"
    assert settings(tmp_path, {}, MODELS).baseline.options.dtype == "auto"


def test_command_line_dtype_of_a_model_wins(tmp_path):
    result = settings(
        tmp_path, {"baseline_dtype": "float32"}, {**MODELS, "baseline_dtype": "float16"}
    )
    assert result.baseline.options.dtype == "float32"


def test_adapter_settings_default_and_paths(tmp_path):
    assert Settings().adapter_mode == "unmerged"
    from_file = settings(tmp_path, {}, {"adapter_base": "./base", "adapter_mode": "merged"})
    assert from_file.adapter_base == ModelSpec("./base", tmp_path / "config")
    assert from_file.adapter_mode == "merged"
    from_cli = settings(tmp_path, {"adapter_base": "./base"}, {})
    assert from_cli.adapter_base == ModelSpec("./base", tmp_path / "cwd")


@pytest.mark.parametrize(
    ("cli", "file", "message"),
    [
        (
            {"adapter_mode": "fused"},
            {},
            "'fused' is not a valid value for --llm-adapter-mode: it must be one of: unmerged, merged.",
        ),
        (
            {},
            {"candidate_dtype": "int8"},
            "'int8' is not a valid value for 'candidate_dtype' in [tool.llmperf]: it must be one of: "
            "auto, float32, float16, bfloat16.",
        ),
        (
            {"baseline_dtype": "fp16"},
            {},
            "'fp16' is not a valid value for --llm-baseline-dtype: it must be one of: auto, float32, "
            "float16, bfloat16.",
        ),
        (
            {},
            {"adapter_base": ""},
            "'' is not a valid value for 'adapter_base' in [tool.llmperf]: it must be a Hugging "
            "Face hub id or a checkpoint directory.",
        ),
    ],
)
def test_bad_form_settings_name_the_value_and_the_valid_ones(tmp_path, cli, file, message):
    with pytest.raises(ConfigError) as raised:
        settings(tmp_path, cli, file)
    assert str(raised.value) == message


# --- adapter directories (no torch, no peft) ------------------------------------------------


def make_adapter(path: Path, config: Any, *, weights: bool = True) -> Path:
    path.mkdir(parents=True)
    text = config if isinstance(config, str) else json.dumps(config)
    (path / "adapter_config.json").write_text(text)
    if weights:
        (path / "adapter_model.safetensors").write_bytes(b"weights")
    return path


LORA = {"peft_type": "LORA", "base_model_name_or_path": "org/base-model"}


def test_an_adapter_directory_is_recognised_without_config_json(tmp_path):
    adapter = make_adapter(tmp_path / "adapter", LORA)
    check_checkpoint_dir(adapter, "--llm-candidate")  # no config.json: still a checkpoint form
    record = read_adapter(adapter, "--llm-candidate")
    assert (record.peft_type, record.base_model, record.kind) == (
        "LORA",
        "org/base-model",
        "LoRA adapter",
    )
    assert len(record.config_sha256) == 16


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("{not json", "adapter_config.json is not valid JSON (*). Save the adapter again with*"),
        (
            '["LORA"]',
            "adapter_config.json has no peft_type, so it is not a PEFT adapter's config.*",
        ),
        ({"base_model_name_or_path": "gpt2"}, "adapter_config.json has no peft_type*"),
    ],
)
def test_unusable_adapter_config_is_named(tmp_path, config, message):
    adapter = make_adapter(tmp_path / "adapter", config)
    with pytest.raises(ModelLoadError) as raised:
        check_checkpoint_dir(adapter, "--llm-candidate")
    assert raised.match(f"--llm-candidate={adapter}: ")
    assert _fnmatch(str(raised.value), f"*{message}")


def test_adapter_without_weights_is_named(tmp_path):
    adapter = make_adapter(tmp_path / "adapter", LORA, weights=False)
    with pytest.raises(ModelLoadError) as raised:
        check_checkpoint_dir(adapter, "--llm-baseline")
    assert str(raised.value) == (
        f"--llm-baseline={adapter} has adapter_config.json but no adapter weights "
        "(adapter_model.safetensors or adapter_model.bin). Save the adapter with "
        "PeftModel.save_pretrained."
    )


def test_adapter_without_peft_installed_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # what an absent package looks like
    adapter = make_adapter(tmp_path / "adapter", LORA)
    with pytest.raises(ModelLoadError) as raised:
        check_checkpoint_dir(adapter, "--llm-candidate")
    assert str(raised.value) == (
        f"--llm-candidate={adapter} is a PEFT adapter, and loading it needs the peft package, "
        "which is not installed: pip install peft (or pip install 'pytest-llmperf[peft]')."
    )


def test_directory_that_is_neither_form_is_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError, match=r"it has no config\.json.*or at a PEFT adapter"):
        check_checkpoint_dir(tmp_path / "empty", "--llm-candidate")


# --- the adapter's base model ---------------------------------------------------------------


def adapter_spec(record, **settings: Any) -> ModelSpec:
    """The candidate's spec for the adapter directory of `record`."""
    return ModelSpec(str(record.path), Path.cwd(), role="candidate", **settings)


def test_base_given_in_settings_wins_over_the_record(tmp_path):
    record = read_adapter(make_adapter(tmp_path / "adapter", LORA), "--llm-candidate")
    given = ModelSpec("org/other-base", tmp_path)
    assert base_model_spec(record, adapter_spec(record, adapter_base=given)) == given
    assert base_model_spec(record, adapter_spec(record)).name == "org/base-model"


def test_adapter_that_records_no_base_asks_for_one(tmp_path):
    adapter = make_adapter(
        tmp_path / "adapter", {"peft_type": "IA3", "base_model_name_or_path": ""}
    )
    record = read_adapter(adapter, "--llm-candidate")
    with pytest.raises(ModelLoadError) as raised:
        base_model_spec(record, adapter_spec(record))
    assert str(raised.value) == (
        f"--llm-candidate={adapter} is a IA3 adapter, and its adapter_config.json does not "
        "record the base model it was trained on: name it with --llm-adapter-base=MODEL (or "
        "adapter_base in [tool.llmperf])."
    )


def test_base_that_is_itself_an_adapter_is_refused(tmp_path):
    inner = make_adapter(tmp_path / "inner", LORA)
    outer = make_adapter(
        tmp_path / "outer", {"peft_type": "LORA", "base_model_name_or_path": str(inner)}
    )
    with pytest.raises(ModelLoadError, match="is itself a PEFT adapter; adapters on adapters"):
        record = read_adapter(outer, "--llm-candidate")
        base_model_spec(record, adapter_spec(record))


def test_base_directory_that_is_not_a_checkpoint_is_named(tmp_path):
    (tmp_path / "notes").mkdir()
    adapter = make_adapter(
        tmp_path / "adapter",
        {"peft_type": "LORA", "base_model_name_or_path": str(tmp_path / "notes")},
    )
    with pytest.raises(ModelLoadError) as raised:
        record = read_adapter(adapter, "--llm-candidate")
        base_model_spec(record, adapter_spec(record))
    assert _fnmatch(
        str(raised.value),
        f"--llm-candidate={adapter} is a LoRA adapter on {tmp_path / 'notes'} (as its "
        "adapter_config.json records), which cannot be used: *it has no config.json*",
    )


# --- how a verdict names a model ------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        ({"dtype": "float32"}, "./ckpt"),
        ({"dtype": "bfloat16"}, "./ckpt (bfloat16)"),
        (
            {"dtype": "float32", "adapter": "LoRA adapter on gpt2, unmerged"},
            "./ckpt (LoRA adapter on gpt2, unmerged, float32)",
        ),
        (
            {"dtype": "float16", "quantization": "bitsandbytes 4-bit"},
            "./ckpt (bitsandbytes 4-bit quantized, float16)",
        ),
    ],
)
def test_form_label(kwargs, label):
    assert form_label("./ckpt", **kwargs) == label


@pytest.mark.parametrize(
    ("config", "described"),
    [
        (None, None),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True}, "bitsandbytes 4-bit"),
        ({"quant_method": "bitsandbytes", "load_in_8bit": True}, "bitsandbytes 8-bit"),
        ({"quant_method": "gptq", "bits": 4}, "gptq 4-bit"),
        ({"quant_method": "fp8", "dequantize": True}, "fp8, dequantized"),
    ],
)
def test_describe_quantization(config, described):
    assert describe_quantization(config) == described


# --- loading: dtypes, quantized checkpoints, adapters ----------------------------------------


def load(path: Path, settings: Settings, role: str = "candidate"):
    """Load `path` as the model of `role`, with that role's own settings from `settings`."""
    settings = with_model_settings(replace(settings, **{role: ModelSpec(str(path), Path.cwd())}))
    return load_backend(getattr(settings, role), settings)


def test_each_model_loads_in_its_own_dtype(checkpoints):
    settings = Settings(dtype="float16", candidate_dtype="bfloat16")
    candidate = load(checkpoints["baseline"], settings, "candidate")
    baseline = load(checkpoints["baseline"], settings, "baseline")
    assert candidate.identity["dtype"] == "bfloat16"
    assert candidate.label == f"{checkpoints['baseline']} (bfloat16)"
    assert baseline.identity["dtype"] == "float16"
    plain = load(checkpoints["baseline"], Settings())
    assert plain.label == str(checkpoints["baseline"])
    assert "quantization" not in plain.identity and "adapter" not in plain.identity


@pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is not None,
    reason="bitsandbytes is installed: whether the 8-bit form runs depends on this machine",
)
def test_quantized_checkpoint_that_cannot_run_here_is_unavailable(checkpoints, tmp_path):
    quantized = tmp_path / "bnb-8bit"
    quantized.mkdir()
    config = json.loads((checkpoints["baseline"] / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "bitsandbytes", "load_in_8bit": True}
    (quantized / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailableError) as raised:
        load(quantized, Settings(device="cpu"))
    assert _fnmatch(
        str(raised.value),
        f"--llm-candidate={quantized} is quantized (bitsandbytes 8-bit), which cannot run on cpu "
        "here: *bitsandbytes*pip install*",
    )


def test_quantized_checkpoint_that_runs_here_is_loaded_quantized(checkpoints, tmp_path):
    pytest.importorskip("bitsandbytes")  # recent versions run 8-bit on the CPU too
    from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

    quantized = tmp_path / "bnb-8bit"
    try:
        model = AutoModelForCausalLM.from_pretrained(
            checkpoints["baseline"],
            quantization_config=BitsAndBytesConfig(load_in_8bit=True),
            device_map="cpu",
        )
    except (ImportError, RuntimeError) as error:
        pytest.skip(f"bitsandbytes cannot quantize on this machine: {error}")
    model.save_pretrained(quantized)
    AutoTokenizer.from_pretrained(checkpoints["baseline"]).save_pretrained(quantized)
    backend = load(quantized, Settings(device="cpu"))
    assert backend.identity["quantization"]["quant_method"] == "bitsandbytes"
    assert backend.label == f"{quantized} (bitsandbytes 8-bit quantized, float32)"
    generation = {"do_sample": False, "num_beams": 1, "max_new_tokens": 8}
    assert backend.complete("Q: What is two plus two? A:", generation, seed=0).run.output_tokens


def test_merging_a_prompt_learning_adapter_is_refused(checkpoints, tmp_path):
    peft = pytest.importorskip("peft")
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(checkpoints["baseline"])
    config = peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=4)
    peft.get_peft_model(base, config).save_pretrained(tmp_path / "prompt")
    unmerged = load(tmp_path / "prompt", Settings())
    assert unmerged.identity["adapter"]["peft_type"] == "PROMPT_TUNING"
    with pytest.raises(ModelLoadError) as raised:
        load(tmp_path / "prompt", Settings(adapter_mode="merged"))
    assert str(raised.value) == (
        f"--llm-candidate={tmp_path / 'prompt'} is a PROMPT_TUNING adapter, a prompt-learning "
        "adapter, which has no weights to merge: judge it with --llm-adapter-mode=unmerged."
    )


def test_adapter_whose_base_cannot_be_loaded_names_the_base(checkpoints, tmp_path):
    pytest.importorskip("peft")
    base = tmp_path / "base"
    base.mkdir()
    shutil.copy(checkpoints["baseline"] / "config.json", base / "config.json")  # no weights
    adapter = make_adapter(
        tmp_path / "adapter", {"peft_type": "LORA", "base_model_name_or_path": str(base)}
    )
    with pytest.raises(ModelLoadError) as raised:
        load(adapter, Settings())
    assert _fnmatch(
        str(raised.value),
        f"--llm-candidate={adapter} is a LoRA adapter; its base model {base} could not be "
        "loaded: *. Name the base model with --llm-adapter-base=MODEL if it is elsewhere.",
    )


def _fnmatch(text: str, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(text, pattern.replace("[", "[[]"))


# --- CPU threads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "device", "workers", "cores", "expected"),
    [
        ("auto", "cpu", None, 2, 1),  # one core left for a neighbour
        ("auto", "cpu", None, 16, 15),
        ("auto", "cpu", "4", 16, 3),  # shared among xdist workers
        ("auto", "cpu", "8", 4, 1),
        ("auto", "cpu", None, 1, 1),
        ("auto", "cuda", None, 16, None),  # torch's own default off the CPU
        (6, "cuda", None, 16, 6),
        (3, "cpu", "4", 16, 3),  # a number is taken as it is
    ],
)
def test_threads_for(monkeypatch, setting, device, workers, cores, expected):
    from pytest_llmperf.backends import threads

    monkeypatch.setattr(threads, "usable_cores", lambda: cores)
    environ = {} if workers is None else {"PYTEST_XDIST_WORKER_COUNT": workers}
    assert threads.threads_for(setting, device, environ) == expected


def test_threads_setting_parses(tmp_path):
    assert settings(tmp_path, {"threads": "2"}, {}).threads == 2
    assert settings(tmp_path, {}, {"threads": "auto"}).threads == "auto"
    with pytest.raises(ConfigError, match="must be auto or a whole number of at least 1"):
        settings(tmp_path, {"threads": "0"}, {})
