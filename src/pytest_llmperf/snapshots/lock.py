"""One --llm-update run at a time per snapshot directory.

Two runs updating one directory at once would leave a mix of both runs' snapshots, each
file whole, with nothing to tell. The first run holds a lock for the directory; a second
is refused at start, before measuring. The lock is an OS lock (filelock): a run killed
with -9 releases it, so no stale lock is left to delete by hand. Its file lives in the
system's temporary directory, named after the snapshot directory's resolved path: the
snapshot directory is committed, and a lock file there would show in every diff.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from filelock import BaseFileLock, FileLock, Timeout

from pytest_llmperf.errors import SnapshotError


def lock_path(snapshot_dir: Path) -> Path:
    """The lock file of a snapshot directory: one per directory on this machine."""
    digest = hashlib.sha256(str(snapshot_dir.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"pytest-llmperf-update-{digest}.lock"


def hold_update_lock(snapshot_dir: Path) -> BaseFileLock:
    """The directory's update lock, held until released; SnapshotError when another run
    holds it."""
    snapshot_dir.mkdir(parents=True, exist_ok=True)
    path = lock_path(snapshot_dir)
    lock = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise SnapshotError(
            f"another --llm-update run is writing snapshots in {snapshot_dir} (it holds "
            f"{path}): wait for it to finish, then run again; two at once "
            "would leave a mix of both runs' snapshots."
        ) from None
    return lock
