"""Every bad input: a clear message that names the problem and the fix, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin.helpers import BUDGET_TEST, PRICES, PROMPTS, run, summary_verdicts


def assert_no_traceback(result: pytest.RunResult) -> None:
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "pytest_llmperf/" not in output  # none of our frames shown


def test_missing_checkpoint_directory_is_a_usage_error(pytester):
    result = run(pytester, "--llm-candidate=./no-such-ckpt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--llm-candidate=*no-such-ckpt: no such directory*save_pretrained*"]
    )
    assert_no_traceback(result)


def test_directory_without_a_model_is_a_usage_error(pytester):
    (pytester.path / "notes").mkdir()
    (pytester.path / "notes" / "README.txt").write_text("not a model")
    result = run(pytester, "--llm-baseline=./notes")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--llm-baseline=*notes is not a model checkpoint: it has no config.json*"]
    )


def test_unloadable_hub_id_fails_the_test_with_a_message(pytester, monkeypatch):
    # huggingface_hub reads HF_HUB_OFFLINE at import: a fresh process sees it, and fails fast.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pytester.makepyfile(
        "def test_a(llm_candidate):\n    pass\n\ndef test_b(llm_candidate):\n    pass\n"
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--llm-candidate=nobody-org/no-such-model"
    )
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*--llm-candidate=nobody-org/no-such-model could not be loaded*"])
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (
            "--llm-repeats=0",
            "*'0' is not a valid value for --llm-repeats: it must be a whole number of at least 1*",
        ),
        ("--llm-repeats=many", "*'many' is not a valid value for --llm-repeats*"),
        (
            "--llm-device=gpu",
            "*'gpu' is not a valid value for --llm-device: it must be auto, cpu, cuda, cuda:N or mps*",
        ),
        ("--llm-dtype=int3", "*--llm-dtype: it must be one of: auto, float32, float16, bfloat16*"),
        ("--llm-latency-statistic=p42", "*must be one of: p50, p90, p95, p99*"),
        ("--llm-price-input=-1", "*--llm-price-input: it must be a finite number of at least 0*"),
        (
            "--llm-update",
            "*--llm-update records the baseline's measurements, but no baseline was given*",
        ),
    ],
)
def test_bad_option_is_a_usage_error(pytester, option, message):
    result = run(pytester, option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert_no_traceback(result)


def test_bad_pyproject_values_are_usage_errors(pytester):
    pytester.makepyprojecttoml('[tool.llmperf]\nrepeat = 3\nlatency_statistic = "p42"\n')
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown key(s) in [tool.llmperf]: repeat. Valid keys: baseline," in result.stderr.str()


def test_command_line_wins_over_pyproject(pytester):
    pytester.makepyprojecttoml('[tool.llmperf]\nlatency_statistic = "p42"\n')
    result = run(pytester, "--llm-latency-statistic=p99")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (
            "latancy_ms=400",
            "*unknown limit 'latancy_ms' in assert_within_budget. Did you mean 'latency_ms'? Valid limits: latency_ms, ttft_ms,*",
        ),
        ("latency_ratio=-1.2", "*limit latency_ratio=-1.2 must be greater than 0.*"),
        (
            "tokens_ratio='1.1'",
            "*limit tokens_ratio='1.1' is not a finite number: give it a number*",
        ),
        ("min_accuracy=87", "*limit min_accuracy=87 must lie between 0 and 1*"),
        ("", "*assert_within_budget needs at least one limit*"),
    ],
)
def test_bad_limit_is_a_collection_error(pytester, limits, message):
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.assert_within_budget({limits})
        def test_budget(llm_candidate):
            pass

        def test_other():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ERROR collecting*", message])
    assert_no_traceback(result)


@pytest.fixture
def recorded(pytester, checkpoints) -> Path:
    """A project with the baseline's snapshot recorded; returns the snapshot's path."""
    pytester.makepyprojecttoml(PRICES)
    pytester.makepyfile(test_budget=BUDGET_TEST)
    run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update").assert_outcomes(
        passed=2
    )
    return pytester.path / ".llmperf" / "test_budget" / "test_answers.json"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"schema_version": 1, "calls": [',
            "*is not valid JSON*fix or delete it, or re-record it with --llm-baseline=MODEL --llm-update*",
        ),
        ('{"schema_version": 99}', "*has schema_version 99, this pytest-llmperf reads 1*"),
        ('{"schema_version": 1, "test": "x"}', "*is malformed*re-record*"),
    ],
)
def test_unreadable_snapshot_fails_the_test_and_is_left_untouched(
    pytester, checkpoints, recorded, content, message
):
    recorded.write_text(content)
    result = run(pytester, f"--llm-candidate={checkpoints['copy']}")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([message])
    assert recorded.read_text() == content
    assert_no_traceback(result)


def test_newer_schema_snapshot_is_not_overwritten_by_update(pytester, checkpoints, recorded):
    recorded.write_text('{"schema_version": 99}')
    result = run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        ["*written with schema_version 99 by a newer pytest-llmperf; it is left as it is*"]
    )
    assert recorded.read_text() == '{"schema_version": 99}'


def test_snapshot_from_other_hardware_is_not_compared_silently(pytester, checkpoints, recorded):
    data = json.loads(recorded.read_text())
    data["environment"]["hardware"]["device_name"] = "NVIDIA H100 80GB HBM3"
    data["environment"]["hardware"]["device_type"] = "cuda"
    recorded.write_text(json.dumps(data))
    # -W default: this suite runs with warnings as errors, and in-process runs inherit it.
    result = run(pytester, f"--llm-candidate={checkpoints['verbose']}", "-W", "default")
    verdicts = summary_verdicts(result)
    assert verdicts[("test_budget.py::test_answers", "latency_ratio")] == "not compared"
    assert verdicts[("test_budget.py::test_answers", "tokens_ratio")] == "FAIL"
    result.stdout.fnmatch_lines(
        [
            "*latency_ratio: the snapshot was measured on other hardware (device_type: 'cuda' -> 'cpu'*",
            "*LlmPerfHardwareWarning: the snapshot was measured on other hardware*",
        ]
    )

    strict = run(pytester, f"--llm-candidate={checkpoints['copy']}", "--llm-hardware-mismatch=fail")
    assert summary_verdicts(strict)[("test_budget.py::test_answers", "latency_ratio")] == "FAIL"


def test_changed_workload_does_not_compare_against_stale_snapshot(pytester, checkpoints, recorded):
    pytester.makepyfile(test_budget=BUDGET_TEST.replace("max_new_tokens=48", "max_new_tokens=40"))
    result = run(pytester, f"--llm-candidate={checkpoints['copy']}")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        ["*the test's calls differ from those recorded in*re-record the snapshot*--llm-update*"]
    )


def test_relative_limit_without_any_baseline_says_how_to_record_one(pytester, checkpoints):
    pytester.makepyfile(test_budget=BUDGET_TEST)
    result = run(pytester, f"--llm-candidate={checkpoints['copy']}")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*no baseline: no --llm-baseline and no snapshot at*Record one with `pytest --llm-baseline=MODEL --llm-update`*"
        ]
    )


def test_absolute_limits_need_no_baseline(pytester, checkpoints):
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.assert_within_budget(latency_ms=60000, output_tokens=10)
        def test_sla(llm_candidate):
            llm_candidate.generate({PROMPTS!r})
        """
    )
    run(pytester, f"--llm-candidate={checkpoints['baseline']}").assert_outcomes(passed=1)
    run(pytester, f"--llm-candidate={checkpoints['verbose']}").assert_outcomes(failed=1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "llm_candidate.generate([])",
            "*generate() was given an empty list of prompts: pass at least one.*",
        ),
        (
            "llm_candidate.generate('word ' * 200)",
            "*prompt 0 is * tokens; with max_new_tokens=32 that exceeds *'s context of 128 tokens. Shorten the prompt or lower max_new_tokens.*",
        ),
        ("llm_candidate.generate('')", "*prompt 0 encodes to no tokens*"),
        (
            "llm_candidate.generate(['a'], expected=['x', 'y'])",
            "*expected has 2 answers for 1 prompts*",
        ),
        (
            "llm_candidate.generate('a', streamer=object())",
            "*keyword arguments must be plain values*",
        ),
    ],
)
def test_bad_generate_call_fails_the_test_with_a_message(pytester, checkpoints, call, message):
    pytester.makepyfile(f"def test_call(llm_candidate):\n    {call}\n")
    result = run(pytester, f"--llm-candidate={checkpoints['baseline']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert_no_traceback(result)


def test_marked_test_without_calls_is_told_what_is_judged(pytester, checkpoints):
    pytester.makepyfile(
        "import pytest\n\n@pytest.mark.assert_within_budget(latency_ms=100)\n"
        "def test_nothing(llm_candidate):\n    pass\n"
    )
    result = run(pytester, f"--llm-candidate={checkpoints['baseline']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*made no calls through llm_candidate*"])


def test_cuda_out_of_memory_fails_that_test_and_the_session_goes_on(pytester, checkpoints):
    pytester.makepyfile(
        """
        import torch
        from transformers import GPT2LMHeadModel

        def test_oom(llm_candidate, monkeypatch):
            def out_of_memory(*args, **kwargs):
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
            monkeypatch.setattr(GPT2LMHeadModel, "generate", out_of_memory)
            llm_candidate.generate("Q: What is two plus two? A:")

        def test_after(llm_candidate):
            assert llm_candidate.generate("Q: What is two plus two? A:").text.strip() == "Four."
        """
    )
    result = run(pytester, f"--llm-candidate={checkpoints['baseline']}")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(["*CUDA ran out of memory*lower the batch size or max_new_tokens*"])
    assert_no_traceback(result)
