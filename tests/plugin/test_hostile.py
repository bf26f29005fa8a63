"""End to end, as a hostile user and a misbehaving server would run the plugin: no secret in
any output, no silent pass on bad data, no budget dropped, one clear message per fault."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin.helpers import FAULT_TEST, run, summary_verdicts
from tests.servers import fake_server

KEY = "sk-proj/SECRET0123456789abcdefghij"


def everything_written(pytester: pytest.Pytester, result: pytest.RunResult) -> str:
    """The terminal, and every file the run left (JUnit, JSON, Markdown, snapshots)."""
    files = [
        path.read_text(errors="replace")
        for path in pytester.path.rglob("*")
        if path.is_file() and path.suffix in {".json", ".xml", ".md", ".html"}
    ]
    return "\n".join([result.stdout.str(), result.stderr.str(), *files])


def leaked(text: str, secret: str = KEY, fragment: int = 8) -> list[str]:
    pieces = {secret[i : i + fragment] for i in range(len(secret) - fragment + 1)}
    return sorted(piece for piece in pieces if piece in text)


def test_a_server_echoing_the_key_shows_no_fragment_of_it(pytester, monkeypatch):
    monkeypatch.setenv("STAGING_KEY", KEY)
    pytester.makepyprojecttoml('[tool.llmperf]\napi_key_env = "STAGING_KEY"\n')
    pytester.makepyfile(test_fault=FAULT_TEST)
    with fake_server() as server:
        result = run(
            pytester,
            f"--llm-candidate=echo-key@{server.url}",
            "--junitxml=junit.xml",
            "--llm-report=report.json",
            "--llm-markdown=report.md",
        )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*answered HTTP 401*the key in STAGING_KEY was not accepted*"])
    assert server.requests[0]["headers"]["Authorization"] == f"Bearer {KEY}"
    assert leaked(everything_written(pytester, result)) == []


def test_a_rejected_url_never_echoes_its_query(pytester):
    pytester.makepyfile(test_fault=FAULT_TEST)
    result = run(pytester, f"--llm-candidate=m@http://127.0.0.1:9/v1?api_key={KEY}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-candidate=m@http://127.0.0.1:9/v1: *query*api_key_env*"])
    assert leaked(result.stdout.str() + result.stderr.str()) == []


@pytest.mark.parametrize("given", ["sk-abc123secretvalue", "sk_abc123secretvalue"])
def test_a_key_given_as_the_variable_name_is_never_printed(pytester, given):
    pytester.makepyfile(test_fault=FAULT_TEST)
    with fake_server() as server:
        result = run(pytester, f"--llm-candidate=ok@{server.url}", f"--llm-api-key-env={given}")
    output = result.stdout.str() + result.stderr.str()
    assert leaked(output, given) == []
    assert "not shown" in output
    assert result.ret != pytest.ExitCode.OK


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("negative-usage", "*impossible token usage: usage.completion_tokens must be a whole*-5*"),
        ("huge-usage", "*usage.completion_tokens is 1000000000000000, more than the 8 asked*"),
    ],
)
def test_impossible_server_usage_fails_the_test(pytester, model, message):
    pytester.makepyfile(test_fault=FAULT_TEST)
    with fake_server() as server:
        result = run(pytester, f"--llm-candidate={model}@{server.url}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])


def test_a_trickling_stream_meets_the_whole_request_deadline(pytester):
    pytester.makepyfile(test_fault=FAULT_TEST)
    with fake_server() as server:
        result = run(
            pytester,
            f"--llm-candidate=trickle@{server.url}",
            "--llm-request-timeout=1",
            "--llm-warmup=0",
            "--llm-repeats=1",
        )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*did not finish answering within 1 s*"])
    # The server would trickle for 40 s; the run stopped at the deadline, long before.
    assert server.count["trickle"] == 1


def _record_snapshot(pytester: pytest.Pytester, checkpoints: dict[str, Path]) -> Path:
    pytester.makepyfile(
        test_snap="""
        import pytest

        @pytest.mark.assert_within_budget(latency_ratio=1.5)
        def test_answers(llm_candidate):
            llm_candidate.generate(["Q: why? A:"], max_new_tokens=4)
        """
    )
    args = ("--llm-repeats=2", "--llm-warmup=0")
    run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update", *args)
    return pytester.path / ".llmperf" / "test_snap" / "test_answers.json"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "latency_ms",
            float("inf"),
            "*latency_ms[[]0[]] must be a finite number above 0, not inf*",
        ),
        ("latency_ms", -3.0, "*latency_ms[[]0[]] must be a finite number above 0, not -3.0*"),
        ("hit_max_new_tokens", "false", "*hit_max_new_tokens[[]0[]] must be true or false*"),
        ("output_tokens", -1, "*output_tokens[[]0[]] must be a whole number*"),
    ],
)
def test_a_bad_number_in_a_snapshot_is_an_error_naming_file_and_field(
    pytester, checkpoints, field, value, message
):
    path = _record_snapshot(pytester, checkpoints)
    data = json.loads(path.read_text())
    column = data["calls"][0]["samples"][0][field]
    data["calls"][0]["samples"][0][field] = [value] * len(column)
    path.write_text(json.dumps(data))  # json writes inf as Infinity, as a hostile file may
    result = run(pytester, f"--llm-candidate={checkpoints['copy']}", "--llm-repeats=2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*snapshot {path} is malformed: calls[[]0[]].samples[[]0[]]*"])
    result.stdout.fnmatch_lines([message])
    assert "Traceback" not in result.stdout.str()


def test_a_marked_test_without_llm_candidate_is_a_collection_error(pytester):
    pytester.makepyfile(
        test_unjudged="""
        import pytest

        @pytest.mark.assert_within_budget(tokens_ratio=1.1)
        def test_baseline_only(llm_baseline):
            pass

        @pytest.mark.assert_within_budget(tokens_ratio=1.1)
        def test_nothing():
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*test_baseline_only: is marked assert_within_budget but does not take the "
            "llm_candidate fixture*add llm_candidate*",
            "*test_nothing: is marked*",
        ]
    )


def test_class_and_stacked_markers_all_count_at_their_strictest(pytester, checkpoints):
    pytester.makepyfile(
        test_stacked="""
        import pytest

        PROMPTS = ["Q: why is the sky blue? A:"]

        @pytest.mark.assert_within_budget(tokens_ratio=0.5)
        class TestVerbose:
            @pytest.mark.assert_within_budget(output_tokens=10000)
            @pytest.mark.assert_within_budget(tokens_ratio=5.0, output_tokens=2)
            def test_answers(self, llm_candidate):
                llm_candidate.generate(PROMPTS, max_new_tokens=16)
        """
    )
    result = run(
        pytester,
        f"--llm-baseline={checkpoints['baseline']}",
        f"--llm-candidate={checkpoints['verbose']}",
        "--llm-repeats=1",
        "--llm-warmup=0",
    )
    result.assert_outcomes(failed=1)
    verdicts = summary_verdicts(result)
    test = "test_stacked.py::TestVerbose::test_answers"
    assert verdicts[(test, "tokens_ratio")] == "FAIL"  # 0.5 from the class marker
    assert verdicts[(test, "output_tokens")] == "FAIL"  # 2 from the lower stacked marker


SMALL_TEST = """
import pytest

@pytest.mark.assert_within_budget(output_tokens=100)
def test_answers(llm_candidate):
    llm_candidate.generate(["Q: why? A:"], max_new_tokens=MAX)
"""


def _assert_one_clear_message(result: pytest.RunResult) -> None:
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "During handling of the above exception" not in output
    assert "pytest_llmperf/" not in output


def _broken_copy(source: Path, target: Path, how: str) -> Path:
    import shutil

    import torch

    shutil.copytree(source, target)
    if how == "truncated-safetensors":
        weights = target / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[:100])
    elif how == "unsafe-pickle":
        import datetime

        (target / "model.safetensors").unlink()
        torch.save({"when": datetime.date(2024, 1, 1)}, target / "pytorch_model.bin")
    elif how == "auto-map":
        config = json.loads((target / "config.json").read_text())
        config["model_type"] = "mine"  # not a transformers model: only its own code loads it
        config["auto_map"] = {
            "AutoConfig": "modeling_mine.MyConfig",
            "AutoModelForCausalLM": "modeling_mine.MyModel",
        }
        (target / "config.json").write_text(json.dumps(config))
    elif how == "no-tokenizer-files":
        for name in ("tokenizer.json", "vocab.json", "merges.txt"):
            (target / name).unlink(missing_ok=True)
    return target


@pytest.mark.parametrize(
    ("how", "fix"),
    [
        ("truncated-safetensors", "*damaged or cut short: save or download the checkpoint again*"),
        ("unsafe-pickle", "*re-save the checkpoint with save_pretrained(DIR)*"),
        ("auto-map", "*add --llm-trust-remote-code*"),
        ("no-tokenizer-files", "*tokenizer files*missing*tokenizer.save_pretrained(DIR)*"),
    ],
)
def test_a_broken_checkpoint_fails_once_naming_the_fix(pytester, checkpoints, tmp_path, how, fix):
    broken = _broken_copy(checkpoints["baseline"], tmp_path / how, how)
    pytester.makepyfile(test_small=SMALL_TEST.replace("MAX", "4"))
    result = run(pytester, f"--llm-candidate={broken}")
    result.assert_outcomes(errors=1)  # the model loads in the fixture
    result.stdout.fnmatch_lines([fix])
    assert f"--llm-candidate={broken}" in result.stdout.str()
    _assert_one_clear_message(result)


@pytest.mark.parametrize("max_new_tokens", ["0", "-3", "1.5"])
def test_a_bad_max_new_tokens_fails_once(pytester, checkpoints, max_new_tokens):
    pytester.makepyfile(test_small=SMALL_TEST.replace("MAX", max_new_tokens))
    result = run(pytester, f"--llm-candidate={checkpoints['baseline']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*max_new_tokens=* in generate(): it must be a whole number*"])
    _assert_one_clear_message(result)


def test_a_seed_past_64_bits_is_a_usage_error(pytester):
    pytester.makepyfile(test_small=SMALL_TEST.replace("MAX", "4"))
    result = run(pytester, f"--llm-seed={2**64}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--llm-seed*from 0 to 9223372036854775807*"])


def test_an_unwritable_snapshot_dir_is_found_before_measuring(pytester, checkpoints):
    pytester.makepyfile(test_small=SMALL_TEST.replace("MAX", "4"))
    (pytester.path / ".llmperf").write_text("a file where the snapshot directory goes")
    result = run(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*snapshot directory names *.llmperf, which is a file*"])


def test_a_second_update_run_on_one_directory_is_refused(pytester):
    from pytest_llmperf.snapshots.lock import hold_update_lock

    pytester.makepyfile(test_small=SMALL_TEST.replace("MAX", "4"))
    first_run = hold_update_lock(pytester.path / ".llmperf")
    try:
        result = run(pytester, "--llm-baseline=gpt2", "--llm-update")
    finally:
        first_run.release()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*another --llm-update run is writing snapshots in *.llmperf*"])


def test_a_key_too_short_to_mask_is_refused_at_start(pytester, monkeypatch):
    monkeypatch.setenv("STAGING_KEY", "k3y")
    pytester.makepyfile(test_fault=FAULT_TEST)
    result = run(
        pytester, "--llm-candidate=m@http://127.0.0.1:9/v1", "--llm-api-key-env=STAGING_KEY"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*API key in the environment variable STAGING_KEY is shorter*"])
    assert "k3y" not in result.stdout.str() + result.stderr.str()


def test_a_candidate_name_holding_the_key_never_becomes_a_test_id(pytester, monkeypatch):
    monkeypatch.setenv("STAGING_KEY", KEY)
    pytester.makepyfile(test_fault=FAULT_TEST)
    result = run(
        pytester,
        "-rA",
        "--junitxml=junit.xml",
        f"--llm-candidate=sk-{KEY[8:]}=m@http://127.0.0.1:9/v1",
        "--llm-candidate=other=m@http://127.0.0.1:9/v1",
        "--llm-api-key-env=STAGING_KEY",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*a candidate's name (*) holds a secret*NAME=MODEL*"])
    assert leaked(everything_written(pytester, result)) == []


@pytest.mark.parametrize("value", ["10**400", "float('nan')", "True", "'400'"])
def test_a_strange_marker_limit_is_a_collection_error_not_an_internal_error(pytester, value):
    pytester.makepyfile(
        test_huge=f"""
        import pytest

        @pytest.mark.assert_within_budget(latency_ms={value})
        def test_answers(llm_candidate):
            pass
        """
    )
    result = run(pytester)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error, not exit 3
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output and "Traceback" not in output
    result.stdout.fnmatch_lines(["*test_answers: limit latency_ms=* is not a finite number*"])


def test_a_huge_integer_in_a_snapshots_figures_is_an_error_naming_the_field(pytester, checkpoints):
    path = _record_snapshot(pytester, checkpoints)
    data = json.loads(path.read_text())
    assert "figures" in data["calls"][0]  # a local checkpoint's snapshot has them
    data["calls"][0]["figures"]["weights_mb"] = 10**400
    path.write_text(json.dumps(data))
    result = run(pytester, f"--llm-candidate={checkpoints['copy']}", "--llm-repeats=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*snapshot {path} is malformed: calls[[]0[]].figures.weights_mb must be null or a "
            "finite number of at least 0, not an integer of about 401 digits*"
        ]
    )
    assert "Traceback" not in result.stdout.str() and "OverflowError" not in result.stdout.str()


def test_a_sessions_secrets_are_forgotten_when_it_ends(pytester, monkeypatch):
    """Two sessions in one process (as pytester's in-process runs): the first one's key
    must not mask the text of the second, which never saw it."""
    monkeypatch.setenv("STAGING_KEY", KEY)
    pytester.makepyfile(test_fault=FAULT_TEST)
    first = run(
        pytester, "--llm-candidate=m@http://127.0.0.1:9/v1", "--llm-api-key-env=STAGING_KEY"
    )
    assert leaked(first.stdout.str() + first.stderr.str()) == []
    monkeypatch.delenv("STAGING_KEY")
    second = run(pytester, f"--llm-candidate=./missing/{KEY[3:]}")
    assert KEY[3:] in second.stdout.str() + second.stderr.str()


def test_an_update_on_a_full_disk_names_the_file_and_keeps_the_old_snapshot(
    pytester, checkpoints, monkeypatch
):
    import errno
    import os

    pytester.makepyfile(test_small=SMALL_TEST.replace("MAX", "4"))
    update = (f"--llm-baseline={checkpoints['baseline']}", "--llm-update", "--llm-repeats=1")
    run(pytester, *update).assert_outcomes(passed=1)
    snapshot = pytester.path / ".llmperf" / "test_small" / "test_answers.json"
    old = snapshot.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    result = run(pytester, *update)
    monkeypatch.undo()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*could not write the snapshot {snapshot}: No space left on device*left as it was*"]
    )
    _assert_one_clear_message(result)
    assert snapshot.read_bytes() == old
    assert sorted(path.name for path in snapshot.parent.iterdir()) == [snapshot.name]
