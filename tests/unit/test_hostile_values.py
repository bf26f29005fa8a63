"""Hostile values from outside, generated: snapshot contents, server streams and usage
blocks. Each gives a result whose every number is sound, or a clear error; never a
traceback, a hang, or a wrong measurement."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmperf.backends.endpoint import _usage_count
from pytest_llmperf.backends.openai_stream import DeadlinePassed, StreamedAnswer, timed_lines
from pytest_llmperf.errors import GenerationError, SnapshotError
from pytest_llmperf.snapshots.store import SnapshotStore, snapshot_to_json
from tests.unit.test_snapshot import NODEID, make_snapshot

json_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
)
hostile = st.one_of(
    st.none(), st.booleans(), json_number, st.text(max_size=6), st.lists(json_number, max_size=3)
)
COLUMNS = ("latency_ms", "ttft_ms", "output_tokens", "hit_max_new_tokens", "peak_memory_mb")


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))  # Python's json writes Infinity and NaN, as files may


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    column=st.sampled_from((*COLUMNS, "input_tokens", "prompt", "samples")),
    value=hostile,
    run=st.integers(min_value=0, max_value=1),
)
def test_a_snapshot_gives_sound_numbers_or_a_snapshot_error(tmp_path, column, value, run):
    store = SnapshotStore(tmp_path / ".llmperf")
    data = snapshot_to_json(make_snapshot())
    sample = data["calls"][0]["samples"][0]
    if column in COLUMNS:
        sample[column][run] = value
    elif column == "samples":
        data["calls"][0]["samples"] = value
    else:
        sample[column] = value
    _write(store.path_for(NODEID), data)
    try:
        snapshot = store.load(NODEID)
    except SnapshotError as error:
        assert str(store.path_for(NODEID)) in str(error)
        return
    assert snapshot is not None
    for call in snapshot.calls:
        for prompt in call.result.samples:
            assert prompt.input_tokens >= 0
            for measured in prompt.runs:
                assert math.isfinite(measured.latency_ms) and measured.latency_ms > 0
                assert 0 <= measured.output_tokens <= 16
                assert isinstance(measured.hit_max_new_tokens, bool)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(hostile, st.lists(hostile, max_size=3)))
def test_a_snapshots_scorers_are_names_or_a_snapshot_error(tmp_path, value):
    store = SnapshotStore(tmp_path / ".llmperf")
    data = snapshot_to_json(make_snapshot())
    data["calls"][0]["scorers"] = value
    _write(store.path_for(NODEID), data)
    try:
        snapshot = store.load(NODEID)
    except SnapshotError as error:
        assert "calls[0].scorers" in str(error)
        return
    assert snapshot is not None
    scorers = snapshot.calls[0].result.scorers
    assert all(isinstance(name, str) and name for name in scorers)


@given(value=hostile, at_most=st.integers(min_value=1, max_value=64))
def test_a_usage_count_is_a_sound_count_or_a_generation_error(value, at_most):
    try:
        count = _usage_count({"completion_tokens": value}, "completion_tokens", "URL", at_most)
    except GenerationError as error:
        assert "URL reported impossible token usage" in str(error)
        return
    assert count is None or (type(count) is int and 0 <= count <= at_most)


lines = st.lists(
    st.one_of(
        st.just('data: {"choices": [{"text": " a", "finish_reason": null}]}'),
        st.just('data: {"choices": [{"text": "", "finish_reason": "stop"}]}'),
        st.just("data: [DONE]"),
        st.just(": keep-alive"),
        st.text(max_size=20).map(lambda text: "data: " + text),
    ),
    max_size=6,
)


@given(lines=lines, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_a_stream_in_any_pieces_is_read_or_refused_clearly(lines, cuts):
    stream = "\n\n".join(lines)
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    pieces = [stream[a:b] for a, b in itertools.pairwise(bounds)]
    answer = StreamedAnswer(started=0.0)
    try:
        for line, now in timed_lines(pieces, deadline=10.0, clock=lambda: 1.0):
            answer.feed(line, now)
    except GenerationError as error:
        assert "the server" in str(error)
        return
    whole = StreamedAnswer(started=0.0)
    for line in stream.split("\n"):
        whole.feed(line, 1.0)
    assert answer.text == whole.text  # however the bytes were cut, the same answer


def test_a_stream_that_trickles_past_the_deadline_stops_there():
    clock = iter(range(100))
    pieces = ("d" for _ in range(100))  # one byte at a time, never a newline
    try:
        list(timed_lines(pieces, deadline=5, clock=lambda: next(clock)))
    except DeadlinePassed:
        assert next(clock) == 7  # stopped at the first piece past the deadline
    else:
        raise AssertionError("the deadline was not kept")
