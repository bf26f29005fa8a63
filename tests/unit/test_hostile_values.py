"""Hostile values from outside, generated: marker limits, options, snapshot contents,
server streams and usage blocks. Each gives a result whose every number is sound, or a
clear error; never a traceback, a hang, or a wrong measurement. Integers beyond float
range (10**400: `math.isfinite` raises OverflowError on them) and beyond what Python prints
(10**5000: `repr` raises) are among the values."""

from __future__ import annotations

import itertools
import json
import math
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmperf.backends.endpoint import _usage_count
from pytest_llmperf.backends.openai_stream import DeadlinePassed, StreamedAnswer, timed_lines
from pytest_llmperf.errors import BudgetError, ConfigError, GenerationError, SnapshotError
from pytest_llmperf.limits import LIMIT_SPECS, parse_limits
from pytest_llmperf.redaction import REDACTOR
from pytest_llmperf.settings.settings import OPTIONS, build_settings
from pytest_llmperf.snapshots.store import SnapshotStore, snapshot_to_json
from tests.unit.test_snapshot import NODEID, make_snapshot

beyond_float = st.one_of(
    st.sampled_from([10**400, -(10**400), 2**1024]),
    st.integers(min_value=2**1024, max_value=10**420),
    # too long for repr (over 4300 digits): built, so that hypothesis never prints one
    st.integers(min_value=4301, max_value=5000).map(lambda digits: 10**digits),
)
json_number = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    beyond_float,
)
# What a command line gives: text that reads as a number, up to thousands of digits.
number_text = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=1, max_value=5000).map(lambda digits: "9" * digits),
)
hostile = st.one_of(
    st.none(), st.booleans(), json_number, st.text(max_size=6), st.lists(json_number, max_size=3)
)
COLUMNS = ("latency_ms", "ttft_ms", "output_tokens", "hit_max_new_tokens", "peak_memory_mb")


MESSAGE_CHARS = 1000  # a clear error is short, whatever the value it names


def _write(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)  # written whole, as a hostile file may hold them
    try:
        path.write_text(json.dumps(data))  # Python's json writes Infinity and NaN, as files may
    finally:
        sys.set_int_max_str_digits(limit)


def _load_or_snapshot_error(store: SnapshotStore, data: object) -> object:
    """The snapshot read back, or None after a SnapshotError naming the file; nothing else."""
    _write(store.path_for(NODEID), data)
    try:
        return store.load(NODEID)
    except SnapshotError as error:
        assert str(store.path_for(NODEID)) in str(error)
        assert len(str(error)) < MESSAGE_CHARS + len(str(store.path_for(NODEID)))
        return None


@settings(max_examples=200)
@given(name=st.sampled_from(sorted(LIMIT_SPECS)), value=hostile)
def test_a_marker_limit_is_a_finite_number_or_a_budget_error(name, value):
    try:
        (limit,) = parse_limits((), {name: value})
    except BudgetError as error:
        assert name in str(error) and len(str(error)) < MESSAGE_CHARS
        return
    assert type(limit.value) is float and math.isfinite(limit.value)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    key=st.sampled_from([entry.key for entry in OPTIONS]),
    value=st.one_of(hostile, number_text),
    from_cli=st.booleans(),
)
def test_an_option_is_parsed_or_refused_with_a_config_error(tmp_path, key, value, from_cli):
    cli, table = ({key: value}, {}) if from_cli else ({}, {key: value})
    try:
        parsed = build_settings(cli, table, cwd=tmp_path, config_dir=tmp_path, rootdir=tmp_path)
    except ConfigError as error:
        assert len(str(error)) < MESSAGE_CHARS
        return
    finally:
        REDACTOR.clear()  # a bad key variable's value is registered as a secret
    for field in ("repeats", "warmup", "max_new_tokens", "seed", "max_pairs"):
        number = getattr(parsed, field)
        assert type(number) is int and abs(number) < 2**63
    for field in ("price_input_per_1m", "noise_floor", "max_seconds", "scorer_timeout_s"):
        assert math.isfinite(getattr(parsed, field))


@settings(max_examples=200, deadline=None)
@given(limits=st.dictionaries(st.sampled_from(sorted(LIMIT_SPECS)), hostile, min_size=1))
def test_a_default_budget_table_is_parsed_or_refused_with_a_config_error(tmp_path_factory, limits):
    where = tmp_path_factory.getbasetemp()
    try:
        build_settings({}, {"budget": limits}, cwd=where, config_dir=where, rootdir=where)
    except ConfigError as error:
        assert "[tool.llmperf.budget]" in str(error) and len(str(error)) < MESSAGE_CHARS


FIGURES = ("weights_mb", "kv_cache_bytes_per_token", "counted_flops", "counted_tokens")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(
        (*(f"figures.{name}" for name in FIGURES), "figures", "peak_memory_mb", "rendered_sha256")
    ),
    value=hostile,
)
def test_a_snapshots_figures_are_sound_numbers_or_a_snapshot_error(tmp_path, field, value):
    store = SnapshotStore(tmp_path / ".llmperf")
    data = snapshot_to_json(make_snapshot())
    call = data["calls"][0]
    call["figures"] = {
        "weights_mb": 1.5,
        "kv_cache_bytes_per_token": 96.0,
        "counted_flops": 1000,
        "counted_tokens": 10,
    }
    outer, _, inner = field.partition(".")
    if inner:
        call[outer][inner] = value
    else:
        call[outer] = value
    snapshot = _load_or_snapshot_error(store, data)
    if snapshot is None:
        return
    result = snapshot.calls[0].result
    for name in FIGURES:
        number = getattr(result.figures, name)
        assert number is None or (math.isfinite(number) and number >= 0)
    assert result.peak_memory_mb is None or math.isfinite(result.peak_memory_mb)
    assert result.rendered_sha256 is None or len(result.rendered_sha256) == 64


def test_an_integer_too_long_to_read_is_a_snapshot_error(tmp_path):
    store = SnapshotStore(tmp_path / ".llmperf")
    path = store.path_for(NODEID)
    text = json.dumps(snapshot_to_json(make_snapshot())).replace("512.5", "9" * 5000, 1)
    path.parent.mkdir(parents=True)
    path.write_text(text)
    try:
        store.load(NODEID)
    except SnapshotError as error:
        assert "is not valid JSON" in str(error) and len(str(error)) < MESSAGE_CHARS
    else:
        raise AssertionError("a 5000-digit integer was read")


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
        # an integer too long for json to read is refused before any field is looked at
        assert "calls[0].scorers" in str(error) or "integer string conversion" in str(error)
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
