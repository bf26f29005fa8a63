"""The end of a session: the JSON and Markdown reports, the GitHub step summary, and
(through artifacts.py) the plots and the pytest-benchmark JSON.

Written once, by the process that holds every record: the controller under xdist (workers
send theirs instead), or the only process without it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmperf.files import append, write_atomically
from pytest_llmperf.redaction import redacted
from pytest_llmperf.report import artifacts, history, json_report, markdown
from pytest_llmperf.settings.settings import Settings

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


@dataclass
class Published:
    """What the terminal summary says about the reports; `failed` when one asked for by an
    option could not be written (the hooks then fail the run)."""

    lines: list[str] = field(default_factory=list)
    failed: bool = False

    def write(self, path: Path, what: str, flag: str, render: Callable[[], str]) -> None:
        try:
            write_atomically(path, render())
        except OSError as error:
            self.failed = True
            self.lines.append(
                f"pytest-llmperf: could not write the {what} to {path} "
                f"({error.strerror or error}): "
                f"pass {flag} a file path in a directory you can write to."
            )
        else:
            self.lines.append(f"{what} written to {path}")


def publish(report: Mapping[str, Any], settings: Settings, environ: Mapping[str, str]) -> Published:
    """Write the reports the settings ask for, and append to the GitHub step summary."""
    published = Published()
    if settings.report is not None:
        published.write(
            settings.report, "JSON report", "--llm-report", lambda: json_report.dumps(report)
        )
    if settings.markdown is not None:
        published.write(
            settings.markdown, "Markdown report", "--llm-markdown", lambda: markdown.render(report)
        )
    if settings.history is not None and report["summary"]["judged"]:
        try:
            path = history.append_report(settings.history, report, settings.rootdir)
        except OSError as error:
            published.failed = True
            published.lines.append(
                f"pytest-llmperf: could not append to the history in {settings.history} "
                f"({error.strerror or error}): pass --llm-history a directory you can write to."
            )
        else:
            published.lines.append(
                f"run appended to the history: {path}; the trend: "
                f"python -m pytest_llmperf.report.trend {settings.history} --html trend.html"
            )
    step_summary = environ.get(STEP_SUMMARY, "")
    # Only when something was judged: the plugin loads in every pytest run of the project.
    if step_summary and report["tests"]:
        try:
            append(Path(step_summary), markdown.render(report))
        except OSError as error:
            published.lines.append(
                f"pytest-llmperf: could not append to ${STEP_SUMMARY} ({step_summary}): "
                f"{error.strerror or error}"
            )
        else:
            published.lines.append(f"Markdown summary appended to ${STEP_SUMMARY}")
    return published


def finish(
    settings: Settings,
    records: Sequence[Mapping[str, Any]],
    environment: Mapping[str, Any] | None,
    provenance: artifacts.Provenance,
    *,
    collect_only: bool = False,
) -> Published:
    """At the end of the session, in the process that holds every record (the controller
    under xdist): write every output asked for: reports, step summary, plots,
    pytest-benchmark JSON (its machine and commit from `provenance`). Nothing with
    `collect_only`, which judged nothing."""
    # Records are masked when built; masked again here for those a worker sent.
    records, environment = redacted(list(records)), redacted(environment)
    reports = (
        settings.report or settings.markdown or settings.history or os.environ.get(STEP_SUMMARY)
    )
    files = settings.plots is not None or settings.benchmark_json is not None
    if not (reports or files) or collect_only:
        return Published()
    published = Published()
    if reports:
        report = redacted(json_report.build_report(records, settings, environment))
        published = publish(report, settings, os.environ)
    for line, failed in artifacts.write_outputs(settings, records, provenance, environment):
        published.lines.append(line)
        published.failed = published.failed or failed
    return published
