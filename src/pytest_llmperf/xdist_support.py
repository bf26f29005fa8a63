"""pytest-xdist: workers judge the tests; the controller gathers their report records and
what they did with snapshots.

A worker puts its records, machine and snapshot activity in `config.workeroutput` when its
session finishes; xdist hands that dict to the controller's `pytest_testnodedown`, which
merges it into the controller's session. Only the controller (or a run without xdist)
writes reports, decides on unused snapshots and writes the summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmperf.judge.records import plain
from pytest_llmperf.session.session import LlmPerfSession

RECORDS_KEY = "llmperf_records"
ENVIRONMENT_KEY = "llmperf_environment"
SNAPSHOTS_KEY = "llmperf_snapshots"


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def send(config: pytest.Config, session: LlmPerfSession) -> None:
    """On a worker: hand this worker's records, machine and snapshot activity to the
    controller."""
    output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
    output[SNAPSHOTS_KEY] = session.snapshots.to_dict()
    output[RECORDS_KEY] = session.report_records()
    output[ENVIRONMENT_KEY] = plain(session.environment())


def receive(node: Any, session: LlmPerfSession) -> None:
    """On the controller: merge what one finished worker sent (nothing if it crashed)."""
    output = getattr(node, "workeroutput", None) or {}
    if (snapshots := output.get(SNAPSHOTS_KEY)) is not None:
        session.snapshots.merge(snapshots)
    session.merged_records.extend(output.get(RECORDS_KEY, []))
    if session.merged_environment is None:
        session.merged_environment = output.get(ENVIRONMENT_KEY)
