"""Several candidates: names, globs in step order, test ids, one candidate loaded at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.session import pool as pool_module
from pytest_llmperf.session.pool import CANDIDATE, ModelPool
from pytest_llmperf.settings.lineup import expand, id_without_candidate, split_name
from pytest_llmperf.settings.settings import build_settings


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("short=./runs/a", ("short", "./runs/a")),
        ("./runs/long/", ("long", "./runs/long/")),
        ("org/model", ("model", "org/model")),
        ("tiny@http://host:8000/v1", ("tiny", "tiny@http://host:8000/v1")),
        ("x=tiny@http://host:8000/v1?a=b", ("x", "tiny@http://host:8000/v1?a=b")),
    ],
)
def test_a_candidate_is_named_by_name_or_directory(entry, expected):
    assert split_name(entry) == expected


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("./runs/lr=3e-4/ckpt", ("ckpt", "./runs/lr=3e-4/ckpt")),  # '=' inside a path
        ("sft.v2_final-1=./c", ("sft.v2_final-1", "./c")),
        ("a=./runs/b=c", ("a", "./runs/b=c")),
    ],
)
def test_a_path_holding_an_equals_sign_is_not_taken_for_a_name(entry, expected):
    assert split_name(entry) == expected


@pytest.mark.parametrize(
    ("entry", "shown"),
    [
        ("my model=./runs/a", '"my model"'),  # a space: a name, not a path
        ("caf\u00e9=./runs/a", '"caf\u00e9"'),
        ("x<b>=./runs/a", '"x<b>"'),
        ("a" * 10_000 + "=./runs/a", '"' + "a" * 39 + "\u2026" + '"'),
        ("=./runs/a", '""'),
    ],
)
def test_a_name_outside_the_safe_set_is_refused_naming_it_and_the_fix(tmp_path, entry, shown):
    with pytest.raises(ConfigError) as error:
        expand(entry, tmp_path, "--llm-candidate")
    message = str(error.value)
    assert f"candidate name {shown}" in message
    assert "1 to 64 characters of A-Z, a-z, 0-9" in message
    assert "NAME=MODEL" in message
    assert len(message) < 600


@pytest.mark.parametrize("folder", ["my ckpt", "x" * 100])
def test_a_directory_whose_name_is_not_safe_must_be_named(tmp_path, folder):
    (tmp_path / folder).mkdir()
    for entry in (f"./{folder}", "./*"):
        with pytest.raises(ConfigError, match=r"is named by its directory.*NAME=MODEL"):
            expand(entry, tmp_path, "--llm-candidate")
    assert expand(f"ok=./{folder}", tmp_path, "--llm-candidate") == [("ok", f"./{folder}")]


def test_a_glob_is_in_step_order_not_letter_order(tmp_path: Path):
    for name in ("checkpoint-1000", "checkpoint-500", "checkpoint-20", "checkpoint-final"):
        (tmp_path / name).mkdir()
    (tmp_path / "checkpoint-7.txt").write_text("not a directory")
    names = [name for name, _ in expand("checkpoint-*", tmp_path, "--llm-candidates")]
    assert names == ["checkpoint-20", "checkpoint-500", "checkpoint-1000", "checkpoint-final"]
    with pytest.raises(ConfigError, match="matched no directory"):
        expand("nothing-*", tmp_path, "--llm-candidates")


@pytest.mark.parametrize(
    ("nodeid", "params_id", "name", "expected"),
    [
        ("t.py::test_a[short]", "short", "short", "t.py::test_a"),
        ("t.py::test_a[1-short]", "1-short", "short", "t.py::test_a[1]"),
        ("t.py::K::test_b[x-y-c-1]", "x-y-c-1", "c-1", "t.py::K::test_b[x-y]"),
    ],
)
def test_a_tests_snapshot_name_leaves_out_its_candidate(nodeid, params_id, name, expected):
    assert id_without_candidate(nodeid, params_id, name) == expected


class Loaded:
    def __init__(self, name: str) -> None:
        self.name, self.closed = name, False

    def close(self) -> None:
        self.closed = True


def test_only_the_running_candidate_stays_loaded(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(pool_module, "Backend", Loaded)
    monkeypatch.setattr(pool_module, "load_backend", lambda spec, settings: Loaded(spec.name))
    settings = build_settings(
        {"candidate": ["a=m/a", "b=m/b"]}, {}, cwd=tmp_path, config_dir=tmp_path, rootdir=tmp_path
    )
    pool = ModelPool(settings)
    pool.use_candidate("a")
    first = pool.get(CANDIDATE)
    pool.use_candidate("b")
    pool.release_candidates_but("b")
    second = pool.get(CANDIDATE)
    assert (first.name, second.name) == ("m/a", "m/b")
    assert first.closed and not second.closed
    held = [model for model in pool._loaded.values() if isinstance(model, Loaded)]
    assert held == [second]


def test_an_endpoint_url_with_a_query_is_one_model_not_a_glob(tmp_path: Path) -> None:
    entry = "m@http://127.0.0.1:9/v1?x=[1]"
    assert expand(entry, tmp_path, "--llm-candidate") == [("m", entry)]


def test_a_glob_matching_the_baseline_names_it_among_the_candidates(tmp_path: Path):
    for name in ("checkpoint-100", "checkpoint-200", "base"):
        (tmp_path / "runs" / name).mkdir(parents=True)
    settings = build_settings(
        {"baseline": "./runs/base", "candidates": ["runs/*"]},
        {},
        cwd=tmp_path,
        config_dir=tmp_path,
        rootdir=tmp_path,
    )
    assert [spec.candidate_name for spec in settings.lineup][-1] == "base"
    assert settings.baseline_candidates == frozenset({"base"})
    hub = build_settings(
        {"baseline": "gpt2", "candidate": ["a=gpt2", "b=distilgpt2"]},
        {},
        cwd=tmp_path,
        config_dir=tmp_path,
        rootdir=tmp_path,
    )
    assert hub.baseline_candidates == frozenset({"a"})
