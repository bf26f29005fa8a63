"""pytest-xdist: workers judge the tests; the controller gathers their report records.

A worker puts its records in `config.workeroutput` when its session finishes; xdist hands
that dict to the controller's `pytest_testnodedown`, which merges it into the controller's
session. Only the controller (or a run without xdist) writes reports and the summary.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_llmperf.judge.records import plain
from pytest_llmperf.session.session import LlmPerfSession

RECORDS_KEY = "llmperf_records"
ENVIRONMENT_KEY = "llmperf_environment"


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def send(
    config: pytest.Config, records: list[dict[str, Any]], environment: dict[str, Any] | None
) -> None:
    """On a worker: hand this worker's records and machine to the controller."""
    output: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
    output[RECORDS_KEY] = records
    output[ENVIRONMENT_KEY] = plain(environment)


def receive(node: Any, session: LlmPerfSession) -> None:
    """On the controller: merge what one finished worker sent (nothing if it crashed)."""
    output = getattr(node, "workeroutput", None) or {}
    session.merged_records.extend(output.get(RECORDS_KEY, []))
    if session.merged_environment is None:
        session.merged_environment = output.get(ENVIRONMENT_KEY)
