"""Every output the plugin writes goes through the redaction layer, proved for the writers
as a whole rather than by one example:

- nothing in the package writes a file but `files.py`, which masks every text it writes;
- each writer (the terminal's summary and failure message, the warnings, JUnit properties,
  and every file of publish.finish: JSON, Markdown, the step summary, history, the plots
  page, pytest-benchmark's JSON) is fed a record with the key planted in every free-text
  field, settings and an environment holding it, and none of its output holds a fragment.
"""

from __future__ import annotations

import ast
import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pytest_llmperf
from pytest_llmperf.files import append, write_atomically
from pytest_llmperf.judge.reading import alerts
from pytest_llmperf.redaction import FRAGMENT, REDACTOR, add_secret
from pytest_llmperf.report import publish
from pytest_llmperf.report.junit import properties
from pytest_llmperf.report.terminal import failure_message, session_lines
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.unit.test_every_metric_renders import result

KEY = "sk-live-0123456789ABCDEFghijkl"
PACKAGE = Path(pytest_llmperf.__file__).parent

# The one module that writes files; and a write that is no output (a kernel counter reset).
FILE_WRITER = "files.py"
NOT_OUTPUTS = {("backends/memory.py", "write_text")}
WRITE_CALLS = {"write_text", "write_bytes", "dump", "write"}


def leaked(text: str) -> list[str]:
    """Fragments of the key in `text`, raw or base64-encoded (any alignment)."""
    forms = [KEY] + [
        base64.b64encode(b"\0" * shift + KEY.encode())[4:-4].decode() for shift in range(3)
    ]
    return sorted(
        {form[i : i + FRAGMENT + 4] for form in forms for i in range(len(form) - FRAGMENT - 3)}
        & {text[i : i + FRAGMENT + 4] for i in range(len(text))}
    )


@pytest.fixture(autouse=True)
def registered_key() -> Iterator[None]:
    REDACTOR.clear()
    add_secret(KEY)
    yield
    REDACTOR.clear()


def _file_writes(path: Path) -> Iterator[tuple[str, int]]:
    """Calls that write a file: x.write_text/write_bytes, json.dump, open(..., 'w'/'a')."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "attr", getattr(node.func, "id", ""))
        if name in {"write_text", "write_bytes"} or (
            name == "dump" and getattr(node.func.value, "id", "") == "json"
        ):
            yield name, node.lineno
        if name in {"open", "fdopen"}:
            modes = [a.value for a in node.args[1:] + [k.value for k in node.keywords]]
            if any(isinstance(m, ast.Constant) and set(str(m.value)) & set("wax") for m in modes):
                yield name, node.lineno


def test_only_files_py_writes_files() -> None:
    writers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative == FILE_WRITER:
            continue
        writers += [
            f"{relative}:{line} {name}"
            for name, line in _file_writes(path)
            if (relative, name) not in NOT_OUTPUTS
        ]
    assert writers == [], "write files through pytest_llmperf.files (it masks secrets)"


def test_files_py_masks_every_text_it_writes(tmp_path: Path) -> None:
    write_atomically(tmp_path / "a.txt", f"key={KEY}")
    append(tmp_path / "b.md", f"key {KEY}")
    for name in ("a.txt", "b.md"):
        assert leaked((tmp_path / name).read_text()) == []


# Fields whose values are names from a catalogue (a limit, a metric, an outcome): a key
# cannot be planted there without the record being refused, which is checked elsewhere.
CATALOGUE_FIELDS = {"mode", "limit", "metric", "kind", "unit", "outcome", "sampling", "source"}


def planted(value: Any, field: str = "") -> Any:
    """`value` with the key added to every free-text string in it."""
    if isinstance(value, dict):
        return {key: planted(item, key) for key, item in value.items()}
    if isinstance(value, list):
        return [planted(item, field) for item in value]
    if isinstance(value, str) and field not in CATALOGUE_FIELDS:
        return f"{value} {KEY}"
    return value


def raw_record() -> dict[str, Any]:
    """A judged, failed record with every metric, not masked (as a worker might send it)."""
    from pytest_llmperf.judge.records import JudgedTest, record_from
    from pytest_llmperf.judge.verdicts import Comparison, judge
    from pytest_llmperf.limits import parse_limits

    comparison = Comparison(result(1.5), result(1.0), baseline_source="synthetic")
    limits = parse_limits((), {"tokens_ratio": 1.0, "latency_ms": 1.0, "memory_ratio": 1.0})
    judged = JudgedTest(
        nodeid=f"t.py::test_all[{KEY}]",
        verdicts=judge(limits, comparison),
        baseline_source=f"snapshot at ./{KEY}/x.json",
        candidate_name="cand",
        candidate=comparison.candidate,
        baseline=comparison.baseline,
    )
    record = planted(record_from(judged))
    assert KEY in str(record) and record["failed"]
    return record


def settings_holding_the_key(tmp_path: Path) -> Settings:
    """Every output asked for, the models' paths holding the key (a checkpoint directory
    named after it, as the hostile case had)."""
    out = tmp_path / "out"
    return Settings(
        baseline=ModelSpec(f"./{KEY}/base", tmp_path, role="baseline"),
        candidate=ModelSpec(f"./{KEY}/ckpt", tmp_path),
        lineup=(ModelSpec(f"./{KEY}/ckpt", tmp_path, candidate_name="ckpt"),),
        report=out / "report.json",
        markdown=out / "report.md",
        history=out / "history",
        plots=out / "plots",
        benchmark_json=out / "benchmark.json",
        snapshot_dir=tmp_path / KEY,
        rootdir=tmp_path,
    )


def _terminal(record: dict[str, Any], settings: Settings) -> str:
    more = [f"snapshot written to {settings.snapshot_dir}/t.json"]
    return "\n".join(session_lines([record], settings.snapshot_dir, settings.rank_by, more))


def _warnings(record: dict[str, Any], settings: Settings) -> str:
    inconclusive = {**record["verdicts"][0], "outcome": "inconclusive", "note": f"n {KEY}"}
    return "\n".join(a.text for a in alerts({**record, "verdicts": [inconclusive]}))


def _junit(record: dict[str, Any], settings: Settings) -> str:
    return "\n".join(f"{name}={value}" for name, value in properties(record))


# What the wiring prints or hands pytest: each the function plugin.py calls.
PRINTED: dict[str, Callable[[dict[str, Any], Settings], str]] = {
    "terminal summary": _terminal,
    "failure message": lambda record, settings: failure_message(record),
    "warnings": _warnings,
    "JUnit properties": _junit,
}


@pytest.mark.parametrize("writer", PRINTED)
def test_every_printed_output_is_masked(writer: str, tmp_path: Path) -> None:
    record = raw_record()
    text = PRINTED[writer](record, settings_holding_the_key(tmp_path))
    assert text.strip()
    assert leaked(text) == []


def test_every_file_written_at_the_end_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    step_summary = tmp_path / "out" / "step_summary.md"
    step_summary.parent.mkdir()
    monkeypatch.setenv(publish.STEP_SUMMARY, str(step_summary))
    settings = settings_holding_the_key(tmp_path)
    environment = planted({"device": "cpu", "cpu": "x86", "torch": "2", "gpu": "none"})

    def provenance() -> tuple[dict[str, Any], dict[str, Any]]:
        return planted({"node": "host"}), planted({"id": "abc", "branch": "main"})

    published = publish.finish(settings, [raw_record()], environment, provenance)
    assert not published.failed, published.lines
    written = {
        path.relative_to(tmp_path / "out").as_posix(): path.read_text(errors="replace")
        for path in (tmp_path / "out").rglob("*")
        if path.is_file() and path.suffix != ".png"
    }
    # JSON, Markdown, step summary, history, plots page, pytest-benchmark JSON
    assert {"report.json", "report.md", "step_summary.md", "plots/index.html"} <= set(written)
    assert any(name.startswith("history/") for name in written)
    assert any(name.endswith(".json") and "benchmark" in name for name in written)
    assert {name: leaked(text) for name, text in written.items() if leaked(text)} == {}
    assert leaked("\n".join(published.lines)) == []
