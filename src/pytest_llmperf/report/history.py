"""--llm-history=DIR: each judged run's JSON report appended to a directory, named by the
time it was made and the git commit it measured (when the rootdir is in a git checkout),
for the trend across commits (report/trend.py)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_llmperf.files import write_atomically
from pytest_llmperf.report.json_report import dumps

# 20250102T030405Z-0123abcd.json, or without the commit outside a git checkout
ENTRY_NAME = re.compile(r"^(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<commit>[0-9a-f]{7,40}))?")


def git_commit(directory: Path) -> str | None:
    """The short commit checked out at `directory`; None outside git (or without git)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{7,40}", commit) else None


def entry_name(report: Mapping[str, Any], commit: str | None) -> str:
    stamp = re.sub(r"[-:]", "", str(report["created"]))[:15] + "Z"
    return f"{stamp}-{commit}.json" if commit else f"{stamp}.json"


def append_report(directory: Path, report: Mapping[str, Any], rootdir: Path) -> Path:
    """Write the report into the history directory, never over an earlier entry."""
    path = directory / entry_name(report, git_commit(rootdir))
    number = 1
    while path.exists():
        number += 1
        path = path.with_name(f"{path.stem.split('~')[0]}~{number}.json")
    write_atomically(path, dumps(report))
    return path
