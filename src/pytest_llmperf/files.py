"""Writing files whole: output paths checked when their option is parsed, and every file
(snapshots, reports, plots) replaced atomically, so an interrupted run never leaves half of one.

The one way the plugin writes a file: every text written here goes through the redaction
layer, whatever rendered it (tests/unit/test_every_sink_redacts.py checks that nothing else
in the package writes files). Bytes are images, written as they are."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.redaction import redact


def check_writable_file(path: Path, where: str) -> None:
    """ConfigError naming `where` (e.g. '--llm-report') when `path` cannot become a file.

    Checked before any test runs, so that a long run does not end with nowhere to write.
    Nothing is created here: the parent directories are made when the report is written.
    """
    fix = "give it a file path in a directory you can write to"
    with _unusable_path(path, where, fix):
        _check_file(path, where, fix)


def _check_file(path: Path, where: str, fix: str) -> None:
    if path.is_dir():
        raise ConfigError(f"{where} names a directory ({path}), not a file: {fix}.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{where} names {path}, which is not writable: {fix}.")
    _check_creatable(path, path.parent, where, fix)


def _check_creatable(path: Path, start: Path, where: str, fix: str) -> None:
    """The nearest existing ancestor of `start` must be a directory this user can write to."""
    ancestor = start
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ConfigError(
            f"{where} names {path}, which cannot be created: {ancestor} is a file, not a "
            f"directory: {fix}."
        )
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise ConfigError(
            f"{where} names {path}, which cannot be created: {ancestor} is not writable: {fix}."
        )


def write_atomically(path: Path, content: str | bytes) -> None:
    """Write to a temporary file beside `path`, then rename it into place: a reader (or an
    interrupted run) sees the old file or the new one, never half of one. A text is masked
    (redaction.py) before it is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = redact(content).encode("utf-8") if isinstance(content, str) else content
    # mkstemp's 0600 would hide CI artifacts from others; keep a file's own mode.
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp_name, mode)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def check_writable_directory(path: Path, where: str) -> None:
    """ConfigError when `path` is not, and cannot become, a directory this user writes to."""
    fix = "give it a directory path you can write to"
    with _unusable_path(path, where, fix):
        if path.exists() and not path.is_dir():
            raise ConfigError(f"{where} names {path}, which is a file, not a directory: {fix}.")
        _check_creatable(path, path, where, fix)


@contextmanager
def _unusable_path(path: Path, where: str, fix: str) -> Iterator[None]:
    """A path the system refuses to look at (a name too long, a loop of links): a
    ConfigError naming the option, not an OSError."""
    try:
        yield
    except OSError as error:
        shown = str(path) if len(str(path)) <= 120 else str(path)[:119] + "…"
        raise ConfigError(
            f"{where} names {shown}, which cannot be used ({error.strerror or error}): {fix}."
        ) from None


def append(path: Path, text: str) -> None:
    """Append `text` to `path` (created if missing), after a blank line when it has content:
    the GitHub step summary gathers what every step of a job writes there. Masked first."""
    text = redact(text)
    with path.open("a", encoding="utf-8") as handle:
        if handle.tell() > 0:
            handle.write("\n")
        handle.write(text)
