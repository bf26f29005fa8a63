"""The calls each test made through the fixtures, kept until the test is judged."""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.results import GenerationResult

Call = tuple[Workload, GenerationResult]


@dataclass
class TestCalls:
    """One test's calls, and the baseline runs paired with its candidate calls."""

    __test__ = False  # not a test class, whatever pytest's naming rule says

    candidate_calls: list[Call] = field(default_factory=list)
    baseline_calls: list[Call] = field(default_factory=list)
    paired_baseline: list[GenerationResult] = field(default_factory=list)
    both_called: bool = False  # the pairs re-measure a test that called both models itself
    # With several candidates: each call's key in the session's shared baseline runs.
    shared_keys: list[tuple[str, int]] = field(default_factory=list)

    def candidate(self) -> GenerationResult:
        return GenerationResult.combine([result for _, result in self.candidate_calls])

    def live_baseline(self) -> GenerationResult | None:
        """The baseline measured in this run: the test's own calls, or the paired runs."""
        if self.baseline_calls:
            return GenerationResult.combine([result for _, result in self.baseline_calls])
        if self.paired_baseline:
            return GenerationResult.combine(self.paired_baseline)
        return None

    def baseline_for_snapshot(self) -> list[Call]:
        """The baseline's calls as a snapshot records them: the test's own, else the paired."""
        if self.baseline_calls:
            return self.baseline_calls
        workloads = [workload for workload, _ in self.candidate_calls]
        return list(zip(workloads, self.paired_baseline, strict=False))

    @property
    def under_load(self) -> bool:
        return any(workload.load is not None for workload, _ in self.candidate_calls)

    def seconds_measured(self) -> float:
        """Seconds of generation behind the test's live runs: the cost of as many again."""
        both = (self.candidate(), self.live_baseline())
        results = [result for result in both if result is not None]
        # Under load requests overlap: the wall time is what another round costs.
        return sum(
            result.load.wall_seconds if result.load else float(result.latencies_ms.sum()) / 1000
            for result in results
        )
