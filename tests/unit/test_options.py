"""The option table: one row per setting makes the flags, the docs table and the report's
settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pytest_llmperf.report.json_report import settings_record
from pytest_llmperf.settings.settings import OPTIONS, Settings

ROOT = Path(__file__).resolve().parents[2]


def test_keys_and_flags_are_unique_and_named_alike() -> None:
    keys = [entry.key for entry in OPTIONS]
    flags = [entry.flag for entry in OPTIONS]
    assert len(set(keys)) == len(keys) and len(set(flags)) == len(flags)
    assert all(flag.startswith("--llm-") for flag in flags)


def test_every_default_parses_to_itself() -> None:
    """A default the parser would refuse would be a setting nobody can write back."""
    for entry in OPTIONS:
        if entry.default is None or entry.key == "dir":
            continue
        assert entry.parse(entry.default) == entry.default, entry.key


def test_the_docs_table_is_generated_from_the_options() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_docs.py"), "--check"], check=False
    )
    assert check.returncode == 0, "docs/configuration.md is stale: run scripts/update_docs.py"


def test_the_report_shows_exactly_the_options_marked_for_it() -> None:
    extra = {"prices_per_1m", "default_limits", "snapshot_dir", "rootdir"}
    shown = set(settings_record(Settings())) - extra
    assert shown == {entry.key for entry in OPTIONS if entry.in_report}
    assert not any("api_key" in key for key in shown)


def test_every_option_is_a_command_line_flag(pytester) -> None:
    result = pytester.runpytest("--help")
    for entry in OPTIONS:
        result.stdout.fnmatch_lines([f"*{entry.flag}*"])
