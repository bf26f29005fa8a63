"""Snapshot housekeeping end to end: written, updated, unchanged and unused snapshots, their
removal with --llm-remove-unused, and whole snapshots under pytest-xdist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_llmperf.snapshots.store import SnapshotStore
from tests.plugin.helpers import PROMPTS, run, run_xdist

SETTINGS = "[tool.llmperf]\nrepeats = 1\nwarmup = 0\nmax_new_tokens = 8\n"


def marked_test(name: str, prompt: int) -> str:
    return f"""
@pytest.mark.assert_within_budget(tokens_ratio=1.5)
def {name}(llm_candidate):
    llm_candidate.generate([{PROMPTS[prompt]!r}])
"""


def module_text(*names: str) -> str:
    return "import pytest\n" + "".join(marked_test(name, i) for i, name in enumerate(names))


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """test_ab.py with test_a and test_b, test_other.py with test_c."""
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_ab=module_text("test_a", "test_b"), test_other=module_text("test_c"))
    return pytester


def record(project: pytest.Pytester, checkpoints: dict[str, Path], *args: str) -> pytest.RunResult:
    return run(project, f"--llm-baseline={checkpoints['baseline']}", "--llm-update", *args)


def snapshots(project: pytest.Pytester) -> set[str]:
    root = project.path / ".llmperf"
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def reports_unused(result: pytest.RunResult) -> bool:
    return re.search(r"snapshots? unused\.", result.stdout.str()) is not None


ALL = {"test_ab/test_a.json", "test_ab/test_b.json", "test_other/test_c.json"}


def test_written_then_updated_then_unchanged(project, checkpoints):
    first = record(project, checkpoints)
    first.assert_outcomes(passed=3)
    first.stdout.fnmatch_lines(
        [
            "3 baselines recorded",
            "*test*model*prompts*runs*latency p50*output tokens",
            f"*test_ab.py::test_a*{checkpoints['baseline']}*ms*tok",
            "3 snapshots written. (.llmperf)",
        ]
    )
    assert snapshots(project) == ALL
    again = record(project, checkpoints)
    again.stdout.fnmatch_lines(["3 snapshots updated. (.llmperf)"])
    judged = run(project, f"--llm-candidate={checkpoints['copy']}", "-k", "not test_c")
    judged.assert_outcomes(passed=2, deselected=1)
    judged.stdout.fnmatch_lines(["2 snapshots unchanged. (.llmperf)"])
    assert not reports_unused(judged)


def test_a_renamed_test_leaves_its_snapshot_unused(project, checkpoints):
    record(project, checkpoints).assert_outcomes(passed=3)
    project.makepyfile(test_ab=module_text("test_a", "test_renamed"))
    result = run(project)
    result.assert_outcomes(skipped=3)
    result.stdout.fnmatch_lines(
        [
            "1 snapshot unused. (.llmperf)",
            "  unused .llmperf/test_ab/test_b.json",
            "Their tests are gone. Remove them with `pytest --llm-baseline=MODEL --llm-update "
            "--llm-remove-unused`, or delete them by hand.",
        ]
    )
    assert result.ret == 0
    assert snapshots(project) == ALL


def test_a_deleted_test_file_leaves_its_snapshots_unused(project, checkpoints):
    record(project, checkpoints).assert_outcomes(passed=3)
    (project.path / "test_ab.py").unlink()
    result = run(project)
    result.stdout.fnmatch_lines(
        [
            "2 snapshots unused. (.llmperf)",
            "  unused .llmperf/test_ab/test_a.json",
            "  unused .llmperf/test_ab/test_b.json",
        ]
    )


@pytest.mark.parametrize(
    "selection",
    [
        ["-k", "test_c"],  # test_a and test_b deselected by keyword
        ["test_ab.py::test_a"],  # not selected: one node id
        ["test_other.py"],  # not selected: one file
    ],
)
def test_tests_not_run_are_not_unused(project, checkpoints, selection):
    record(project, checkpoints).assert_outcomes(passed=3)
    result = run(project, *selection)
    assert not reports_unused(result)


def test_no_unused_snapshots_after_a_collection_error(project, checkpoints):
    record(project, checkpoints).assert_outcomes(passed=3)
    (project.path / "test_ab.py").unlink()
    project.makepyfile(test_broken="import nonexistent_module_for_llmperf\n")
    result = record(project, checkpoints, "--llm-remove-unused")
    result.assert_outcomes(errors=1)
    assert not reports_unused(result)
    assert snapshots(project) == ALL


@pytest.mark.parametrize(
    ("first_test", "exit_code", "removed"),
    [
        ("raise KeyboardInterrupt", pytest.ExitCode.INTERRUPTED, False),
        ("assert False", pytest.ExitCode.TESTS_FAILED, True),  # -x: collection was whole
    ],
)
def test_an_interrupted_run_removes_nothing(project, checkpoints, first_test, exit_code, removed):
    record(project, checkpoints).assert_outcomes(passed=3)
    project.makepyfile(test_ab=module_text("test_a"), test_00=f"def test_0():\n    {first_test}\n")
    result = project.runpytest(
        "-p",
        "no:cacheprovider",
        f"--llm-baseline={checkpoints['baseline']}",
        "--llm-update",
        "--llm-remove-unused",
        "-x",
        no_reraise_ctrlc=True,
    )
    assert result.ret == exit_code
    assert ("test_ab/test_b.json" not in snapshots(project)) is removed
    assert ("1 unused snapshot removed." in result.stdout.str()) is removed


def test_remove_unused_deletes_exactly_the_unused(project, checkpoints):
    record(project, checkpoints).assert_outcomes(passed=3)
    (project.path / ".llmperf" / "README.txt").write_text("kept")
    project.makepyfile(test_ab=module_text("test_a"))  # test_b is gone
    result = record(project, checkpoints, "--llm-remove-unused", "-k", "not test_c")
    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "1 snapshot updated. 1 unused snapshot removed. (.llmperf)",
            "  removed .llmperf/test_ab/test_b.json",
        ]
    )
    assert snapshots(project) == {"README.txt", "test_ab/test_a.json", "test_other/test_c.json"}
    assert not reports_unused(run(project))


def test_collect_only_lists_the_unused_but_removes_nothing(project, checkpoints):
    record(project, checkpoints).assert_outcomes(passed=3)
    project.makepyfile(test_ab=module_text("test_a"))
    result = record(project, checkpoints, "--llm-remove-unused", "--collect-only")
    result.stdout.fnmatch_lines(["1 snapshot unused. (.llmperf)"])
    assert snapshots(project) == ALL


def test_remove_unused_empties_the_folder_of_a_deleted_file(project, checkpoints):
    record(project, checkpoints).assert_outcomes(passed=3)
    (project.path / "test_ab.py").unlink()
    result = record(project, checkpoints, "--llm-remove-unused")
    result.stdout.fnmatch_lines(["1 snapshot updated. 2 unused snapshots removed. (.llmperf)"])
    assert snapshots(project) == {"test_other/test_c.json"}
    assert not (project.path / ".llmperf" / "test_ab").exists()


@pytest.mark.parametrize(
    ("args", "pyproject"),
    [
        (["--llm-remove-unused"], ""),
        (["--llm-baseline=gpt2"], "[tool.llmperf]\nremove_unused = true\n"),
    ],
)
def test_remove_unused_without_update_is_a_usage_error(pytester, args, pyproject):
    if pyproject:
        pytester.makepyprojecttoml(pyproject)
    pytester.makepyfile("def test_x():\n    pass\n")
    result = run(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: pytest-llmperf: --llm-remove-unused deletes unused snapshots while updating "
            "them, and needs --llm-update: add --llm-baseline=MODEL --llm-update."
        ]
    )
    assert "Traceback" not in result.stderr.str()


# -- pytest-xdist -------------------------------------------------------------------------

NAMES = [f"test_{index}" for index in range(6)]


def test_xdist_writes_every_snapshot_whole_and_counts_them_once(pytester, checkpoints):
    pytester.makepyprojecttoml(SETTINGS)
    pytester.makepyfile(test_many=module_text(*NAMES[:3]), test_more=module_text(*NAMES[3:]))
    result = run_xdist(pytester, f"--llm-baseline={checkpoints['baseline']}", "--llm-update")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["6 snapshots written. (.llmperf)"])
    store = SnapshotStore(pytester.path / ".llmperf")
    nodeids = [f"test_many.py::{name}" for name in NAMES[:3]]
    nodeids += [f"test_more.py::{name}" for name in NAMES[3:]]
    for nodeid in nodeids:
        snapshot = store.load(nodeid)  # valid JSON, of the right shape, of this test
        assert snapshot is not None and snapshot.test == nodeid
    assert sorted(p.name for p in store.root.rglob("*") if p.is_file()) == sorted(
        f"{name}.json" for name in NAMES
    )

    pytester.makepyfile(test_many=module_text(*NAMES[:2]))  # test_2 is gone
    judged = run_xdist(pytester, f"--llm-candidate={checkpoints['copy']}", "-k", "not test_4")
    judged.assert_outcomes(passed=4)  # workers deselect: the controller counts none
    judged.stdout.fnmatch_lines(
        [
            "4 snapshots unchanged. 1 snapshot unused. (.llmperf)",
            "  unused .llmperf/test_many/test_2.json",
        ]
    )
