"""The .llmperf store: round trip, file layout, stable text, bad files, atomic writes."""

from __future__ import annotations

import errno
import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_llmperf.errors import SnapshotError
from pytest_llmperf.prompts import text_digest
from pytest_llmperf.results import GenerationResult, Pricing, PromptSample, Run, TokenCount
from pytest_llmperf.snapshots.store import (
    SCHEMA_VERSION,
    Snapshot,
    SnapshotCall,
    SnapshotStore,
    dumps,
    prompts_digest,
)

NODEID = "tests/test_model.py::TestLatency::test_short[gpt2-16]"


def make_snapshot(test: str = NODEID, latency: float = 100.5) -> Snapshot:
    """Numbers with at most three decimals: the store rounds to three."""
    prompts = ["Q: 2+2? A:", "Q: capital of France? A:"]
    result = GenerationResult(
        samples=(
            PromptSample(
                0,
                7,
                " 4",
                (Run(latency, 10.25, 2, False), Run(101.25, 11.0, 2, False)),
                True,
                score=1.0,
                question_id="0",
            ),
            PromptSample(
                1,
                9,
                " Paris, then more text",
                (Run(250.125, None, 16, True), Run(249.0, None, 16, True)),
                None,
                question_id="1",
            ),
        ),
        peak_memory_mb=512.5,
    )
    call = SnapshotCall(
        prompts_sha256=prompts_digest(prompts),
        prompt_count=len(prompts),
        generation={"max_new_tokens": 16, "do_sample": False},
        result=result,
    )
    return Snapshot(
        test=test,
        model={"name": "gpt2", "parameters": 124_000_000, "dtype": "float32"},
        measured_with={"repeats": 2, "warmup": 1, "seed": 0},
        environment={"device": "cpu", "cpu": "Test CPU", "torch": "2.5.0"},
        calls=(call,),
    )


@pytest.fixture
def store(tmp_path: Path) -> SnapshotStore:
    return SnapshotStore(tmp_path / ".llmperf")


# --- round trip and layout -------------------------------------------------------------------


def test_round_trip(store: SnapshotStore) -> None:
    snapshot = make_snapshot()
    path = store.save(snapshot)
    assert path == store.path_for(NODEID)
    assert path.is_file()
    assert store.load(NODEID) == snapshot


def test_round_trip_of_several_calls(store: SnapshotStore) -> None:
    first = make_snapshot()
    second = make_snapshot(latency=300.0).calls[0]
    snapshot = Snapshot(
        first.test, first.model, first.measured_with, first.environment, (*first.calls, second)
    )
    store.save(snapshot)
    loaded = store.load(NODEID)
    assert loaded == snapshot
    assert len(loaded.calls) == 2


def test_loaded_result_is_priced_with_todays_settings(store: SnapshotStore) -> None:
    store.save(make_snapshot())
    loaded = store.load(NODEID)
    assert loaded is not None
    result = loaded.result(Pricing(1.0, 2.0), 50.0)
    assert result.latency_percentile == 50.0
    assert result.pricing == Pricing(1.0, 2.0)
    assert result.cost_usd > 0
    assert len(result.samples) == 2


def test_load_of_a_missing_snapshot_is_none(store: SnapshotStore) -> None:
    assert store.load("tests/test_x.py::test_never_recorded") is None


def test_values_are_rounded_to_three_decimals(store: SnapshotStore) -> None:
    store.save(make_snapshot(latency=100.123456))
    loaded = store.load(NODEID)
    assert loaded is not None
    assert loaded.calls[0].result.samples[0].runs[0].latency_ms == 100.123


def test_path_for_a_test_in_a_class_with_parameters(store: SnapshotStore) -> None:
    assert store.path_for(NODEID) == (
        store.root / "tests" / "test_model" / "TestLatency.test_short[gpt2-16].json"
    )


def test_path_for_a_plain_function(store: SnapshotStore) -> None:
    assert store.path_for("test_top.py::test_a") == store.root / "test_top" / "test_a.json"


def test_path_for_replaces_unsafe_characters(store: SnapshotStore) -> None:
    path = store.path_for("tests/test_x.py::test_a[org/model name:v1]")
    assert path.parent == store.root / "tests" / "test_x"
    # A sanitised name carries a hash of the raw id, so ids that sanitise alike differ.
    assert path.name.startswith("test_a[org_model_name_v1]-") and path.suffix == ".json"
    assert path != store.path_for("tests/test_x.py::test_a[org_model_name:v1]")
    assert path.parent == store.root / "tests" / "test_x"


def test_path_for_a_nodeid_without_a_test_name(store: SnapshotStore) -> None:
    assert store.path_for("tests/test_x.py") == store.root / "tests" / "test_x" / "module.json"


def test_different_tests_get_different_files(store: SnapshotStore) -> None:
    nodeids = [
        "tests/test_x.py::test_a",
        "tests/test_x.py::test_a[1]",
        "tests/test_x.py::TestA::test_a",
        "tests/test_y.py::test_a",
        "tests/sub/test_x.py::test_a",
    ]
    assert len({store.path_for(nodeid) for nodeid in nodeids}) == len(nodeids)


def test_path_for_stays_inside_the_root(store: SnapshotStore) -> None:
    path = store.path_for("../other/test_x.py::test_a")
    assert store.root.resolve() in path.resolve().parents


# --- stable text -----------------------------------------------------------------------------


def test_saving_twice_gives_byte_identical_files(store: SnapshotStore) -> None:
    path = store.save(make_snapshot())
    first = path.read_bytes()
    store.save(make_snapshot())
    assert path.read_bytes() == first


def test_saving_what_was_loaded_gives_byte_identical_files(store: SnapshotStore) -> None:
    path = store.save(make_snapshot())
    first = path.read_bytes()
    loaded = store.load(NODEID)
    assert loaded is not None
    store.save(loaded)
    assert path.read_bytes() == first


def test_file_is_readable_json_with_lists_of_numbers_on_one_line(store: SnapshotStore) -> None:
    path = store.save(make_snapshot())
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["test"] == NODEID
    assert data["summary"]["peak_memory_mb"] == 512.5
    lines = text.splitlines()
    stripped = {line.strip().rstrip(",") for line in lines}
    assert '"latency_ms": [100.5, 101.25]' in stripped
    assert '"ttft_ms": [null, null]' in stripped
    assert '"hit_max_new_tokens": [true, true]' in stripped
    assert '"output_tokens": [16, 16]' in stripped
    # one key per line: no line holds two keys
    assert all(line.count('": ') <= 1 for line in lines)


def test_dumps_layout() -> None:
    value = {"a": [1, 2.5, None], "b": {"c": "x"}, "d": [{"e": 1}], "f": {}, "g": []}
    text = dumps(value)
    assert json.loads(text) == value
    assert text == (
        "{\n"
        '  "a": [1, 2.5, null],\n'
        '  "b": {\n'
        '    "c": "x"\n'
        "  },\n"
        '  "d": [\n'
        "    {\n"
        '      "e": 1\n'
        "    }\n"
        "  ],\n"
        '  "f": {},\n'
        '  "g": []\n'
        "}"
    )


def test_dumps_keeps_non_ascii_text_readable() -> None:
    assert dumps({"text": "café"}) == '{\n  "text": "café"\n}'


def test_prompts_digest() -> None:
    assert prompts_digest(["a", "b"]) == prompts_digest(["a", "b"])
    assert prompts_digest(["a", "b"]) != prompts_digest(["b", "a"])
    assert prompts_digest(["ab"]) != prompts_digest(["a", "b"])
    assert len(prompts_digest([])) == 64


def test_same_workload() -> None:
    call = make_snapshot().calls[0]
    other = SnapshotCall(call.prompts_sha256, 2, dict(call.generation), call.result)
    assert call.same_workload(other)
    changed = SnapshotCall(call.prompts_sha256, 2, {"max_new_tokens": 8}, call.result)
    assert not call.same_workload(changed)
    different_prompts = SnapshotCall(prompts_digest(["x"]), 1, call.generation, call.result)
    assert not call.same_workload(different_prompts)


# --- bad files -------------------------------------------------------------------------------


def _write(store: SnapshotStore, text: str) -> Path:
    path = store.path_for(NODEID)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def _valid_document() -> dict[str, Any]:
    from pytest_llmperf.snapshots.store import snapshot_to_json

    return snapshot_to_json(make_snapshot())


def _without(key: str) -> str:
    document = _valid_document()
    del document[key]
    return json.dumps(document)


def _without_sample_key(key: str) -> str:
    document = _valid_document()
    del document["calls"][0]["samples"][0][key]
    return json.dumps(document)


def _with(**changes: Any) -> str:
    document = _valid_document()
    document.update(changes)
    return json.dumps(document)


def _with_sample(**changes: Any) -> str:
    document = _valid_document()
    document["calls"][0]["samples"][0].update(changes)
    return json.dumps(document)


def _with_short_column() -> str:
    document = _valid_document()
    document["calls"][0]["samples"][0]["latency_ms"] = [1.0]
    return json.dumps(document)


BAD_FILES = {
    "truncated": json.dumps(_valid_document())[:200],
    "not json": "<<<<<<< HEAD\n{}\n=======\n",
    "not an object": "[1, 2, 3]",
    "no schema_version": _without("schema_version"),
    "old schema_version": _with(schema_version=0),
    "newer schema_version": _with(schema_version=SCHEMA_VERSION + 1),
    "string schema_version": _with(schema_version="1"),
    "no calls key": _without("calls"),
    "no model key": _without("model"),
    "no environment key": _without("environment"),
    "empty calls": _with(calls=[]),
    "calls not a list": _with(calls=5),
    "sample without latency_ms": _without_sample_key("latency_ms"),
    "sample without prompt": _without_sample_key("prompt"),
    "columns of different lengths": _with_short_column(),
    "score above 1": _with_sample(score=1.5),
    "score NaN": _with_sample(score=float("nan")),
    "score a string": _with_sample(score="1"),
    "question_id a number": _with_sample(question_id=3),
    "question_id empty": _with_sample(question_id=" "),
}


@pytest.mark.parametrize("text", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_bad_file_raises_snapshot_error_and_is_left_untouched(
    store: SnapshotStore, text: str
) -> None:
    path = _write(store, text)
    before = path.read_bytes()
    with pytest.raises(SnapshotError) as excinfo:
        store.load(NODEID)
    message = str(excinfo.value)
    assert str(path) in message
    assert "--llm-baseline=MODEL --llm-update" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_a_snapshot_from_before_question_ids_numbers_them_by_position(
    store: SnapshotStore,
) -> None:
    document = _valid_document()
    for sample in document["calls"][0]["samples"]:
        del sample["question_id"], sample["score"]
    _write(store, json.dumps(document))
    loaded = store.load(NODEID)
    assert loaded is not None
    samples = loaded.calls[0].result.samples
    assert [s.question_id for s in samples] == ["0", "1"]
    assert [s.score for s in samples] == [None, None] and samples[0].scored == 1.0


def test_wrong_schema_version_message_names_both_versions(store: SnapshotStore) -> None:
    _write(store, _with(schema_version=7))
    with pytest.raises(SnapshotError) as excinfo:
        store.load(NODEID)
    assert "schema_version 7" in str(excinfo.value)
    assert f"reads {SCHEMA_VERSION}" in str(excinfo.value)


def test_undecodable_bytes_raise_snapshot_error(store: SnapshotStore) -> None:
    path = store.path_for(NODEID)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe{not utf-8")
    with pytest.raises(SnapshotError, match="not valid JSON"):
        store.load(NODEID)
    assert path.read_bytes() == b"\xff\xfe{not utf-8"


def test_newer_schema(store: SnapshotStore) -> None:
    assert store.newer_schema(NODEID) is None  # no file
    _write(store, _with(schema_version=SCHEMA_VERSION + 1))
    assert store.newer_schema(NODEID) == SCHEMA_VERSION + 1
    _write(store, _with(schema_version=SCHEMA_VERSION))
    assert store.newer_schema(NODEID) is None
    _write(store, _with(schema_version=0))
    assert store.newer_schema(NODEID) is None
    _write(store, _with(schema_version="9"))
    assert store.newer_schema(NODEID) is None
    _write(store, "{broken")
    assert store.newer_schema(NODEID) is None
    _write(store, "[9]")
    assert store.newer_schema(NODEID) is None


# --- atomic write ----------------------------------------------------------------------------


def _files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def test_failed_replace_keeps_the_old_file_and_leaves_no_temp_file(
    store: SnapshotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.save(make_snapshot(latency=100.5))
    old = path.read_bytes()

    def fail(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(SnapshotError, match="disk full"):
        store.save(make_snapshot(latency=999.0))
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert _files_in(path.parent) == [path.name]
    loaded = store.load(NODEID)
    assert loaded is not None
    assert loaded.calls[0].result.samples[0].runs[0].latency_ms == 100.5


def test_interrupted_write_keeps_the_old_file_and_leaves_no_temp_file(
    store: SnapshotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.save(make_snapshot(latency=100.5))
    old = path.read_bytes()

    def interrupt(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        store.save(make_snapshot(latency=999.0))
    monkeypatch.undo()
    assert path.read_bytes() == old
    assert _files_in(path.parent) == [path.name]


def test_failed_first_write_leaves_nothing(
    store: SnapshotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(SnapshotError):
        store.save(make_snapshot())
    monkeypatch.undo()
    folder = store.path_for(NODEID).parent
    assert _files_in(folder) == []
    assert store.load(NODEID) is None


def test_a_full_disk_is_an_error_naming_the_file_and_the_cause(
    store: SnapshotStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = store.save(make_snapshot(latency=100.5))
    old = path.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SnapshotError) as raised:
        store.save(make_snapshot(latency=999.0))
    monkeypatch.undo()
    message = str(raised.value)
    assert f"could not write the snapshot {path}" in message
    assert "No space left on device" in message
    assert "left as it was" in message and "--llm-update" in message
    assert path.read_bytes() == old
    assert _files_in(path.parent) == [path.name]


def test_save_replaces_an_existing_snapshot(store: SnapshotStore) -> None:
    store.save(make_snapshot(latency=100.5))
    store.save(make_snapshot(latency=200.5))
    loaded = store.load(NODEID)
    assert loaded is not None
    assert loaded.calls[0].result.samples[0].runs[0].latency_ms == 200.5
    assert _files_in(store.path_for(NODEID).parent) == [store.path_for(NODEID).name]


def test_a_served_models_token_source_survives_the_round_trip(store: SnapshotStore) -> None:
    local = make_snapshot()
    store.save(local)
    assert "token_count" not in store.path_for(NODEID).read_text()
    loaded = store.load(NODEID)
    assert loaded is not None
    assert loaded.result(Pricing(), 95.0).token_count == TokenCount()

    counted = TokenCount("server usage", checked=4, mismatched=1, largest_difference=2)
    call = replace(local.calls[0], result=replace(local.calls[0].result, token_count=counted))
    store.save(replace(local, calls=(call,)))
    loaded = store.load(NODEID)
    assert loaded is not None
    assert loaded.result(Pricing(), 95.0).token_count == counted


@given(st.text(max_size=60))
def test_every_nodeid_has_a_path_inside_the_store(nodeid: str) -> None:
    root = Path("/store")
    path = SnapshotStore(root).path_for(nodeid)
    assert path.is_relative_to(root)
    assert ".." not in path.relative_to(root).parts


@pytest.mark.parametrize(
    "nodeid", [".::t", "..::t", "../outside/test_a.py::t", "/abs/test_a.py::t"]
)
def test_a_test_file_outside_the_rootdir_has_a_snapshot_path(nodeid: str) -> None:
    path = SnapshotStore(Path("/store")).path_for(nodeid)
    assert path.name == "t.json"


class _Baseline:
    """The snapshot's baseline model as loaded today: its identity, and each conversation
    rendered with a prefix standing for its chat template."""

    def __init__(self, identity: dict[str, Any], template: str = "") -> None:
        self.identity = identity
        self.template = template

    def rendered(self, prompt: Any) -> str:
        return prompt if isinstance(prompt, str) else self.template + repr(prompt)


def _stale_check(model: dict[str, Any], today: _Baseline, conversations: bool = False) -> None:
    from pytest_llmperf.measure.workload import Workload
    from pytest_llmperf.prompts import Conversation
    from pytest_llmperf.session.snapshot_baseline import check_fresh

    prompt: Any = "Q: 2+2? A:"
    if conversations:
        prompt = Conversation(messages=(("user", "2+2?"),))
    workload = Workload((prompt,), {"max_new_tokens": 16})
    snapshot = make_snapshot()
    call = snapshot.calls[0]
    if conversations:
        recorded = _Baseline({}).rendered(prompt)
        result = replace(call.result, rendered_sha256=text_digest([recorded]))
        snapshot = replace(snapshot, calls=(replace(call, result=result),))
    snapshot = replace(snapshot, model=model)
    check_fresh(snapshot, Path(".llmperf/t.json"), [workload], today)  # type: ignore[arg-type]


def test_a_baseline_with_another_tokenizer_is_a_stale_snapshot() -> None:
    from pytest_llmperf.session.snapshot_baseline import StaleSnapshotError

    model = {"name": "gpt2", "tokenizer_sha256": "a" * 16, "generation_config_sha256": "c" * 16}
    with pytest.raises(StaleSnapshotError) as raised:
        _stale_check(model, _Baseline({**model, "tokenizer_sha256": "b" * 16}))
    message = str(raised.value)
    assert "the snapshot .llmperf/t.json is stale: its baseline model gpt2 changed" in message
    assert f"its tokenizer changed (tokenizer_sha256 {'a' * 16} -> {'b' * 16})" in message
    assert "generation config" not in message
    assert "`pytest --llm-baseline=gpt2 --llm-update`" in message


def test_a_baseline_rendering_conversations_otherwise_is_a_stale_snapshot() -> None:
    from pytest_llmperf.session.snapshot_baseline import StaleSnapshotError

    _stale_check({"name": "gpt2"}, _Baseline({}), conversations=True)  # as recorded: fresh
    with pytest.raises(StaleSnapshotError, match="chat template renders the conversations"):
        _stale_check({"name": "gpt2"}, _Baseline({}, template="<new>"), conversations=True)


def test_fingerprints_a_snapshot_did_not_record_are_not_compared() -> None:
    """Snapshots recorded before the fingerprints were kept stay usable."""
    _stale_check({"name": "gpt2"}, _Baseline({"tokenizer_sha256": "b" * 16}))
