"""The Markdown report: a heading with the overall verdict, failures first, readable raw."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from pytest_llmperf.report import json_report, markdown
from pytest_llmperf.settings.settings import ModelSpec, Settings
from tests.unit.test_report_records import sample_records

HEADER = "| test | limit (metric) | baseline | candidate | change | budget | verdict |"


@pytest.fixture
def records() -> list[dict[str, Any]]:
    return sample_records()


def build(records: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    settings = Settings(candidate=ModelSpec("./ckpt", Path(".")), **settings)
    environment = {"hardware": {"device_type": "cpu", "device_name": "Some CPU"}}
    return json_report.build_report(records, settings, environment)


def table_rows(text: str, header: str = HEADER) -> list[list[str]]:
    lines = text.splitlines()
    start = lines.index(header) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_heading_counts_failures_and_tests(records) -> None:
    text = markdown.render(build(records))
    assert text.splitlines()[0] == "## ❌ pytest-llmperf: 1 of 2 tests over budget"
    passing = [record for record in records if not record["failed"]]
    assert markdown.render(build(passing)).startswith("## ✅ pytest-llmperf: 1 test within budget")
    assert markdown.render(build(passing * 3)).startswith("## ✅ pytest-llmperf: all 3 tests")
    assert markdown.render(build([])).startswith("## pytest-llmperf: no tests judged")


def test_one_row_per_test_and_limit_failures_first(records) -> None:
    rows = table_rows(markdown.render(build(records)))
    assert [(row[0], row[1]) for row in rows] == [
        ("`test_a.py::test_slow`", "latency_ratio (latency)"),
        ("`test_a.py::test_slow`", "tokens_ratio (output_tokens)"),
        ("`test_a.py::test_same`", "tokens_ratio (output_tokens)"),
        ("`test_a.py::test_same`", "output_tokens (output_tokens)"),
    ]
    assert all(len(row) == 7 for row in rows)
    latency = rows[0]
    assert latency[2].endswith(" ms") and latency[3].endswith(" ms")
    assert latency[4].startswith("+") and latency[4].endswith("%")  # change, 4x slower
    assert latency[5] == "<= 1.2x"
    assert latency[6].startswith("❌ **FAIL** ") and "x [" in latency[6]
    assert rows[1][6] == "✅ pass 1.00x"
    assert rows[3][2:6] == ["-", "5.00 tok", "", "<= 10 tok"]  # absolute: no baseline


def test_figures_are_side_by_side_in_a_collapsed_section(records) -> None:
    text = markdown.render(build(records))
    assert "<details><summary>Figures side by side</summary>" in text
    header = "| test | figure | baseline | candidate | change |"
    figures = table_rows(text, header)
    assert ["`test_a.py::test_slow`", "output tokens", "5.00 tok", "5.00 tok", "+0%"] in figures
    assert {row[1] for row in figures} >= {"latency p50", "latency p95", "peak memory"}
    assert text.index("</details>") > text.index(header)


def test_failing_limits_get_their_remedy(records) -> None:
    text = markdown.render(build(records))
    (remedy,) = [line for line in text.splitlines() if "**latency_ratio**" in line]
    assert remedy.startswith("- `test_a.py::test_slow` **latency_ratio**: ")
    assert "quantize" in remedy
    assert text.index("### What to do") > text.index(HEADER)


def test_pipes_in_cells_are_escaped(records) -> None:
    tricky = copy.deepcopy(records)
    tricky[1]["test"] = "test_a.py::test_slow[a|b]"
    text = markdown.render(build(tricky))
    line = next(line for line in text.splitlines() if "latency_ratio (latency)" in line)
    assert "`test_a.py::test_slow[a\\|b]`" in line
    assert line.count(" | ") == 6  # the escaped pipe does not split the row


@pytest.mark.parametrize(
    ("text", "expected"),
    [("plain", "`plain`"), ("a`b", "`` a`b ``"), ("x``y", "``` x``y ```")],
)
def test_code_spans_survive_backticks(text: str, expected: str) -> None:
    assert markdown.code(text) == expected


def test_cells_stay_on_one_line() -> None:
    assert markdown.cell("two\nlines | and a pipe") == "two lines \\| and a pipe"


def test_the_footer_says_where_and_how_it_was_measured(records) -> None:
    text = markdown.render(build(records, repeats=3, latency_statistic="p90"))
    footer = text.strip().splitlines()[-1]
    assert footer.startswith("<sub>pytest-llmperf ")
    assert "cpu (Some CPU)" in footer and "3 repeats" in footer and "p90 latency" in footer


def test_the_baseline_line_names_the_snapshot_directory_once_relative_to_the_repo(
    records, tmp_path: Path
) -> None:
    snapshot_dir = tmp_path / ".llmperf"
    for index, record in enumerate(records):
        path = snapshot_dir / "tests" / f"test_{index}[a (b)].json"
        record["baseline"]["source"] = f"snapshot {path} (./base)"
    records[1]["snapshot_written"] = str(snapshot_dir / "tests" / "test_1.json")
    text = markdown.render(build(records, snapshot_dir=snapshot_dir, rootdir=tmp_path))
    (line,) = [line for line in text.splitlines() if line.startswith("**Baseline:**")]
    assert line == "**Baseline:** snapshots in `.llmperf/` (./base)"
    assert str(tmp_path) not in text
    assert "1 snapshot written under `.llmperf`" in text


def test_the_baseline_line_says_each_source_and_each_live_settling_once(
    records, tmp_path: Path
) -> None:
    """Several tests (or candidates) settled different limits live: one line, no repeats."""
    snapshot_dir = tmp_path / ".llmperf"
    live = "settled against ./base run here in alternating pairs"
    settled = ("latency_ratio", "latency_ratio, memory_ratio", None)
    for index, (record, limits) in enumerate(zip(records, settled, strict=False)):
        source = f"snapshot {snapshot_dir / 't' / f'test_{index}.json'} (./base)"
        record["baseline"]["source"] = source + (f"; {limits} {live}" if limits else "")
    text = markdown.render(build(records, snapshot_dir=snapshot_dir, rootdir=tmp_path))
    (line,) = [line for line in text.splitlines() if line.startswith("**Baseline:**")]
    assert line == (
        f"**Baseline:** snapshots in `.llmperf/` (./base); latency_ratio, memory_ratio {live}"
    )


def test_a_snapshot_directory_outside_the_repository_keeps_its_path(records, tmp_path) -> None:
    outside = tmp_path / "elsewhere"
    records[0]["baseline"]["source"] = f"snapshot {outside / 't' / 'test_x.json'} (./base)"
    text = markdown.render(build(records, snapshot_dir=outside, rootdir=tmp_path / "repo"))
    assert f"snapshots in `{outside}/` (./base)" in text


def test_a_run_of_many_tests_fits_one_comment(records) -> None:
    """GitHub refuses a comment over 65,536 characters: the example's five candidates
    wrote 66,804 bytes, most of them figures side by side."""
    many = []
    for number in range(150):
        for record in records:
            many.append({**copy.deepcopy(record), "test": f"{record['test']}[{number}]"})
    text = markdown.render(build(many))
    assert len(text.encode()) <= markdown.COMMENT_CHARACTERS
    assert text.rstrip().endswith("</sub>")
    assert text.count("<details>") == text.count("</details>")
    rows = table_rows(text)
    assert "FAIL" in rows[0][6]  # failures first
    assert f"{600 - len(rows)} more verdicts left out to keep this comment short" in text
    # The verdicts come first; what they leave no room for still says it was left out.
    assert "more figures left out to keep this comment short: every figure is in" in text
    assert "more items left out to keep this comment short: every remedy and note is" in text


def test_a_report_that_fits_is_not_cut(records) -> None:
    text = markdown.render(build(records))
    assert "left out" not in text
