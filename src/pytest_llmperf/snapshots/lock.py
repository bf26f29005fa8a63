"""One --llm-update run at a time per snapshot directory.

Two runs updating one directory at once would leave a mix of both runs' snapshots, each
file whole, with nothing to tell. The first run holds a lock file in the directory; a
second is refused at start, before measuring. The lock is an OS lock (filelock): a run
killed with -9 releases it, so no stale lock is left to delete by hand.
"""

from __future__ import annotations

from pathlib import Path

from filelock import BaseFileLock, FileLock, Timeout

from pytest_llmperf.errors import SnapshotError

LOCK_NAME = ".update.lock"


def hold_update_lock(snapshot_dir: Path) -> BaseFileLock:
    """The directory's update lock, held until released; SnapshotError when another run
    holds it."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(snapshot_dir / LOCK_NAME)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise SnapshotError(
            f"another --llm-update run is writing snapshots in {snapshot_dir} (it holds "
            f"{snapshot_dir / LOCK_NAME}): wait for it to finish, then run again; two at once "
            "would leave a mix of both runs' snapshots."
        ) from None
    return lock
