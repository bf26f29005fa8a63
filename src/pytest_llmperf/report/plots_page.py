"""index.html of --llm-plots: one self-contained page to keep as a CI artifact.

What a reader needs to act, in that order: which candidate was judged against which
baseline, the verdicts with failures first (each with what was held against its budget),
what to do about each failure, the summary per test, the images, every figure, and the
settings and machine the numbers come from. Rendered from report records (records.py) and
the JSON report's settings and environment; the images come from plots.py, by file name.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from pytest_llmperf.metrics import METRICS_BY_NAME, Unit
from pytest_llmperf.outcomes import Outcome, outcome_of
from pytest_llmperf.report.capacity_table import capacity_line
from pytest_llmperf.report.cells import (
    change_text,
    failing_first,
    figure_values,
    models_judged,
    observed_text,
    remedies,
    verdict_unit,
)
from pytest_llmperf.text import plural

Record = Mapping[str, Any]
esc = html.escape

# Columns of the summary per test: metric rows.
_COLUMNS = tuple(
    METRICS_BY_NAME[name]
    for name in ("latency", "latency_p95", "output_tokens", "accuracy", "cost")
)
_OUTCOME_CLASS = {Outcome.FAIL: "fail", Outcome.INCONCLUSIVE: "open", Outcome.NOT_COMPARED: "skip"}

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 110em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.fail { color: #b00; font-weight: bold; }
.open { color: #8a6d00; }
.skip { color: #666; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0 1.5em; }
code { font-size: 0.95em; }
li { margin: 0.3em 0; }
"""


def index_html(
    records: Sequence[Record],
    images: Mapping[str, bytes],
    image_of: Mapping[str, str],
    settings: Mapping[str, Any] | None = None,
    environment: Mapping[str, Any] | None = None,
    tradeoff: str | None = None,
    ranked: str | None = None,
    capacity_of: Mapping[str, str] | None = None,
) -> str:
    """The page: `records` are the judged tests, `images` every PNG by file name,
    `image_of` a test's latency PNG, `tradeoff` the trade-off PNG's name when drawn,
    `ranked` the candidates' ranking PNG's when the run judged several, `capacity_of` the
    PNG of SLO attainment against load of each test that searched a capacity."""
    records = failing_first(records)
    settings = settings or {}
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8"><title>pytest-llmperf report</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>pytest-llmperf: {esc(_state(records))}</h1>",
        *_models(records, settings),
        f"<p>Written {stamp}.</p>",
    ]
    if not records:
        parts.append("<p>No test was judged in this session: nothing to plot.</p>")
    else:
        parts += _verdicts(records)
        parts += _advice(records)
        parts += _summary(records)
    if ranked is not None:
        parts += ["<h2>Candidates ranked</h2>", _img(ranked, images[ranked], "ranking")]
    if tradeoff is not None:
        parts += ["<h2>Trade-off</h2>", _img(tradeoff, images[tradeoff], "trade-off")]
    parts += _capacity(records, images, capacity_of or {})
    if records:
        parts.append("<h2>Latency per test</h2>")
    for record in records:
        name = image_of[record["test"]]
        parts.append(f'<h3 id="{esc(name)}"><code>{esc(record["test"])}</code></h3>')
        parts.append(_img(name, images[name], f"latency of {record['test']}"))
    if records:
        parts += _figures(records)
    parts += _settings(settings, environment)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _capacity(
    records: Sequence[Record], images: Mapping[str, bytes], capacity_of: Mapping[str, str]
) -> list[str]:
    """Each capacity search's attainment against load, under its capacities in words."""
    tests = [record for record in records if record["test"] in capacity_of]
    if not tests:
        return []
    parts = ["<h2>SLO attainment against load</h2>"]
    for record in tests:
        name = capacity_of[record["test"]]
        parts.append(f'<h3 id="{esc(name)}"><code>{esc(record["test"])}</code></h3>')
        parts.append(f"<p>{esc(capacity_line(record))}</p>")
        parts.append(_img(name, images[name], f"SLO attainment against load of {record['test']}"))
    return parts


def _state(records: Sequence[Record]) -> str:
    failed = sum(bool(record["failed"]) for record in records)
    if failed:
        return f"{failed} of {plural(len(records), 'test')} over budget"
    if records:
        return f"{plural(len(records), 'test')} judged, all within budget"
    return "no test judged"


def _models(records: Sequence[Record], settings: Mapping[str, Any]) -> list[str]:
    candidates, sources = models_judged(records, settings)
    lines = []
    if candidates:
        names = ", ".join(f"<code>{esc(name)}</code>" for name in candidates)
        lines.append(f"<p><b>Candidate:</b> {names}<br>")
        lines.append(f"<b>Baseline:</b> {esc('; '.join(sources))}</p>")
    return lines


def _outcome_cell(verdict: Mapping[str, Any]) -> str:
    outcome = outcome_of(verdict)
    css = _OUTCOME_CLASS.get(outcome)
    attribute = f' class="{css}"' if css else ""
    return f"<td{attribute}>{esc(outcome.value + observed_text(verdict))}</td>"


def _verdicts(records: Sequence[Record]) -> list[str]:
    """Every limit of every test, failures first; the verdict with what was held against
    the budget (a ratio and its interval, an SLA's interval)."""
    parts = [
        "<h2>Verdicts</h2><table>",
        "<tr><th>test</th><th>limit</th><th>baseline</th><th>candidate</th>"
        "<th>budget</th><th>verdict</th></tr>",
    ]
    for record in records:
        for verdict in sorted(record["verdicts"], key=lambda v: not v["failed"]):
            unit = verdict_unit(verdict)
            parts.append(
                f"<tr><td><code>{esc(record['test'])}</code></td><td>{esc(verdict['limit'])}</td>"
                f"<td>{esc(unit.format(verdict['baseline']))}</td>"
                f"<td>{esc(unit.format(verdict['candidate']))}</td>"
                f"<td>{esc(verdict['budget_text'])}</td>{_outcome_cell(verdict)}</tr>"
            )
    parts.append("</table>")
    return parts


def _advice(records: Sequence[Record]) -> list[str]:
    """Each failing limit's remedy, and every note (why a limit was not compared, what
    would settle an inconclusive one)."""
    items = []
    for record in records:
        test = f"<code>{esc(record['test'])}</code>"
        for remedy, limits in remedies(record):
            items.append(f"<li>{test} <b>{esc(', '.join(limits))}</b>: {esc(remedy)}</li>")
        for verdict in record["verdicts"]:
            if verdict["note"]:
                items.append(f"<li>{test} {esc(verdict['limit'])}: {esc(verdict['note'])}</li>")
    if not items:
        return []
    return ["<h2>What to do</h2><ul>", *items, "</ul>"]


def _change(baseline: Any, candidate: Any) -> str:
    change = change_text(baseline, candidate)
    return f" ({change})" if change else ""


def _cell(record: Record, key: str, unit: Unit) -> str:
    baseline = (record["baseline"].get("figures") or {}).get(key)
    candidate = (record["candidate"].get("figures") or {}).get(key)
    if baseline is None and candidate is None:
        return "-"
    return f"{unit.format(baseline)} → {unit.format(candidate)}{_change(baseline, candidate)}"


def _state_of(record: Record) -> str:
    failed = [verdict for verdict in record["verdicts"] if verdict["failed"]]
    if not failed:
        return "within budget"
    shown = "; ".join(f"{verdict['limit']}{observed_text(verdict)}" for verdict in failed)
    return f"over budget: {shown}"


def _summary(records: Sequence[Record]) -> list[str]:
    heads = "".join(f"<th>{esc(m.label)}<br>baseline → candidate</th>" for m in _COLUMNS)
    parts = ["<h2>Summary</h2><table>", f"<tr><th>test</th><th>verdict</th>{heads}</tr>"]
    for record in records:
        cells = "".join(f"<td>{esc(_cell(record, m.key, m.unit))}</td>" for m in _COLUMNS)
        css = ' class="fail"' if record["failed"] else ""
        parts.append(
            f"<tr><td><code>{esc(record['test'])}</code></td>"
            f"<td{css}>{esc(_state_of(record))}</td>{cells}</tr>"
        )
    parts.append("</table>")
    return parts


def _img(name: str, data: bytes, alt: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f'<a href="{esc(name)}"><img alt="{esc(alt)}" src="data:image/png;base64,{encoded}"></a>'


def _figures(records: Sequence[Record]) -> list[str]:
    """Every figure of both models, per test, as in the terminal and the Markdown."""
    parts = [
        "<h2>Figures</h2><table>",
        "<tr><th>test</th><th>figure</th><th>baseline</th><th>candidate</th><th>change</th></tr>",
    ]
    for record in records:
        for label, unit, baseline, candidate in figure_values(record):
            parts.append(
                f"<tr><td><code>{esc(record['test'])}</code></td><td>{esc(label)}</td>"
                f"<td>{esc(unit.format(baseline))}</td><td>{esc(unit.format(candidate))}</td>"
                f"<td>{esc(change_text(baseline, candidate))}</td></tr>"
            )
    parts.append("</table>")
    return parts


def _value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "-" if value is None else str(value)


def _settings(settings: Mapping[str, Any], environment: Mapping[str, Any] | None) -> list[str]:
    """The settings that shaped the measurements, and the machine and software they ran on."""
    rows = [("setting", key, value) for key, value in settings.items()]
    for part in ("hardware", "software"):
        rows += [(part, key, value) for key, value in ((environment or {}).get(part) or {}).items()]
    if not rows:
        return []
    parts = [
        "<h2>Settings and environment</h2><table>",
        "<tr><th></th><th>name</th><th>value</th></tr>",
    ]
    parts += [
        f"<tr><td>{esc(kind)}</td><td>{esc(key)}</td><td>{esc(_value(value))}</td></tr>"
        for kind, key, value in rows
    ]
    parts.append("</table>")
    return parts
