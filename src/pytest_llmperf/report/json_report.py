"""The --llm-report document: every judged test, the settings and the machine, versioned.

The schema is documented field by field in docs/report-schema.md; a change that renames or
removes a field, or changes its meaning, raises REPORT_SCHEMA_VERSION.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from importlib import metadata
from typing import Any

from pytest_llmperf.judge.records import plain
from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.report.ranking import ranking
from pytest_llmperf.settings.settings import OPTIONS, ModelSpec, Settings

REPORT_SCHEMA_VERSION = 1
TOOL_NAME = "pytest-llmperf"


def tool_version() -> str | None:
    try:
        return metadata.version(TOOL_NAME)
    except metadata.PackageNotFoundError:
        return None


def settings_record(settings: Settings) -> dict[str, Any]:
    """The settings that shape the measurements and verdicts, JSON-ready: the options marked
    `in_report` in the option table. An allowlist, so that a setting added later (a
    credential, say) reaches the report only when someone decides it should."""
    record: dict[str, Any] = {}
    for entry in OPTIONS:
        if entry.in_report:
            value = getattr(settings, entry.field)
            record[entry.key] = value.name if isinstance(value, ModelSpec) else value
    record["prices_per_1m"] = {
        role: {"input": options.pricing.input_per_1m, "output": options.pricing.output_per_1m}
        for role, options in settings.per_model.items()
    }
    record["default_limits"] = dict(settings.default_limits)
    record["snapshot_dir"] = str(settings.snapshot_dir)
    record["rootdir"] = str(settings.rootdir)
    return record


def summary(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Counts over the tests and their limits."""
    judged = [record for record in records if record["judged"]]
    verdicts = [verdict for record in judged for verdict in record["verdicts"]]
    outcomes = [outcome_of(verdict) for verdict in verdicts]
    return {
        "tests": len(records),
        "judged": len(judged),
        "failed": sum(record["failed"] for record in judged),
        "passed": sum(not record["failed"] for record in judged),
        "recorded": sum(not record["judged"] for record in records),
        "limits": len(verdicts),
        "limits_failed": sum(verdict["failed"] for verdict in verdicts),
        "limits_not_compared": outcomes.count(Outcome.NOT_COMPARED),
        "limits_inconclusive": outcomes.count(Outcome.INCONCLUSIVE),
        "snapshots_written": sum(record["snapshot_written"] is not None for record in records),
    }


def build_report(
    records: Sequence[Mapping[str, Any]],
    settings: Settings,
    environment: Mapping[str, Any] | None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The whole report as plain data."""
    created = created or datetime.now(timezone.utc)
    return plain(
        {
            "schema_version": REPORT_SCHEMA_VERSION,
            "tool": {"name": TOOL_NAME, "version": tool_version()},
            "created": created.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "environment": environment,
            "settings": settings_record(settings),
            "summary": summary(records),
            "tests": list(records),
            "ranking": ranking(records, settings.rank_by),
        }
    )


def dumps(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
