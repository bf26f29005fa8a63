"""The progress line of an extra round of runs, and when it is printed at all."""

from __future__ import annotations

from types import SimpleNamespace

from pytest_llmperf.judge.stats import Interval
from pytest_llmperf.judge.verdicts import Outcome, Verdict
from pytest_llmperf.limits import LIMIT_SPECS, Limit
from pytest_llmperf.pytest_support import live_printer
from pytest_llmperf.session.until_decided import progress_line


def verdict(name: str, outcome: Outcome, observed: float, low: float, high: float) -> Verdict:
    interval = Interval(observed, low, high, 0.99, 24)
    return Verdict(Limit(LIMIT_SPECS[name], 1.2), outcome, observed=observed, interval=interval)


def test_the_line_names_the_open_verdicts_and_the_next_round() -> None:
    verdicts = [
        verdict("latency_ratio", Outcome.INCONCLUSIVE, 1.31, 1.05, 1.62),
        verdict("ttft_ratio", Outcome.PASS, 0.9, 0.8, 1.0),
        verdict("latency_ms", Outcome.INCONCLUSIVE, 312.04, 290.12, 330.25),
    ]
    assert progress_line("t.py::test_a", verdicts, 24, 24, paired=True) == (
        "llmperf: t.py::test_a: 24 pairs, latency_ratio 1.31x [1.05, 1.62], "
        "latency_ms 312 ms [290, 330] inconclusive, measuring 24 more"
    )
    assert ": 24 runs, " in progress_line("t.py::test_a", verdicts, 24, 24, paired=False)


def config(verbose: int, worker: bool = False) -> SimpleNamespace:
    namespace = SimpleNamespace(option=SimpleNamespace(verbose=verbose), pluginmanager=None)
    if worker:
        namespace.workerinput = {"workerid": "gw0"}
    return namespace


def test_printed_only_with_verbose_and_never_on_an_xdist_worker() -> None:
    assert live_printer(config(0)) is None
    assert live_printer(config(1, worker=True)) is None
    assert live_printer(config(1)) is not None


def test_the_printer_lifts_capturing_and_starts_a_fresh_line() -> None:
    calls: list[str] = []

    class Capture:
        def global_and_fixture_disabled(self):
            calls.append("capture off")
            return self

        def __enter__(self) -> None:
            pass

        def __exit__(self, *exc: object) -> None:
            calls.append("capture on")

    reporter = SimpleNamespace(
        ensure_newline=lambda: calls.append("newline"),
        write_line=lambda line: calls.append(line),
    )
    plugins = {"terminalreporter": reporter, "capturemanager": Capture()}
    cfg = config(1)
    cfg.pluginmanager = SimpleNamespace(get_plugin=plugins.get)
    printer = live_printer(cfg)
    assert printer is not None
    printer("llmperf: hello")
    assert calls == ["capture off", "newline", "    llmperf: hello", "capture on"]
