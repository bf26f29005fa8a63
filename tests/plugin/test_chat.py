"""Chat models as users fine-tune them: conversations through the model's own chat
template, a snapshot that knows the rendered prompts, and batched generation in process."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.models.chat import SYSTEM, conversation
from tests.models.tiny import QUESTIONS, SHORT_ANSWERS
from tests.plugin.helpers import run, summary_verdicts
from tests.plugin.test_bad_input import assert_no_traceback

CONVERSATIONS = [conversation(question) for question in QUESTIONS]
CHAT_TEST = f"""
import pytest

CONVERSATIONS = {CONVERSATIONS!r}
ANSWERS = {list(SHORT_ANSWERS)!r}

@pytest.mark.assert_within_budget(tokens_ratio=1.0, min_accuracy=1.0)
def test_chat(llm_candidate):
    llm_candidate.generate(CONVERSATIONS, expected=ANSWERS, max_new_tokens=16)
"""
NODE = "test_chat.py::test_chat"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 2\nwarmup = 0\n")
    pytester.makepyfile(test_chat=CHAT_TEST)
    return pytester


def _snapshot(project: pytest.Pytester) -> dict:
    return json.loads((project.path / ".llmperf" / "test_chat" / "test_chat.json").read_text())


def test_conversations_are_rendered_by_the_chat_template_and_recorded(project, chat_models):
    chat = chat_models["chat"]
    recorded = run(project, f"--llm-baseline={chat}", "--llm-update")
    recorded.assert_outcomes(passed=1)
    call = _snapshot(project)["calls"][0]
    assert len(call["rendered_sha256"]) == 64
    # The template's role tokens are input tokens: more than the question's words alone.
    assert all(sample["input_tokens"] > 8 for sample in call["samples"])

    same = run(project, f"--llm-candidate={chat}")
    same.assert_outcomes(passed=1)
    assert "chat templates differ" not in same.stdout.str()

    other = run(project, f"--llm-candidate={chat_models['other_template']}", "-rA")
    assert "chat templates differ" in other.stdout.str()
    assert summary_verdicts(other)[(NODE, "tokens_ratio")] in {"pass", "FAIL"}
    assert _snapshot(project)["calls"][0]["rendered_sha256"] == call["rendered_sha256"]


def test_a_changed_system_prompt_is_a_changed_workload(project, chat_models):
    chat = chat_models["chat"]
    run(project, f"--llm-baseline={chat}", "--llm-update").assert_outcomes(passed=1)
    project.makepyfile(test_chat=CHAT_TEST.replace(SYSTEM, "You are a helpful assistant."))
    result = run(project, f"--llm-candidate={chat}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*calls differ from those recorded*re-record*"])


def test_baseline_and_candidate_render_their_own_templates_live(project, chat_models):
    project.makepyfile(
        test_live=f"""
        import pytest
        CONVERSATIONS = {CONVERSATIONS!r}

        @pytest.mark.assert_within_budget(tokens_ratio=1.0)
        def test_live(llm_baseline, llm_candidate):
            base = llm_baseline.generate(CONVERSATIONS, max_new_tokens=16)
            cand = llm_candidate.generate(CONVERSATIONS, max_new_tokens=16)
            assert base.input_tokens != cand.input_tokens
        """
    )
    result = run(
        project,
        "test_live.py",
        f"--llm-baseline={chat_models['chat']}",
        f"--llm-candidate={chat_models['other_template']}",
        "-rA",
    )
    result.assert_outcomes(passed=1)
    assert "chat templates differ" in result.stdout.str()


def test_a_model_without_a_chat_template_given_messages_is_a_clear_error(project, chat_models):
    result = run(project, f"--llm-candidate={chat_models['no_template']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*has no chat template*chat_template.jinja*"])
    assert_no_traceback(result)


@pytest.mark.parametrize(
    ("prompts", "message"),
    [
        ("[{'role': 'user'}]", "*prompt 0, message 0 needs a 'role'*and a text 'content'*"),
        ("[[]]", "*prompt 0 is an empty conversation*"),
        ("{'role': 'user', 'content': 'hi'}", "*one message, not a conversation: wrap it*"),
        ("[{'role': 'user', 'content': 'hi', 'name': 'x'}]", "*has keys [[]'name'[]]*"),
    ],
)
def test_malformed_conversations_are_clear_errors(pytester, chat_models, prompts, message):
    pytester.makepyfile(
        f"""
        def test_bad(llm_candidate):
            llm_candidate.generate({prompts})
        """
    )
    result = run(pytester, f"--llm-candidate={chat_models['chat']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert "During handling" not in result.stdout.str()
    assert_no_traceback(result)


BATCH_TEST = f"""
import pytest

CONVERSATIONS = {CONVERSATIONS!r}

def test_batched_counts_equal_unbatched(llm_candidate):
    alone = llm_candidate.generate(CONVERSATIONS, max_new_tokens=16)
    batched = llm_candidate.generate(CONVERSATIONS, max_new_tokens=16, batch_size=4)
    assert [s.output_tokens for s in batched.samples] == [s.output_tokens for s in alone.samples]
    assert [s.input_tokens for s in batched.samples] == [s.input_tokens for s in alone.samples]
    assert batched.texts == alone.texts
    assert alone.batches is None and alone.requests_per_s is None
    assert batched.batches.batches == 2 * 2  # 6 prompts in batches of 4, twice
    assert batched.requests_per_s > 0 and batched.throughput_tokens_per_s > 0
    assert all(r.ttft_ms <= r.latency_ms for r in batched.runs)

def test_stop_strings_end_the_answer(llm_candidate):
    free = llm_candidate.generate(CONVERSATIONS[:2], max_new_tokens=16)
    stopped = llm_candidate.generate(CONVERSATIONS[:2], max_new_tokens=16, stop=["."])
    assert all(text.endswith(".") for text in free.texts + stopped.texts)
    assert stopped.output_tokens < free.output_tokens
    batched = llm_candidate.generate(CONVERSATIONS[:2], max_new_tokens=16, stop=["."], batch_size=2)
    assert [s.output_tokens for s in batched.samples] == [s.output_tokens for s in stopped.samples]

@pytest.mark.assert_within_budget(min_throughput=0.001)
def test_throughput_floor_met(llm_candidate):
    llm_candidate.generate(CONVERSATIONS, max_new_tokens=16, batch_size=3)

@pytest.mark.assert_within_budget(min_throughput=1e9)
def test_throughput_floor_missed(llm_candidate):
    llm_candidate.generate(CONVERSATIONS, max_new_tokens=16, batch_size=3)

@pytest.mark.assert_within_budget(min_throughput=1)
def test_throughput_unmeasured_one_at_a_time(llm_candidate):
    llm_candidate.generate(CONVERSATIONS[:1], max_new_tokens=16)
"""


def test_batches_count_as_unbatched_and_are_judged_on_throughput(pytester, chat_models):
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 2\nwarmup = 0\n")
    pytester.makepyfile(test_batch=BATCH_TEST)
    result = run(pytester, f"--llm-candidate={chat_models['chat']}")
    verdicts = summary_verdicts(result)
    assert verdicts[("test_batch.py::test_throughput_floor_met", "min_throughput")] == "pass"
    assert verdicts[("test_batch.py::test_throughput_floor_missed", "min_throughput")] == "FAIL"
    result.stdout.fnmatch_lines(["*no throughput was measured*batch_size=8*"])
    result.assert_outcomes(passed=3, failed=2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ("batch_size=0", "*batch_size=0 is not a whole number from 1*"),
        ("batch_size=2, concurrency=2", "*batch_size and load*cannot be combined*"),
    ],
)
def test_bad_batch_sizes_are_clear_errors(pytester, chat_models, kwargs, message):
    pytester.makepyfile(
        f"""
        def test_bad(llm_candidate):
            llm_candidate.generate(["a", "b"], {kwargs})
        """
    )
    result = run(pytester, f"--llm-candidate={chat_models['chat']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([message])
    assert_no_traceback(result)


THROUGHPUT_RATIO_TEST = f"""
import pytest

CONVERSATIONS = {CONVERSATIONS!r}

@pytest.mark.assert_within_budget(throughput_ratio=0.01)
def test_throughput_ratio_met(llm_candidate):
    llm_candidate.generate(CONVERSATIONS, max_new_tokens=16, batch_size=3)

@pytest.mark.assert_within_budget(throughput_ratio=100)
def test_throughput_ratio_missed(llm_candidate):
    llm_candidate.generate(CONVERSATIONS, max_new_tokens=16, batch_size=3)
"""


def test_throughput_ratio_is_a_floor_on_the_baselines_throughput(pytester, chat_models):
    """The same model on both sides: far above 0.01x its own throughput, far below 100x."""
    pytester.makepyprojecttoml("[tool.llmperf]\nrepeats = 2\nwarmup = 0\n")
    pytester.makepyfile(test_ratio=THROUGHPUT_RATIO_TEST)
    chat = chat_models["chat"]
    result = run(pytester, f"--llm-baseline={chat}", f"--llm-candidate={chat}")
    verdicts = summary_verdicts(result)
    assert verdicts[("test_ratio.py::test_throughput_ratio_met", "throughput_ratio")] == "pass"
    assert verdicts[("test_ratio.py::test_throughput_ratio_missed", "throughput_ratio")] == "FAIL"
    result.stdout.fnmatch_lines(
        ["*throughput_ratio*>= 100x*FAIL*", "*remedy for throughput_ratio*"]
    )
    result.assert_outcomes(passed=1, failed=1)


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ raise_exception('only user turns, please') }}", "only user turns, please"),
        ("{% for message in messages %}{{ message['content'] }", "TemplateSyntaxError"),
    ],
    ids=["raises", "syntax error"],
)
def test_a_chat_template_that_fails_is_a_clear_error_naming_the_model(
    project, chat_models, tmp_path, template, problem
):
    from tests.models.chat import with_template

    broken = with_template(chat_models["chat"], tmp_path / "broken", template)
    result = run(project, f"--llm-candidate={broken}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*the chat template of {broken} failed*{problem}*.jinja*"])
    assert_no_traceback(result)
    assert "jinja2" not in result.stdout.str()


def _baseline_copy(chat_models, project) -> tuple[str, Callable[[], None]]:
    """A copy of the chat model inside the project (the snapshot names it relative to the
    rootdir), and a function that gives it another chat template in place."""
    import shutil

    from tests.models.chat import OTHER_TEMPLATE, with_template

    base = project.path / "base"
    shutil.copytree(chat_models["chat"], base)

    def change_template() -> None:
        changed = with_template(base, project.path / "changed", OTHER_TEMPLATE)
        shutil.rmtree(base)
        changed.rename(base)

    return "base", change_template


def test_a_baseline_whose_template_changed_since_recording_is_a_stale_snapshot(
    project, chat_models
):
    name, change_template = _baseline_copy(chat_models, project)
    run(project, f"--llm-baseline={name}", "--llm-update").assert_outcomes(passed=1)
    snapshot = project.path / ".llmperf" / "test_chat" / "test_chat.json"
    recorded = snapshot.read_bytes()
    change_template()
    # The candidate renders as the baseline does today: not a difference of the candidate.
    result = run(project, f"--llm-candidate={chat_models['other_template']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*the snapshot {snapshot} is stale: its baseline model {name} changed since it was"
            " recorded (its chat template renders the conversations of call 0 otherwise*"
            f"Re-record it with `pytest --llm-baseline={name} --llm-update`*"
        ]
    )
    output = result.stdout.str()
    assert "chat templates differ" not in output and "tokens_ratio" not in output  # no verdict
    assert_no_traceback(result)
    assert snapshot.read_bytes() == recorded


def test_a_candidate_with_its_own_template_against_a_fresh_snapshot_is_judged(project, chat_models):
    name, _ = _baseline_copy(chat_models, project)
    run(project, f"--llm-baseline={name}", "--llm-update").assert_outcomes(passed=1)
    result = run(project, f"--llm-candidate={chat_models['other_template']}", "-rA")
    assert "stale" not in result.stdout.str()
    assert "chat templates differ" in result.stdout.str()
    assert "did not run here" not in result.stdout.str()  # the baseline ran: it is fresh
    assert summary_verdicts(result)[(NODE, "tokens_ratio")] in {"pass", "FAIL"}


def test_a_baseline_whose_generation_config_changed_is_stale_when_confirmed_live(
    project, chat_models
):
    project.makepyprojecttoml('[tool.llmperf]\nrepeats = 1\nwarmup = 0\nlive_baseline = "always"\n')
    project.makepyfile(test_chat=CHAT_TEST.replace("tokens_ratio=1.0", "latency_ratio=100"))
    name, _ = _baseline_copy(chat_models, project)
    run(project, f"--llm-baseline={name}", "--llm-update").assert_outcomes(passed=1)
    config_path = project.path / name / "generation_config.json"
    config = json.loads(config_path.read_text())
    config["eos_token_id"] = config["eos_token_id"][-1:]  # no longer stops at <|end|>
    config_path.write_text(json.dumps(config))
    result = run(project, f"--llm-candidate={chat_models['chat']}")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_chat.json is stale: its baseline model base changed since it was recorded"
            " (its generation config changed (generation_config_sha256 *"
            "`pytest --llm-baseline=base --llm-update`*"
        ]
    )
    assert_no_traceback(result)
