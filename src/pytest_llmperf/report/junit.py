"""A judged test's figures and verdicts as test properties, for JUnit XML and other reporters.

Names are dotted under `llmperf.`: `llmperf.verdict.<limit>` (pass, FAIL, not compared),
`llmperf.<limit>.{observed,budget,baseline,candidate}`, and `llmperf.{candidate,baseline}.<figure>`
for every single-number figure of docs/report-schema.md (raw sample lists are left out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_llmperf.redaction import redact

PREFIX = "llmperf"
_VERDICT_FIGURES = ("observed", "budget", "baseline", "candidate")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def properties(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, value) pairs of one report record, in a stable order; None values left out;
    masked, as pytest writes them to JUnit XML where the plugin's own masking never runs."""
    pairs: list[tuple[str, Any]] = [
        (f"{PREFIX}.mode", record["mode"]),
        (f"{PREFIX}.failed", record["failed"]),
        (f"{PREFIX}.candidate.name", record["candidate"]["name"]),
        (f"{PREFIX}.baseline.source", record["baseline"]["source"]),
    ]
    for verdict in record["verdicts"]:
        limit = verdict["limit"]
        pairs.append((f"{PREFIX}.verdict.{limit}", verdict["outcome"]))
        pairs.extend((f"{PREFIX}.{limit}.{key}", verdict[key]) for key in _VERDICT_FIGURES)
    for role in ("candidate", "baseline"):
        figures = record[role]["figures"] or {}
        pairs.extend(
            (f"{PREFIX}.{role}.{key}", value)
            for key, value in figures.items()
            if not isinstance(value, list)
        )
    return [(redact(name), redact(_value(value))) for name, value in pairs if value is not None]
