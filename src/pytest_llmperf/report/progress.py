"""A line per extra round of runs while a verdict is inconclusive, shown with -v.

The line is built here from plain verdicts; `live_printer` writes it the way pytest's live
logging does, between the test's name and its PASSED/FAILED word, without breaking either.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

from pytest_llmperf.judge.budget import Kind, Outcome, Verdict


def _estimate(verdict: Verdict) -> str:
    interval, unit = verdict.interval, verdict.limit.spec.unit
    if verdict.limit.spec.kind is Kind.RATIO:
        shown = f"{verdict.observed:.2f}x" if verdict.observed is not None else "?"
        if interval is not None:
            shown += f" [{interval.low:.2f}, {interval.high:.2f}]"
        return shown
    if interval is not None:
        return f"{interval.estimate:.1f} {unit} [{interval.low:.1f}, {interval.high:.1f}]"
    return "?" if verdict.observed is None else f"{verdict.observed:.3g} {unit}".rstrip()


def progress_line(
    nodeid: str, verdicts: Sequence[Verdict], runs: int, more: int, paired: bool
) -> str:
    """E.g. 'llmperf: t.py::test_a: 24 pairs, latency_ratio 1.31x [1.05, 1.62] inconclusive,
    measuring 24 more'."""
    open_ones = ", ".join(
        f"{verdict.limit.name} {_estimate(verdict)}"
        for verdict in verdicts
        if verdict.outcome is Outcome.INCONCLUSIVE
    )
    what = "pairs" if paired else "runs"
    return f"llmperf: {nodeid}: {runs} {what}, {open_ones} inconclusive, measuring {more} more"


def live_printer(config: Any) -> Callable[[str], None] | None:
    """A writer of progress lines for `config`, or None: without -v, and on xdist workers
    (whose terminal nobody sees)."""
    if config.option.verbose <= 0 or hasattr(config, "workerinput"):
        return None

    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        # As pytest's live logging: lift capturing, start on a fresh line; pytest writes the
        # test's name again before its PASSED/FAILED word.
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            reporter.ensure_newline()
            reporter.write_line(f"    {line}")

    return write
