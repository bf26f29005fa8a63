"""The trend across a history of JSON reports (--llm-history=DIR, or any directory of
--llm-report files CI kept): every figure of every test per run, as a table and an HTML
page of line plots with the budgets drawn, flagging each step where a figure changed
beyond its noise.

    python -m pytest_llmperf.report.trend DIR [--html trend.html] [--last N]

A report it cannot read (not JSON, or of another shape) is skipped, naming it; `--last N`
keeps the N most recent runs.

A figure's noise is the median of its absolute step-to-step changes over the history; a
step is flagged when it moves more than three times that (and more than the noise floor,
1% of the value before): one bad commit stands out against the wobble of the others."""

from __future__ import annotations

import argparse
import base64
import html
import itertools
import json
import re
import statistics
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_llmperf.checks import finite
from pytest_llmperf.errors import ConfigError
from pytest_llmperf.files import check_writable_file, write_atomically
from pytest_llmperf.metrics import METRICS_BY_NAME, RANKED_FIGURES
from pytest_llmperf.report.history import ENTRY_NAME
from pytest_llmperf.report.ranking_plot import budget_on
from pytest_llmperf.report.terminal import table
from pytest_llmperf.text import plural, shown_value

STEP_TIMES_NOISE = 3.0
NOISE_FLOOR = 0.01


@dataclass(frozen=True)
class HistoryEntry:
    """One report of the history: where it came from, and its judged records."""

    label: str  # the commit, else the file's name
    created: str
    records: list[Mapping[str, Any]]


@dataclass
class Series:
    test: str
    figure: str
    values: list[float | None] = field(default_factory=list)
    budget: tuple[float | None, float | None] = (None, None)  # (highest, lowest) allowed

    def flagged_steps(self) -> list[int]:
        """Indices of runs whose value moved beyond the noise from the run before."""
        known = [(i, v) for i, v in enumerate(self.values) if v is not None]
        steps = [(after, b - a, a) for (_, a), (after, b) in itertools.pairwise(known)]
        # With two steps or fewer there is no noise to learn: any change past the floor.
        noise = statistics.median(abs(c) for _, c, _ in steps) if len(steps) > 2 else 0.0
        return [
            index
            for index, change, before in steps
            if abs(change) > STEP_TIMES_NOISE * noise and abs(change) > NOISE_FLOOR * abs(before)
        ]


class HistoryError(Exception):
    pass


def read_history(directory: Path, skipped: list[str] | None = None) -> list[HistoryEntry]:
    """Every JSON report in the directory that can be read, oldest first; each one that
    cannot is left out, with why, in `skipped` (an error when none is left)."""
    if not directory.is_dir():
        raise HistoryError(
            f"{directory} is not a directory: pass the directory given to --llm-history "
            "(or one holding --llm-report files)"
        )
    skipped = [] if skipped is None else skipped
    runs = []
    paths = sorted(directory.glob("*.json"))
    for path in paths:
        try:
            runs.append(read_entry(path))
        except HistoryError as error:
            skipped.append(f"skipped {path}: {error}")
    runs.sort(key=lambda run: run.created)
    if not paths:
        raise HistoryError(f"{directory} holds no JSON reports: run pytest with --llm-history")
    if not runs:
        raise HistoryError(
            f"{directory} holds no report it could read ({plural(len(paths), 'file')} "
            "skipped): point it at a --llm-history directory"
        )
    return runs


def read_entry(path: Path) -> HistoryEntry:
    """One report, checked by reading it the way the trend does (its figures as numbers);
    HistoryError saying why when it cannot be read."""
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as error:
        raise HistoryError(f"not a readable JSON file ({error})") from None
    if not isinstance(report, dict) or not isinstance(report.get("tests"), list):
        raise HistoryError("not a pytest-llmperf JSON report (no list of 'tests')")
    match = ENTRY_NAME.match(path.stem)
    label = (match.group("commit") if match else None) or path.stem
    try:
        judged = [record for record in report["tests"] if record.get("judged")]
        entry = HistoryEntry(label, str(report.get("created", "")), judged)
        for line in series_of([entry]):
            if any(value is not None and finite(value) is None for value in line.values):
                raise ValueError(f"{line.figure} of {line.test} is not a number")
            list(table_lines([entry], [line]))
    except (TypeError, KeyError, AttributeError, ValueError) as error:
        raise HistoryError(
            f"a report of another shape ({type(error).__name__}: {shown_value(str(error))})"
        ) from None
    return entry


def series_of(runs: Sequence[HistoryEntry]) -> list[Series]:
    """One series per (test, figure) any run measured, a value per run (None if absent)."""
    found: dict[tuple[str, str], Series] = {}
    for position, run in enumerate(runs):
        for record in run.records:
            figures = record["candidate"].get("figures") or {}
            for figure in RANKED_FIGURES:
                value = figures.get(METRICS_BY_NAME[figure].key)
                if value is None:
                    continue
                key = (record["test"], figure)
                series = found.setdefault(key, Series(*key, values=[None] * len(runs)))
                series.values[position] = value
                series.budget = budget_on([record], figure)
    return sorted(found.values(), key=lambda s: (s.test, RANKED_FIGURES.index(s.figure)))


def _text(figure: str, value: float | None) -> str:
    return "-" if value is None else METRICS_BY_NAME[figure].unit.format(value)


def table_lines(runs: Sequence[HistoryEntry], series: Sequence[Series]) -> Iterator[str]:
    """A table: a row per test and figure, a column per run; '!' marks a flagged step."""
    rows: list[tuple[str, ...]] = [("test", "figure", *(run.label for run in runs))]
    for line in series:
        flagged = set(line.flagged_steps())
        cells = [
            _text(line.figure, value) + (" !" if index in flagged else "")
            for index, value in enumerate(line.values)
        ]
        rows.append((line.test, METRICS_BY_NAME[line.figure].label, *cells))
    yield f"{len(runs)} runs, oldest first; '!' marks a change beyond the figure's noise"
    yield from table(rows, indent="")


def _plot(line: Series, runs: Sequence[HistoryEntry]) -> bytes:
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 2.6), layout="constrained")
    axes = figure.add_subplot()
    xs = [i for i, v in enumerate(line.values) if v is not None]
    axes.plot(xs, [line.values[i] for i in xs], marker="o", color="tab:blue")
    for index in line.flagged_steps():
        axes.plot(
            [index],
            [line.values[index]],
            marker="o",
            markersize=12,
            fillstyle="none",
            color="tab:red",
        )
    high, low = line.budget
    for bound, label in ((high, "budget (most)"), (low, "budget (least)")):
        if bound is not None:
            axes.axhline(bound, color="tab:red", linestyle="--", linewidth=1, label=label)
    if high is not None or low is not None:
        axes.legend(fontsize=7)
    metric = METRICS_BY_NAME[line.figure]
    axes.set_xticks(range(len(runs)), [run.label for run in runs], rotation=30, fontsize=7)
    axes.set_ylabel(f"{metric.label} ({metric.unit.symbol})".replace(" ()", ""), fontsize=8)
    axes.set_title(f"{line.test}: {metric.label}", fontsize=9)
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    return buffer.getvalue()


def html_page(runs: Sequence[HistoryEntry], series: Sequence[Series]) -> str:
    """A page of line plots, one per test and figure, and the table."""
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        "<title>pytest-llmperf trend</title></head><body>",
        f"<h1>pytest-llmperf: {len(runs)} runs</h1>",
        "<pre>" + html.escape("\n".join(table_lines(runs, series))) + "</pre>",
    ]
    for line in series:
        data = base64.b64encode(_plot(line, runs)).decode("ascii")
        alt = html.escape(f"{line.test} {line.figure}")
        parts.append(f'<p><img alt="{alt}" src="data:image/png;base64,{data}"></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_llmperf.report.trend",
        description="The trend of every figure per test across a --llm-history directory.",
    )
    parser.add_argument("directory", type=Path, help="the --llm-history directory")
    parser.add_argument("--html", type=Path, help="also write a page of line plots here")
    parser.add_argument(
        "--last", type=_at_least_one, metavar="N", help="only the N most recent runs"
    )
    options = parser.parse_args(argv)
    skipped: list[str] = []
    try:
        if options.html is not None:
            _check_page(options.html)
        runs = read_history(options.directory, skipped)
    except (HistoryError, ConfigError) as error:
        for line in skipped:
            print(f"pytest-llmperf: {line}", file=sys.stderr)
        print(f"pytest-llmperf: {error}", file=sys.stderr)
        return 2
    for line in skipped:
        print(f"pytest-llmperf: {line}", file=sys.stderr)
    if options.last is not None:
        runs = runs[-options.last :]
    series = series_of(runs)
    for line in table_lines(runs, series):
        print(line)
    if options.html is not None:
        write_atomically(options.html, html_page(runs, series))
        print(f"trend page written to {options.html}")
    return 0


def _at_least_one(text: str) -> int:
    if not re.fullmatch(r"\d{1,9}", text.strip()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{shown_value(text)} is not a whole number of at least 1")
    return int(text)


def _check_page(path: Path) -> None:
    """ConfigError before anything is rendered: --html must name a file in a folder that is."""
    if path.is_dir():
        raise ConfigError(
            f"--html {path} is a folder: give a file path, e.g. {path / 'trend.html'}"
        )
    if not path.parent.is_dir():
        raise ConfigError(
            f"--html {path}: the folder {path.parent} does not exist: create it first, or give "
            "a path in an existing folder"
        )
    check_writable_file(path, "--html")


if __name__ == "__main__":
    sys.exit(main())
