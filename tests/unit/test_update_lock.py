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
