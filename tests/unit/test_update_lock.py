"""One --llm-update run at a time per snapshot directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmperf.errors import SnapshotError
from pytest_llmperf.snapshots.lock import hold_update_lock


def test_a_second_run_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    first = hold_update_lock(tmp_path / ".llmperf")
    with pytest.raises(SnapshotError, match="another --llm-update run is writing snapshots"):
        hold_update_lock(tmp_path / ".llmperf")
    first.release()
    hold_update_lock(tmp_path / ".llmperf").release()


def test_the_lock_leaves_nothing_in_the_committed_snapshot_directory(tmp_path: Path) -> None:
    snapshots = tmp_path / ".llmperf"
    hold_update_lock(snapshots).release()
    assert list(snapshots.iterdir()) == []


def test_each_snapshot_directory_has_its_own_lock(tmp_path: Path) -> None:
    first = hold_update_lock(tmp_path / "a" / ".llmperf")
    hold_update_lock(tmp_path / "b" / ".llmperf").release()
    first.release()
