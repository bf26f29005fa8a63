"""pytest hooks, options, fixtures and the marker: wiring only; the work is in LlmPerfSession."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from filelock import BaseFileLock

from pytest_llmperf import pytest_support, xdist_support
from pytest_llmperf.errors import BudgetError, LlmPerfError, ModelUnavailableError
from pytest_llmperf.fixtures import LlmModel, fail_with
from pytest_llmperf.judge.reading import AlertKind, alerts
from pytest_llmperf.limits import Budget, merged_markers, parse_budget, valid_limit_names
from pytest_llmperf.redaction import forget_secrets
from pytest_llmperf.report import publish
from pytest_llmperf.report.junit import properties
from pytest_llmperf.report.terminal import failure_message, session_lines
from pytest_llmperf.session.session import BASELINE, CANDIDATE, LlmPerfSession
from pytest_llmperf.settings.lineup import id_without_candidate
from pytest_llmperf.settings.settings import (
    OPTIONS,
    build_settings,
    read_pyproject_table,
    register_secrets,
)
from pytest_llmperf.snapshots.housekeeping import CollectionScope
from pytest_llmperf.snapshots.lock import hold_update_lock


class LlmPerfHardwareWarning(pytest.PytestWarning):
    """A snapshot was measured on other hardware: its timings were not compared."""


class LlmPerfInconclusiveWarning(pytest.PytestWarning):
    """A timing limit had no evidence either way at the cap: neither passed nor failed."""


WARNING_CLASSES = {
    AlertKind.HARDWARE: LlmPerfHardwareWarning,
    AlertKind.INCONCLUSIVE: LlmPerfInconclusiveWarning,
}

SESSION_KEY = pytest.StashKey[LlmPerfSession]()
BUDGET_KEY = pytest.StashKey[Budget]()
REPORT_LINES_KEY = pytest.StashKey[list[str]]()  # where the reports went, for the summary
UPDATE_LOCK_KEY = pytest.StashKey[BaseFileLock]()  # held by the --llm-update run
MARKER = "assert_within_budget"
CANDIDATE_PARAM = "llm_candidate_name"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("llmperf", "LLM performance budgets (pytest-llmperf)")
    for entry in OPTIONS:
        help_text = entry.help
        if entry.default_text is not None or entry.default not in (None, False):
            help_text += f" (default: {entry.shown_default})"
        kind: dict[str, str] = {"metavar": "VALUE"}
        if entry.switch:
            kind = {"action": "store_true"}
        elif entry.repeatable:
            kind = {"action": "append", "metavar": "VALUE"}
        # argparse formats help with %: a literal one is written %%.
        help_text = help_text.replace("%", "%%")
        group.addoption(
            entry.flag, default=None, dest=f"llmperf_{entry.key}", help=help_text, **kind
        )


def _pyproject(config: pytest.Config) -> Path:
    if config.inipath is not None and config.inipath.name == "pyproject.toml":
        return config.inipath
    return config.rootpath / "pyproject.toml"


def _check_local_models(session: LlmPerfSession) -> None:
    from pytest_llmperf.backends.checkpoint import check_checkpoint_dir

    settings = session.settings
    for spec in (settings.baseline, *settings.lineup):
        if spec is not None and spec.local_path is not None:
            check_checkpoint_dir(spec.local_path, spec.flag)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**limits): fail the test when the llm_candidate calls it makes go over these "
        f"limits. Valid limits: {valid_limit_names()}.",
    )
    pyproject = _pyproject(config)
    cli_values = {entry.key: config.getoption(f"llmperf_{entry.key}") for entry in OPTIONS}
    try:
        settings = build_settings(
            cli_values,
            read_pyproject_table(pyproject),
            cwd=Path(config.invocation_params.dir),
            config_dir=pyproject.parent,
            rootdir=config.rootpath,
        )
        register_secrets(settings)
        session = LlmPerfSession(settings)
        _check_local_models(session)
        if settings.update and not xdist_support.is_worker(config):
            config.stash[UPDATE_LOCK_KEY] = hold_update_lock(settings.snapshot_dir)
    except LlmPerfError as error:
        raise pytest.UsageError(f"pytest-llmperf: {error}") from None
    session.on_progress = pytest_support.live_printer(config)
    config.stash[SESSION_KEY] = session


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, Any]:
    """Turn a bad assert_within_budget marker into a collection error for its module; a
    module that raised one of the plugin's errors (a bad eval set) shows its message alone."""
    report = yield
    if report.outcome != "passed":
        call = getattr(report, "call", None)  # pytest keeps the call on the report
        error = None if call is None or call.excinfo is None else call.excinfo.value
        if isinstance(error, LlmPerfError):
            report.longrepr = f"{collector.nodeid}: {error}"
        return report
    errors = []
    defaults = dict(collector.config.stash[SESSION_KEY].settings.default_limits)
    for item in report.result:
        markers = (
            [(m.args, m.kwargs) for m in item.iter_markers(MARKER)]
            if isinstance(item, pytest.Item)
            else []
        )
        if not markers:
            continue
        try:
            _check_judged(item)
            item.stash[BUDGET_KEY] = parse_budget(*merged_markers(markers), defaults)
        except LlmPerfError as error:
            errors.append(f"{item.nodeid}: {error}")
    if errors:
        report.outcome, report.result, report.longrepr = "failed", [], "\n".join(errors)
    return report


def _check_judged(item: pytest.Item) -> None:
    """A budget judges llm_candidate's calls: a marked test without it would pass unjudged."""
    if "llm_candidate" not in getattr(item, "fixturenames", ()):
        raise BudgetError(
            f"is marked {MARKER} but does not take the llm_candidate fixture, so its budget "
            "would never be judged (it judges llm_candidate's calls): add llm_candidate to "
            "the test's arguments, or remove the marker."
        )


@pytest.hookimpl(trylast=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """With several candidates, every test of llm_candidate runs once per candidate, its id
    naming the candidate (last, after the test's own parameters). Session scope runs each
    candidate's tests together, so that one candidate at a time needs loading."""
    settings = metafunc.config.stash[SESSION_KEY].settings
    if settings.several_candidates and CANDIDATE_PARAM in metafunc.fixturenames:
        names = [spec.candidate_name for spec in settings.lineup]
        metafunc.parametrize(CANDIDATE_PARAM, names, ids=names, scope="session")


def _without_candidate(item: pytest.Item) -> str:
    """The test's id without its candidate: the name of its snapshot."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or CANDIDATE_PARAM not in callspec.params:
        return item.nodeid
    return id_without_candidate(item.nodeid, callspec.id, callspec.params[CANDIDATE_PARAM])


@pytest.fixture(scope="session")
def llm_candidate_name() -> str | None:
    """The name of the candidate a test judges (with several, the test runs once per
    candidate and this is its id); None with one candidate.

    def test_support_answers(llm_candidate, llm_candidate_name):
        print(llm_candidate_name, llm_candidate.generate(["Hi"]).latency_ms)
    """
    return None


def _model(request: pytest.FixtureRequest, role: str) -> LlmModel:
    __tracebackhide__ = True
    session = request.config.stash[SESSION_KEY]
    name = request.getfixturevalue(CANDIDATE_PARAM)
    session.enter_test(request.node.nodeid, name, _without_candidate(request.node))
    if session.model_spec(role) is None:
        if role == BASELINE:
            pytest.skip("needs --llm-baseline=MODEL (a hub id or checkpoint directory)")
        pytest.skip(
            "needs --llm-candidate=MODEL, or --llm-baseline=MODEL --llm-update to record snapshots"
        )
    budget = request.node.stash.get(BUDGET_KEY, None)
    marked = budget is not None
    pair = (
        role == CANDIDATE
        and marked
        and session.settings.baseline is not None
        and session.settings.candidate is not None
        and "llm_baseline" not in request.fixturenames
    )
    try:
        session.models.get(role)
        if pair:
            session.models.get(BASELINE)
    except ModelUnavailableError as error:
        pytest.skip(str(error))
    except LlmPerfError as error:
        fail_with(error)
    mode = budget.mode if budget is not None else None
    return LlmModel(session, request.node.nodeid, role, pair_with_baseline=pair, mode=mode)


@pytest.fixture
def llm_baseline(request: pytest.FixtureRequest) -> LlmModel:
    """The --llm-baseline model (loaded once per session). Skips when the option is not given.

    def test_answers(llm_baseline):
        result = llm_baseline.generate(["Q: What is 2+2? A:"], max_new_tokens=16)
        assert result.output_tokens < 16
    """
    return _model(request, BASELINE)


@pytest.fixture
def llm_candidate(request: pytest.FixtureRequest, llm_candidate_name: str | None) -> LlmModel:
    """The --llm-candidate model (with --llm-update alone: the baseline, to record snapshots).

    @pytest.mark.assert_within_budget(latency_ratio=1.2, tokens_ratio=1.1)
    def test_support_answers(llm_candidate):
        llm_candidate.generate(["How do I reset my password?"])
    """
    return _model(request, CANDIDATE)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Count the statistical decisions of the tests that will run, to share the error rate."""
    budgets = [item.stash[BUDGET_KEY] for item in session.items if BUDGET_KEY in item.stash]
    session.config.stash[SESSION_KEY].count_decisions(budgets)
    session.config.stash[SESSION_KEY].snapshots.collection_finished(session.testsfailed)


def pytest_collectstart(collector: pytest.Collector) -> None:
    """Learn the test files collected (even one with no tests left): for unused snapshots."""
    if isinstance(collector, pytest.File):
        collector.config.stash[SESSION_KEY].snapshots.note_file(collector.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Learn every collected test before anything filters them: their snapshots are in use."""
    config.stash[SESSION_KEY].snapshots.note_tests(_without_candidate(item) for item in items)


def pytest_deselected(items: list[pytest.Item]) -> None:
    """Tests deselected with -k or -m keep their snapshots."""
    for item in items:
        item.config.stash[SESSION_KEY].snapshots.note_tests([_without_candidate(item)])


def pytest_unconfigure(config: pytest.Config) -> None:
    """Close the models' connections (endpoint models hold an HTTP pool); let go of the
    snapshot directory's update lock; forget the session's secrets."""
    if SESSION_KEY in config.stash:
        config.stash[SESSION_KEY].close()
    if UPDATE_LOCK_KEY in config.stash:
        config.stash[UPDATE_LOCK_KEY].release()
    forget_secrets()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """On an xdist worker, ship the snapshot activity and report records; elsewhere, find
    (and remove) unused snapshots and write the reports. A report that could not be
    written fails the run: the exit status is set here, and nowhere else."""
    config, llm = session.config, session.config.stash[SESSION_KEY]
    if xdist_support.is_worker(config):
        xdist_support.send(config, llm)
        return
    scope = CollectionScope.from_args(config.args, config.invocation_params.dir, config.rootpath)
    # --collect-only updates nothing, so it removes nothing either; it still lists the unused.
    remove = llm.settings.remove_unused and not config.option.collectonly
    llm.snapshots.finish(llm.store, scope, exit_code=exitstatus, remove=remove)
    provenance = partial(pytest_support.benchmark_provenance, config)
    published = publish.finish(
        llm.settings,
        llm.report_records(),
        llm.environment(),
        provenance,
        collect_only=config.option.collectonly,
    )
    config.stash[REPORT_LINES_KEY] = published.lines
    if published.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object | None) -> None:
    """On the xdist controller: merge what a finished worker did."""
    xdist_support.receive(node, node.config.stash[SESSION_KEY])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """After a marked test body passes, judge its llm_candidate calls against the budget.
    A test body that raised one of the plugin's errors (a bad eval set) fails with its
    message alone."""
    __tracebackhide__ = True
    try:
        result = yield
    except LlmPerfError as error:
        fail_with(error)
    budget = item.stash.get(BUDGET_KEY, None)
    if budget is not None and "llm_candidate" in getattr(item, "fixturenames", ()):
        _judge(item, budget)
    return result


def _judge(item: pytest.Item, budget: Budget) -> None:
    __tracebackhide__ = True
    try:
        record = item.config.stash[SESSION_KEY].judge(item.nodeid, budget).record
    except LlmPerfError as error:
        fail_with(error)
    item.user_properties.extend(properties(record))
    for alert in alerts(record):
        warnings.warn(WARNING_CLASSES[alert.kind](alert.text), stacklevel=1)
    if record["failed"]:
        pytest.fail(failure_message(record), pytrace=False)


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Forget the calls of a test that was not judged (failed body, unmarked test)."""
    if SESSION_KEY in item.config.stash:
        item.config.stash[SESSION_KEY].discard(item.nodeid)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Every judged test with its limits (all workers' under xdist), the snapshots written,
    updated and unused, and where the reports went."""
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        return
    settings = session.settings
    lines = session_lines(
        session.report_records(),
        settings.snapshot_dir,
        settings.rank_by,
        session.snapshots.summary_lines(settings.snapshot_dir),
        config.stash.get(REPORT_LINES_KEY, []),
    )
    if lines:
        terminalreporter.section("llmperf")
        for line in lines:
            terminalreporter.write_line(line)
