"""A live baseline's runs shared by every candidate: with several candidates, each workload
of a test is measured once, on the baseline and every candidate in alternating rounds
(measure_alternating), and every candidate's test of it is judged on those same runs.
Settling one candidate adds rounds of all the models to the shared runs, so a candidate
judged later sees them too: each record's baseline runs are the shared runs of that moment,
and an earlier record's are the first of a later one's."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pytest_llmperf.backends import Backend
from pytest_llmperf.measure.protocol import Protocol, measure_alternating
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.results import GenerationResult

# (the test without its candidate, the call's index in the test)
CallKey = tuple[str, int]


@dataclass
class _Measured:
    workload: Workload
    results: list[GenerationResult]  # the baseline's, then each candidate's in lineup order


def _same_call(a: Workload, b: Workload) -> bool:
    return (a.prompts, a.generation, a.load, a.expected) == (
        b.prompts,
        b.generation,
        b.load,
        b.expected,
    )


class SharedRuns:
    def __init__(self) -> None:
        self._measured: dict[CallKey, _Measured] = {}

    def results(
        self,
        key: CallKey,
        workload: Workload,
        models: Callable[[], Sequence[Backend]],
        protocol: Protocol,
    ) -> list[GenerationResult]:
        """The call's runs on [baseline, *candidates], measured on first asking. A test
        whose call differs between candidates is measured again for the one that asks."""
        measured = self._measured.get(key)
        if measured is None or not _same_call(measured.workload, workload):
            measured = _Measured(workload, measure_alternating(models(), workload, protocol))
            self._measured[key] = measured
        return measured.results

    def extend(
        self, key: CallKey, models: Sequence[Backend], protocol: Protocol
    ) -> list[GenerationResult]:
        """More rounds of the call on every model, added to the shared runs."""
        measured = self._measured[key]
        more = measure_alternating(models, measured.workload, protocol)
        measured.results = [
            result.extended(extra) for result, extra in zip(measured.results, more, strict=True)
        ]
        return measured.results
