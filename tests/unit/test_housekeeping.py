"""Snapshot housekeeping without pytest: counts, unused snapshots, removal, xdist merging."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_llmperf.snapshots.housekeeping import (
    CollectionScope,
    SnapshotActivity,
    remove_snapshots,
)
from pytest_llmperf.snapshots.store import SnapshotStore


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """tests/test_a.py (test_one, test_two) and a snapshot store with one file per test."""
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("")
    return tmp_path


def snapshot(store: SnapshotStore, nodeid: str) -> Path:
    path = store.path_for(nodeid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    return path


def activity_for(project: Path, *nodeids: str, files: tuple[str, ...] = ()) -> SnapshotActivity:
    activity = SnapshotActivity()
    activity.note_tests(nodeids)
    for name in files:
        activity.note_file(name)
    activity.scope = CollectionScope(project, (project,))
    return activity


def test_counts_read_like_syrupy(tmp_path: Path) -> None:
    activity = SnapshotActivity()
    activity.note_saved(tmp_path / "a.json", existed=False)
    activity.note_saved(tmp_path / "b.json", existed=False)
    activity.note_saved(tmp_path / "c.json", existed=True)
    activity.note_used(tmp_path / "d.json")
    activity.note_used(tmp_path / "c.json")  # read, then rewritten: updated, not unchanged
    activity.scope = CollectionScope(tmp_path)
    (line,) = activity.summary_lines(tmp_path / ".llmperf")
    assert line == ("2 snapshots written. 1 snapshot updated. 1 snapshot unchanged. (.llmperf)")


def test_nothing_to_say_is_no_lines(tmp_path: Path) -> None:
    assert SnapshotActivity().summary_lines(tmp_path) == []


def test_a_snapshot_of_a_test_gone_from_a_collected_file_is_unused(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    kept = snapshot(store, "tests/test_a.py::test_one")
    gone = snapshot(store, "tests/test_a.py::test_two")
    activity = activity_for(project, "tests/test_a.py::test_one", files=("tests/test_a.py",))
    assert activity.unused(store) == [gone]
    assert kept.is_file()


def test_deselected_and_parametrized_tests_keep_their_snapshots(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    ids = ["tests/test_a.py::TestX::test_one[a/b]", "tests/test_a.py::test_two[1-2]"]
    for nodeid in ids:
        snapshot(store, nodeid)
    activity = activity_for(project, *ids, files=("tests/test_a.py",))
    assert activity.unused(store) == []


def test_a_file_named_by_node_id_is_only_partly_collected(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    snapshot(store, "tests/test_a.py::test_two")
    activity = activity_for(project, "tests/test_a.py::test_one", files=("tests/test_a.py",))
    activity.scope = CollectionScope.from_args(
        ["tests/test_a.py::test_one"], invocation_dir=project, rootdir=project
    )
    assert activity.unused(store) == []


def test_a_snapshot_of_a_deleted_file_is_unused_only_where_collected(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    gone = snapshot(store, "tests/test_gone.py::test_one")
    other = snapshot(store, "other/test_gone.py::test_one")
    activity = activity_for(project)
    activity.scope = CollectionScope.from_args(["tests"], project, project)
    assert activity.unused(store) == [gone]
    activity.scope = CollectionScope.from_args([], project, project)
    assert activity.unused(store) == []
    activity.scope = CollectionScope.from_args(["."], project, project)
    assert activity.unused(store) == [other, gone]


def test_a_file_that_exists_but_was_not_collected_keeps_its_snapshots(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    snapshot(store, "tests/test_a.py::test_one")
    assert activity_for(project).unused(store) == []


def test_no_unused_after_collection_errors_or_an_interruption(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    snapshot(store, "tests/test_gone.py::test_one")
    scope = CollectionScope(project, (project,))
    errors = SnapshotActivity()
    errors.collection_finished(1)
    errors.finish(store, scope, exit_code=1, remove=False)
    assert errors.unused_found == []
    interrupted = SnapshotActivity()
    interrupted.finish(store, scope, exit_code=2, remove=False)
    assert interrupted.unused_found == []
    failed = SnapshotActivity()  # -x and --maxfail end with exit code 1: collection was whole
    failed.finish(store, scope, exit_code=1, remove=False)
    assert len(failed.unused_found) == 1


def test_only_json_files_count_and_links_are_not_followed(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    (store.root / "tests" / "test_gone").mkdir(parents=True)
    (store.root / "tests" / "test_gone" / "notes.txt").write_text("mine")
    (store.root / "tests" / "test_gone" / ".x.json.1234.tmp").write_text("")
    outside = project / "outside.json"
    outside.write_text("{}")
    (store.root / "tests" / "test_gone" / "link.json").symlink_to(outside)
    assert activity_for(project).unused(store) == []


def test_listing_stops_at_ten_and_says_how_to_remove(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    for index in range(12):
        snapshot(store, f"tests/test_gone.py::test_{index:02d}")
    activity = activity_for(project)
    activity.finish(store, activity.scope, exit_code=0, remove=False)
    lines = activity.summary_lines(store.root)
    assert lines[0] == "12 snapshots unused. (.llmperf)"
    assert lines[1] == "  unused .llmperf/tests/test_gone/test_00.json"
    assert lines[10] == "  unused .llmperf/tests/test_gone/test_09.json"
    assert lines[11] == "  and 2 more"
    assert "--llm-update --llm-remove-unused" in lines[12]


def test_removal_deletes_the_files_and_the_folders_it_empties(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    deep = snapshot(store, "a/b/test_gone.py::test_one")
    activity = activity_for(project)
    activity.finish(store, activity.scope, exit_code=0, remove=True)
    assert activity.removed == [deep]
    assert list(store.root.iterdir()) == []  # a/b/test_gone, a/b and a emptied; the root stays


def test_removal_leaves_other_files_alone(project: Path) -> None:
    store = SnapshotStore(project / ".llmperf")
    gone = snapshot(store, "tests/test_gone.py::test_one")
    kept = snapshot(store, "tests/test_a.py::test_one")
    (store.root / "README.txt").write_text("keep me")
    activity = activity_for(project)
    activity.finish(store, activity.scope, exit_code=0, remove=True)
    assert activity.removed == [gone]
    assert not gone.exists() and not gone.parent.exists()  # .llmperf/tests holds test_a/
    assert kept.is_file() and (store.root / "README.txt").is_file()
    assert activity.summary_lines(store.root)[:2] == [
        "1 unused snapshot removed. (.llmperf)",
        "  removed .llmperf/tests/test_gone/test_one.json",
    ]


def test_removal_refuses_anything_but_json_under_the_root(tmp_path: Path) -> None:
    root = tmp_path / "store"
    root.mkdir()
    outside = tmp_path / "elsewhere.json"
    outside.write_text("{}")
    text = root / "notes.txt"
    text.write_text("")
    removed, errors = remove_snapshots(root, [outside, text])
    assert removed == []
    assert len(errors) == 2
    assert outside.is_file() and text.is_file()


def test_workers_activity_merges_whole(tmp_path: Path) -> None:
    first, second = SnapshotActivity(), SnapshotActivity()
    first.note_saved(tmp_path / "a.json", existed=False)
    first.note_tests(["t.py::a", "t.py::b"])
    first.note_file("t.py")
    second.note_saved(tmp_path / "b.json", existed=True)
    second.note_used(tmp_path / "c.json")
    second.note_tests(["t.py::a", "t.py::b"])
    controller = SnapshotActivity()
    for worker in (first, second, second):  # the same worker may be reported twice
        controller.merge(json.loads(json.dumps(worker.to_dict())))
    assert controller.written == {tmp_path / "a.json"}
    assert controller.updated == {tmp_path / "b.json"}
    assert controller.unchanged == {tmp_path / "c.json"}
    assert controller.known_nodeids == {"t.py::a", "t.py::b"}
    assert controller.collected_files == {"t.py"}
    assert controller.complete


def test_a_worker_with_collection_errors_makes_the_session_incomplete() -> None:
    worker = SnapshotActivity()
    worker.collection_finished(2)
    controller = SnapshotActivity()
    controller.merge(worker.to_dict())
    assert not controller.complete
