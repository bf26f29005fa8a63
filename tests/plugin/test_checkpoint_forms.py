"""Checkpoints as users have them: PEFT adapters, other dtypes, quantized checkpoints."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil

import pytest

from tests.plugin.helpers import PROMPTS, run, summary_verdicts

TEST = "test_forms.py::test_answers"
SETTINGS = "[tool.llmperf]\nrepeats = 3\n"

# Writes the texts of each model it is given, to compare runs with each other afterwards.
FORMS_TEST = f"""
import json
import pytest

PROMPTS = {PROMPTS!r}

@pytest.mark.assert_within_budget(tokens_ratio=1.0, latency_ratio=100)
def test_answers(llm_candidate):
    result = llm_candidate.generate(PROMPTS)
    with open("texts.json", "w") as handle:
        json.dump(result.texts, handle)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_forms=FORMS_TEST)
    return pytester


def texts(project: pytest.Pytester) -> list[str]:
    return json.loads((project.path / "texts.json").read_text())


def observed_ratio(result: pytest.RunResult, limit: str) -> str:
    """The candidate/baseline ratio the summary table shows for a limit, e.g. '1.37x'."""
    pattern = re.compile(rf"^\s+{re.escape(TEST)}\s.*\s{limit}\s.*\s(?:pass|FAIL)\W+(\d+\.\d+x)")
    return next(m.group(1) for line in result.outlines if (m := pattern.match(line)))


def assert_no_traceback(result: pytest.RunResult) -> None:
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "pytest_llmperf/" not in output


# -- PEFT adapters ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["unmerged", "merged"])
def test_verbose_lora_adapter_fails_its_budget_naming_its_form(project, checkpoints, lora, mode):
    result = run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={lora['adapter']}",
        f"--llm-adapter-mode={mode}",
    )
    result.assert_outcomes(failed=1)
    assert summary_verdicts(result)[(TEST, "tokens_ratio")] == "FAIL"
    result.stdout.fnmatch_lines(
        [
            f"*candidate: {lora['adapter']} (LoRA adapter on {checkpoints['baseline']}, {mode}, float32)",
            "*tokens_ratio*FAIL*",
        ]
    )
    assert_no_traceback(result)


def test_unmerged_and_merged_adapter_answer_as_the_merged_checkpoint(project, lora, capsys):
    ratios = {}
    answers = {}
    for mode in ("unmerged", "merged"):
        result = run(
            project,
            f"--llm-baseline={lora['merged']}",
            f"--llm-candidate={lora['adapter']}",
            f"--llm-adapter-mode={mode}",
        )
        result.assert_outcomes(passed=1)
        assert summary_verdicts(result)[(TEST, "tokens_ratio")] == "pass"
        ratios[mode] = observed_ratio(result, "latency_ratio")
        answers[mode] = texts(project)
    assert answers["unmerged"] == answers["merged"]
    with capsys.disabled():  # what the timings were, for reading with -s; not asserted
        print(f"\nlatency_ratio against the merged checkpoint: {ratios}")


def test_adapter_snapshot_records_the_adapter_and_its_base(project, checkpoints, lora):
    result = run(project, f"--llm-baseline={lora['adapter']}", "--llm-update")
    result.assert_outcomes(passed=1)
    snapshot = json.loads(
        (project.path / ".llmperf" / "test_forms" / "test_answers.json").read_text()
    )
    model = snapshot["model"]
    assert model["name"] == str(lora["adapter"])
    assert model["adapter"]["peft_type"] == "LORA"
    assert model["adapter"]["mode"] == "unmerged"
    assert len(model["adapter"]["weights_sha256"]) == 16
    assert model["base_model"]["name"] == str(checkpoints["baseline"])
    assert model["base_model"]["config_sha256"] == model["config_sha256"]


def test_adapter_base_option_replaces_the_recorded_base(project, checkpoints, lora):
    moved = project.path / "moved-adapter"
    shutil.copytree(lora["adapter"], moved)
    config = json.loads((moved / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "/home/someone/models/baseline"
    (moved / "adapter_config.json").write_text(json.dumps(config))

    missing = run(project, f"--llm-candidate={moved}")
    missing.assert_outcomes(errors=1)
    missing.stdout.fnmatch_lines(
        [
            f"*--llm-candidate={moved} is a LoRA adapter on /home/someone/models/baseline (as its "
            "adapter_config.json records), but there is no such directory here. Name the base "
            "model with --llm-adapter-base=MODEL*"
        ]
    )
    assert_no_traceback(missing)

    given = run(
        project,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={moved}",
        f"--llm-adapter-base={checkpoints['baseline']}",
    )
    given.assert_outcomes(failed=1)  # the verbose adapter, now loaded on the base given
    given.stdout.fnmatch_lines(
        [f"*candidate: {moved} (LoRA adapter on {checkpoints['baseline']}, unmerged, float32)"]
    )


def test_adapter_on_the_wrong_base_fails_with_a_message(project, checkpoints, lora):
    result = run(
        project,
        f"--llm-candidate={lora['adapter']}",
        f"--llm-adapter-base={checkpoints['slow']}",
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*--llm-candidate={lora['adapter']}: the LoRA adapter could not be applied to its base "
            "model (*). Check that it was trained on that base; --llm-adapter-base=MODEL names another."
        ]
    )
    assert_no_traceback(result)


def test_adapter_with_broken_config_is_a_usage_error(pytester):
    adapter = pytester.path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{not json")
    result = run(pytester, f"--llm-candidate={adapter}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*--llm-candidate={adapter}: adapter_config.json is not valid JSON (*). Save the adapter again*"
        ]
    )
    assert_no_traceback(result)


def test_without_peft_an_adapter_is_a_usage_error_and_full_checkpoints_still_run(
    pytester, checkpoints, lora
):
    # Loaded first, before the plugin configures: as if peft were not installed.
    pytester.makeconftest("import sys\nsys.modules['peft'] = None\n")
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_forms=FORMS_TEST)
    adapter = run(pytester, f"--llm-candidate={lora['adapter']}")
    assert adapter.ret == pytest.ExitCode.USAGE_ERROR
    adapter.stderr.fnmatch_lines(
        [
            f"*--llm-candidate={lora['adapter']} is a PEFT adapter, and loading it needs the peft "
            "package, which is not installed: pip install peft (or pip install 'pytest-llmperf[[]peft]')."
        ]
    )
    full = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['copy']}",
    )
    full.assert_outcomes(passed=1)


# -- dtypes -------------------------------------------------------------------------------

BOTH_MODELS_TEST = f"""
import json
import pytest

PROMPTS = {PROMPTS!r}

@pytest.mark.assert_within_budget(tokens_ratio=1.0)
def test_answers(llm_baseline, llm_candidate):
    baseline = llm_baseline.generate(PROMPTS)
    candidate = llm_candidate.generate(PROMPTS)
    with open("texts.json", "w") as handle:
        json.dump({{"baseline": baseline.texts, "candidate": candidate.texts}}, handle)
"""


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_copy_is_judged_against_the_float32_baseline(
    pytester, checkpoints, half_precision, dtype, capsys
):
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_forms=BOTH_MODELS_TEST)
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={half_precision[dtype]}",
    )
    answers = json.loads((pytester.path / "texts.json").read_text())
    verdict = summary_verdicts(result)[(TEST, "tokens_ratio")]
    # Rounding may change a greedy token; the same answers must give the same token counts.
    if answers["candidate"] == answers["baseline"]:
        assert verdict == "pass"
        result.assert_outcomes(passed=1)
    changed = [
        (before, after)
        for before, after in zip(answers["baseline"], answers["candidate"], strict=True)
        if before != after
    ]
    with capsys.disabled():  # what rounding did to the answers, for reading with -s
        print(f"\n{dtype} copy: {len(changed)} of {len(PROMPTS)} answers differ: {changed}")


def test_per_model_dtype_settings_win_over_dtype(pytester, checkpoints):
    pytester.makepyprojecttoml(SETTINGS + 'dtype = "float16"\nbaseline_dtype = "bfloat16"\n')
    pytester.makepyfile(test_forms=FORMS_TEST)
    recorded = run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update")
    recorded.assert_outcomes(passed=1)
    snapshot = pytester.path / ".llmperf" / "test_forms" / "test_answers.json"
    assert json.loads(snapshot.read_text())["model"]["dtype"] == "bfloat16"

    # output_tokens=1 is a limit every answer goes over: it makes the verdict print.
    pytester.makepyfile(
        test_forms=FORMS_TEST.replace("latency_ratio=100", "latency_ratio=100, output_tokens=1")
    )
    judged = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['copy']}",
        "--llm-candidate-dtype=float32",
    )
    judged.assert_outcomes(failed=1)
    judged.stdout.fnmatch_lines([f"*candidate: {checkpoints['copy']}", "*output_tokens*FAIL*"])
    assert f"{checkpoints['copy']} (" not in judged.stdout.str()  # plain float32: no form


# -- quantized checkpoints ----------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is not None,
    reason="bitsandbytes is installed: whether the 4-bit form runs depends on this machine",
)
def test_quantized_candidate_that_cannot_run_here_is_skipped_with_the_reason(
    project, checkpoints, tmp_path
):
    quantized = tmp_path / "bnb-4bit"
    shutil.copytree(checkpoints["baseline"], quantized)
    config = json.loads((quantized / "config.json").read_text())
    config["quantization_config"] = {
        "quant_method": "bitsandbytes",
        "load_in_4bit": True,
        "bnb_4bit_quant_type": "nf4",
        "bnb_4bit_compute_dtype": "float16",
    }
    (quantized / "config.json").write_text(json.dumps(config))
    project.makepyfile(test_other="def test_not_about_models():\n    pass\n")
    result = run(
        project,
        "-rs",
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={quantized}",
    )
    result.assert_outcomes(skipped=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            f"SKIPPED [[]1[]] *--llm-candidate={quantized} is quantized (bitsandbytes 4-bit), "
            "which cannot run on * here: *requires bitsandbytes*"
        ]
    )
    assert_no_traceback(result)
