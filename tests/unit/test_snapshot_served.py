"""A served call's figures in a snapshot: a load run's counts and a capacity search's result
survive the round trip (what goodput_ratio and capacity_ratio are judged on), read short in
a diff, and are checked where read."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.errors import SnapshotError
from pytest_llmperf.results import CapacityFigures, CapacityStep, LoadFigures, Pricing
from pytest_llmperf.snapshots.store import Snapshot, SnapshotStore, snapshot_to_json
from tests.unit.test_snapshot import NODEID, make_snapshot

LOAD = LoadFigures(
    concurrency=None,
    rate_per_s=12.0,
    requests=36,
    errors=1,
    wall_seconds=3.25,
    output_tokens=180,
    arrival="poisson",
    slo_requests=36,
    slo_met=33,
    slo_tightest_ms=300.0,
    client_lags_ms=(0.5, 1.0, 40.0),
)
CAPACITY = CapacityFigures(
    target=0.95,
    held_rps=48.25,
    failed_rps=50.125,
    indeterminate=False,
    stopped="precision",
    steps=(
        CapacityStep(24.5, 108, 108, "holds", 0.9664513, 1.0, 44.5, 20.25, 1.5),
        CapacityStep(49.0, 108, 108, "holds", 0.966, 1.0, 48.0, None, 2.0),
        CapacityStep(98.0, 108, 7, "over-saturated", 0.026, 0.129, 900.5, None, 3.0, True),
        CapacityStep(98.0, 108, 8, "over-saturated", 0.033, 0.141, 880.0, None, 3.5),
        CapacityStep(73.5, 108, 9, "client-bound"),
    ),
    slo={"slo_latency_ms": 100.0},
)


def served_snapshot(load: LoadFigures | None = LOAD, capacity: Any = CAPACITY) -> Snapshot:
    snapshot = make_snapshot()
    result = replace(snapshot.calls[0].result, load=load, capacity=capacity)
    return replace(snapshot, calls=(replace(snapshot.calls[0], result=result),))


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / ".llmperf")


def test_load_and_capacity_figures_survive_the_round_trip(store: SnapshotStore) -> None:
    store.save(served_snapshot())
    loaded = store.load(NODEID)
    assert loaded is not None
    result = loaded.result(Pricing(), 95.0)
    # every figure of a step kept, to the 3 decimals a diff shows
    assert result.capacity == replace(
        CAPACITY, steps=(replace(CAPACITY.steps[0], low=0.966), *CAPACITY.steps[1:])
    )
    assert result.capacity_bracket("rate") == (48.25, 50.125)
    assert result.goodput_rps == LOAD.goodput_rps and result.slo_attainment == 33 / 36
    assert result.requests_per_s == LOAD.requests_per_s and result.error_rate == 1 / 36
    # the client lag is kept as its 95th percentile: the figure and the client-bound rule
    assert result.client_lag_ms == pytest.approx(LOAD.client_lag_ms, abs=0.001)
    assert result.load is not None and result.load.client_bound == LOAD.client_bound
    assert result.load.arrival == "poisson"


def test_a_search_reads_as_columns_and_a_summary_in_a_diff(store: SnapshotStore) -> None:
    store.save(served_snapshot())
    text = store.path_for(NODEID).read_text()
    assert '"rate_rps": [24.5, 49.0, 98.0, 98.0, 73.5]' in text
    assert '"remeasured": [false, false, true, false, false]' in text
    assert '"client_lag_ms": [1.5, 2.0, 3.0, 3.5, null]' in text
    assert '"low": [0.966, 0.966, 0.026, 0.033, null]' in text
    summary = json.loads(text)["summary"]
    assert summary["capacity_rps"] == 48.25
    assert summary["goodput_rps"] == round(33 / 3.25, 3) and summary["slo_attainment"] == 0.917
    assert len(text.splitlines()) < 120


def test_a_search_by_concurrency_reads_back_as_one(store: SnapshotStore) -> None:
    by_concurrency = replace(CAPACITY, by="concurrency", held_rps=6.0, failed_rps=8.0)
    store.save(served_snapshot(load=None, capacity=by_concurrency))
    loaded = store.load(NODEID)
    assert loaded is not None
    assert loaded.result(Pricing(), 95.0).capacity.by == "concurrency"
    assert loaded.result(Pricing(), 95.0).capacity_bracket("concurrency") == (6.0, 8.0)


def test_a_call_sent_one_request_at_a_time_records_neither(store: SnapshotStore) -> None:
    store.save(served_snapshot(load=None, capacity=None))
    text = store.path_for(NODEID).read_text()
    for key in ("load", "capacity", "goodput_rps", "slo_attainment"):
        assert f'"{key}"' not in text


def _bad(change) -> str:
    document = snapshot_to_json(served_snapshot())
    change(document["calls"][0])
    return json.dumps(document)


def _steps(call: dict[str, Any]) -> dict[str, Any]:
    return call["capacity"]["steps"]


BAD = {
    "met above requests": (
        lambda call: _steps(call)["met"].__setitem__(0, 109),
        "capacity.steps[0].met",
    ),
    "unknown outcome": (
        lambda call: _steps(call)["outcome"].__setitem__(1, "fine"),
        "capacity.steps[1].outcome",
    ),
    "columns of different lengths": (
        lambda call: _steps(call)["rate_rps"].pop(),
        "differ in length",
    ),
    "a negative rate": (
        lambda call: call["capacity"].__setitem__("held_rps", -1),
        "capacity.held_rps",
    ),
    "a target of 1.5": (lambda call: call["capacity"].__setitem__("target", 1.5), "target"),
    "a negative SLO": (
        lambda call: call["capacity"]["slo"].__setitem__("slo_latency_ms", -1),
        "capacity.slo.slo_latency_ms",
    ),
    "a negative p95": (
        lambda call: _steps(call)["latency_p95_ms"].__setitem__(0, -5),
        "capacity.steps[0].latency_p95_ms",
    ),
    "a short column of lags": (
        lambda call: _steps(call)["client_lag_ms"].pop(),
        "client_lag_ms must be a list of 5",
    ),
    "an SLO no generate() names": (
        lambda call: call["capacity"]["slo"].__setitem__("slo_fast", 5),
        "capacity.slo must be an object of",
    ),
    "by a number": (lambda call: call["capacity"].__setitem__("by", 3), "capacity.by"),
    "errors above requests": (lambda call: call["load"].__setitem__("errors", 37), "load.errors"),
    "met above held to the SLO": (
        lambda call: call["load"].__setitem__("slo_met", 40),
        "load.slo_met",
    ),
    "a lag of NaN": (
        lambda call: call["load"].__setitem__("client_lag_ms_p95", float("nan")),
        "load.client_lag_ms_p95",
    ),
    "load not an object": (lambda call: call.__setitem__("load", [1]), "load must be an object"),
}


@pytest.mark.parametrize(("change", "field"), BAD.values(), ids=BAD.keys())
def test_a_bad_served_figure_names_its_field(store: SnapshotStore, change, field: str) -> None:
    path = store.path_for(NODEID)
    path.parent.mkdir(parents=True)
    path.write_text(_bad(change))
    with pytest.raises(SnapshotError, match="malformed") as excinfo:
        store.load(NODEID)
    assert field in str(excinfo.value)
