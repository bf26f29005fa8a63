"""Figures that do not depend on the machine, measured on real checkpoints and judged the
way a user runs the plugin: counted FLOPs, weights, the KV cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from pytest_llmperf.backends import load_backend
from pytest_llmperf.backends.transformers_backend import TransformersBackend
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.plugin.helpers import PROMPTS, run, summary_verdicts

GENERATION = {"max_new_tokens": 12, "min_new_tokens": 12, "do_sample": False, "num_beams": 1}
TEST = "test_figures.py::test_answers"

FIGURES_TEST = f"""
import pytest

@pytest.mark.assert_within_budget(flops_ratio=1.2, weights_ratio=1.2, latency_ratio=1.5)
def test_answers(llm_candidate):
    llm_candidate.generate({PROMPTS[:2]!r}, max_new_tokens=12)
"""


def backend(path: Path, **spec: str) -> TransformersBackend:
    loaded = load_backend(ModelSpec(str(path), path.parent, **spec), Settings())
    assert isinstance(loaded, TransformersBackend)
    return loaded


def count(model: TransformersBackend):
    return model.count_figures(PROMPTS[0], GENERATION, seed=0)


def test_counted_flops_are_the_same_on_every_run(checkpoints):
    model = backend(checkpoints["baseline"])
    first, second = count(model), count(model)
    assert first == second
    assert first.counted_flops > 0
    assert first.counted_tokens == len(model._tokenizer(PROMPTS[0])["input_ids"]) + 11


def test_a_bigger_model_counts_more_flops_per_token(checkpoints):
    small, big = count(backend(checkpoints["baseline"])), count(backend(checkpoints["slow"]))
    assert big.flops_per_token > 3 * small.flops_per_token
    assert big.weights_mb > 3 * small.weights_mb


def test_an_unmerged_adapter_adds_its_products_and_a_merged_one_does_not(checkpoints, lora):
    base = count(backend(checkpoints["baseline"]))
    unmerged = count(backend(lora["adapter"], adapter_mode="unmerged"))
    merged = count(backend(lora["adapter"], adapter_mode="merged"))
    assert unmerged.counted_tokens == merged.counted_tokens == base.counted_tokens
    assert merged.counted_flops == base.counted_flops
    assert unmerged.counted_flops > base.counted_flops
    assert unmerged.weights_mb > base.weights_mb == merged.weights_mb


def test_weights_of_a_float16_copy_are_half(checkpoints, half_precision):
    full = backend(checkpoints["baseline"]).weights_mb
    half = backend(half_precision["float16"]).weights_mb
    assert half == pytest.approx(full / 2, rel=0.01)


def test_kv_cache_from_the_config_matches_the_cache_generate_keeps(checkpoints):
    model = backend(checkpoints["baseline"])
    per_token = count(model).kv_cache_bytes_per_token
    encoded = model._tokenizer(PROMPTS[0], return_tensors="pt")
    with torch.inference_mode():
        output = model._model.generate(
            **encoded, **GENERATION, return_dict_in_generate=True, use_cache=True
        )
    cache = output.past_key_values
    held = sum(
        tensor.numel() * tensor.element_size()
        for layer in cache.layers
        for tensor in (layer.keys, layer.values)
    )
    cached_tokens = cache.get_seq_length()
    assert cached_tokens == encoded["input_ids"].shape[1] + GENERATION["max_new_tokens"] - 1
    assert per_token * cached_tokens == held


@pytest.fixture
def recorded(pytester: pytest.Pytester, checkpoints) -> Path:
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 2\n")
    pytester.makepyfile(test_figures=FIGURES_TEST)
    run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update").assert_outcomes(
        passed=1
    )
    return pytester.path / ".llmperf" / "test_figures" / "test_answers.json"


def test_more_compute_fails_against_a_snapshot_from_other_hardware(pytester, checkpoints, recorded):
    data = json.loads(recorded.read_text())
    assert data["summary"]["flops_per_token"] > 0
    assert data["calls"][0]["figures"]["counted_flops"] > 0
    data["environment"]["hardware"]["device_type"] = "cuda"
    data["environment"]["hardware"]["device_name"] = "NVIDIA H100 80GB HBM3"
    recorded.write_text(json.dumps(data))

    result = run(pytester, f"--llm-candidate={checkpoints['slow']}", "-W", "default")
    verdicts = summary_verdicts(result)
    assert verdicts[(TEST, "flops_ratio")] == "FAIL"
    assert verdicts[(TEST, "weights_ratio")] == "FAIL"
    assert verdicts[(TEST, "latency_ratio")] == "not compared"
    result.stdout.fnmatch_lines(["*weights, KV cache and FLOPs are: they do not depend on*"])
    result.stdout.fnmatch_lines(
        [
            "*FLOPs/token*",
            "*more compute per token: the model grew*",
            "*weights*larger: quantize*",
        ]
    )

    same = run(pytester, f"--llm-candidate={checkpoints['copy']}", "-W", "default")
    assert summary_verdicts(same)[(TEST, "flops_ratio")] == "pass"
    assert summary_verdicts(same)[(TEST, "weights_ratio")] == "pass"


def test_an_int8_copy_counts_the_same_flops_in_a_quarter_of_the_weights(checkpoints, tmp_path):
    pytest.importorskip("bitsandbytes")
    pytest.importorskip("accelerate")
    from example_project.qa_models import build_int8

    full = backend(checkpoints["baseline"])
    int8 = backend(build_int8(checkpoints["baseline"], tmp_path / "int8"))
    counted_full, counted_int8 = count(full), count(int8)
    assert counted_int8.counted_tokens == counted_full.counted_tokens
    # The int8 products count as their float counterparts: the work is the same.
    assert counted_int8.counted_flops == counted_full.counted_flops
    # Float16 embeddings and norms, int8 matrices: well under half the float32 weights.
    assert counted_int8.weights_mb < 0.5 * counted_full.weights_mb
