"""Snapshot housekeeping, as syrupy does it: count the snapshots written, updated and used,
find the unused ones, and remove them when asked.

A snapshot is unused when the session can vouch that no test of it maps to the file: its test
file was collected whole and no collected or deselected test maps to it, or its test file is
gone and the session collected the directory that held it. A test that merely was not
selected (`-k`, `-m`, one file, one node id) keeps its snapshot. Nothing is called unused
after collection errors or an interrupted run.

Plain data and paths only, nothing of pytest's: the hooks in plugin.py read what the command
line asked to collect (`CollectionScope`), and pytest-xdist workers ship `to_dict()` to the
controller (xdist_support.py), which `merge`s it and decides on unused snapshots alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmperf.snapshots.store import SnapshotStore
from pytest_llmperf.text import plural

LISTED = 10  # unused paths listed by name; the rest are counted
# pytest exit codes after which every test was collected and the session ran to its end
# (0 ok, 1 tests failed, including -x and --maxfail; 5 no tests collected).
_COMPLETE_EXIT_CODES = (0, 1, 5)


@dataclass(frozen=True)
class CollectionScope:
    """What the command line asked to collect: directories whole, and files named by node id."""

    rootdir: Path
    directories: tuple[Path, ...] = ()
    partial_files: frozenset[Path] = frozenset()

    @classmethod
    def from_args(cls, args: Sequence[str], invocation_dir: Path, rootdir: Path) -> CollectionScope:
        """From the command line's test arguments (paths, `path::node` ids; --pyargs names
        are ignored), relative to the directory pytest was invoked in."""
        directories, partial = [], set()
        for arg in args:
            name, separator, _ = arg.partition("::")
            path = Path(os.path.abspath(invocation_dir / name))
            if separator:
                partial.add(path)
            elif path.is_dir():
                directories.append(path)
        return cls(rootdir, tuple(directories), frozenset(partial))

    def contains(self, path: Path) -> bool:
        return any(path.is_relative_to(directory) for directory in self.directories)


@dataclass
class SnapshotActivity:
    """What the session did with snapshots, and what it knows of the tests it collected."""

    written: set[Path] = field(default_factory=set)  # new files
    updated: set[Path] = field(default_factory=set)  # existing files rewritten
    unchanged: set[Path] = field(default_factory=set)  # read as a baseline, not rewritten
    known_nodeids: set[str] = field(default_factory=set)  # collected or deselected
    collected_files: set[str] = field(default_factory=set)  # test files, relative to rootdir
    complete: bool = True  # False after collection errors or an interruption
    unused_found: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    remove_errors: list[str] = field(default_factory=list)
    scope: CollectionScope | None = None

    # -- what happened ---------------------------------------------------------------------

    def note_saved(self, path: Path, existed: bool) -> None:
        (self.updated if existed else self.written).add(path)

    def note_used(self, path: Path) -> None:
        self.unchanged.add(path)

    def note_tests(self, nodeids: Iterable[str]) -> None:
        """Tests collected or deselected: their snapshots are never unused."""
        self.known_nodeids.update(nodeids)

    def note_file(self, nodeid: str) -> None:
        """A test file collected (even one with no tests left in it)."""
        self.collected_files.add(nodeid)

    def collection_finished(self, errors: int) -> None:
        if errors:
            self.complete = False

    # -- pytest-xdist ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain lists and strings: what a worker sends the controller."""
        return {
            "written": sorted(map(str, self.written)),
            "updated": sorted(map(str, self.updated)),
            "unchanged": sorted(map(str, self.unchanged)),
            "known_nodeids": sorted(self.known_nodeids),
            "collected_files": sorted(self.collected_files),
            "complete": self.complete,
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add a worker's `to_dict()`; merging the same data twice changes nothing."""
        for name in ("written", "updated", "unchanged"):
            getattr(self, name).update(Path(path) for path in data.get(name, ()))
        self.known_nodeids.update(data.get("known_nodeids", ()))
        self.collected_files.update(data.get("collected_files", ()))
        self.complete = self.complete and bool(data.get("complete", False))

    # -- unused snapshots ------------------------------------------------------------------

    def unused(self, store: SnapshotStore) -> list[Path]:
        """The .json files under the store that no test of this session can own, sorted."""
        if not self.complete or self.scope is None or not store.root.is_dir():
            return []
        expected = {store.path_for(nodeid) for nodeid in self.known_nodeids}
        # A node id without '::' maps into its test file's own folder of the store.
        whole_files = {
            store.path_for(name).parent
            for name in self.collected_files
            if Path(os.path.abspath(self.scope.rootdir / name)) not in self.scope.partial_files
        }
        partial_files = {
            store.path_for(name).parent
            for name in self.collected_files
            if Path(os.path.abspath(self.scope.rootdir / name)) in self.scope.partial_files
        }
        return sorted(
            path
            for path in _snapshot_files(store.root)
            if path not in expected
            and path.parent not in partial_files
            and (path.parent in whole_files or self._test_file_gone(store, path))
        )

    def _test_file_gone(self, store: SnapshotStore, path: Path) -> bool:
        """The snapshot's test file no longer exists, in a directory this session collected."""
        assert self.scope is not None
        parts = path.relative_to(store.root).parts[:-1]
        if len(parts) < 1 or "__" in parts:  # "__": a test file outside the rootdir
            return False
        folder = self.scope.rootdir.joinpath(*parts[:-1])
        if not self.scope.contains(folder / parts[-1]):
            return False
        if not folder.is_dir():
            return True
        return not any(
            child.is_file() and store.path_for(child.name).parent.name == parts[-1]
            for child in folder.iterdir()
        )

    def finish(
        self, store: SnapshotStore, scope: CollectionScope, *, exit_code: int, remove: bool
    ) -> None:
        """Find the unused snapshots at the end of the session, and remove them if asked."""
        self.scope = scope
        if exit_code not in _COMPLETE_EXIT_CODES:
            self.complete = False
        self.unused_found = self.unused(store)
        if remove:
            self.removed, self.remove_errors = remove_snapshots(store.root, self.unused_found)

    # -- the summary -------------------------------------------------------------------------

    def summary_lines(self, snapshot_dir: Path) -> list[str]:
        """syrupy's sentences ("1 snapshot written. 2 snapshots unused."), then the unused."""
        unchanged = self.unchanged - self.written - self.updated
        removed = set(self.removed)
        still_unused = [path for path in self.unused_found if path not in removed]
        counts = [
            _count(len(self.written), "snapshot", "written"),
            _count(len(self.updated), "snapshot", "updated"),
            _count(len(unchanged), "snapshot", "unchanged"),
            _count(len(self.removed), "unused snapshot", "removed"),
            _count(len(still_unused), "snapshot", "unused"),
        ]
        sentences = " ".join(count for count in counts if count)
        if not sentences:
            return []
        lines = [f"{sentences} ({self._shown(snapshot_dir)})"]
        lines += [f"  removed {self._shown(path)}" for path in self.removed]
        lines += [f"  could not remove {error}" for error in self.remove_errors]
        if still_unused:
            lines += [f"  unused {self._shown(path)}" for path in still_unused[:LISTED]]
            if len(still_unused) > LISTED:
                lines.append(f"  and {len(still_unused) - LISTED} more")
            lines.append(
                "Their tests are gone. Remove them with `pytest --llm-baseline=MODEL --llm-update "
                "--llm-remove-unused`, or delete them by hand."
            )
        return lines

    def _shown(self, path: Path) -> str:
        if self.scope is not None and path.is_relative_to(self.scope.rootdir):
            return str(path.relative_to(self.scope.rootdir))
        return str(path)


def _count(number: int, noun: str, verb: str) -> str:
    return f"{plural(number, noun)} {verb}." if number else ""


def _snapshot_files(root: Path) -> Iterable[Path]:
    """Every regular .json file under root; symbolic links are neither followed nor listed."""
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder, name)
            if name.endswith(".json") and path.is_file() and not path.is_symlink():
                yield path


def remove_snapshots(root: Path, paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """Delete these files under root, then the folders inside root they leave empty.

    Returns the files removed and a line per file that could not be.
    """
    removed, errors = [], []
    root = Path(os.path.abspath(root))
    for path in paths:
        if path.suffix != ".json" or not path.is_relative_to(root) or path.is_symlink():
            errors.append(f"{path}: not a snapshot under {root}")
            continue
        try:
            path.unlink()
        except OSError as error:
            errors.append(f"{path}: {error.strerror or error}")
            continue
        removed.append(path)
        folder = path.parent
        while folder != root and folder.is_relative_to(root) and not any(folder.iterdir()):
            try:
                folder.rmdir()
            except OSError:
                break
            folder = folder.parent
    return removed, errors
