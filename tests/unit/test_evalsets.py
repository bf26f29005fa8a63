"""Eval sets read from JSONL, CSV or a datasets Dataset: what is read back, the seeded
subsample, and every kind of bad input as an EvalSetError naming the file, line and field."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_llmperf import EvalSet, load_eval
from pytest_llmperf.errors import EvalSetError, LlmPerfError
from pytest_llmperf.measure.workload import Workload
from pytest_llmperf.prompts import Conversation

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"}]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))
    return path


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), newline="")
    return path


def test_jsonl_items_with_prompts_messages_ids_and_choices(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "evals.jsonl",
        [
            {"prompt": "Q: capital of France? A:", "expected": "Paris"},
            {"id": "sum", "messages": CHAT, "expected": "4", "category": "math"},
            {"id": 7, "prompt": "Pick one", "expected": "B", "choices": ["Rome", "Paris"]},
        ],
    )
    evals = load_eval(path)
    assert isinstance(evals, EvalSet) and evals.name == "evals.jsonl" and len(evals) == 3
    first, chat, picked = evals.items
    assert (first.id, first.prompt, first.expected, first.choices) == (
        "1",
        "Q: capital of France? A:",
        "Paris",
        None,
    )
    assert first.messages is None
    assert isinstance(chat.prompt, Conversation) and chat.messages == CHAT and chat.id == "sum"
    assert picked.id == "7" and picked.choices == ("Rome", "Paris")
    assert evals.ids == ("1", "sum", "7") and evals.expected == ("Paris", "4", "B")


def test_ids_default_to_the_line_number_counting_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text('\n{"prompt": "a", "expected": "x"}\n\n{"prompt": "b", "expected": "y"}\n')
    assert load_eval(path).ids == ("2", "4")


def test_csv_items_with_json_cells_and_row_numbers(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "evals.csv",
        ["id", "prompt", "messages", "expected", "choices"],
        [
            ["", "Q: a, b or c? A:", "", "b", '["a", "b", "c"]'],
            ["q2", "", json.dumps(CHAT), "4", ""],
            ["", "multi\nline", "", "x", ""],
        ],
    )
    evals = load_eval(path)
    assert evals.ids == ("1", "q2", "3")
    assert evals.items[0].choices == ("a", "b", "c")
    assert evals.items[1].messages == CHAT
    assert evals.items[2].prompt == "multi\nline"


def test_the_digest_covers_the_items_kept(tmp_path: Path) -> None:
    rows = [{"prompt": f"Q{n}", "expected": str(n)} for n in range(10)]
    one = load_eval(write_jsonl(tmp_path / "a.jsonl", rows))
    same = load_eval(write_jsonl(tmp_path / "b.jsonl", rows))
    rows[3]["expected"] = "changed"
    changed = load_eval(write_jsonl(tmp_path / "c.jsonl", rows))
    assert one.sha256 == same.sha256 != changed.sha256
    assert load_eval(tmp_path / "a.jsonl", limit=4).sha256 != one.sha256


def test_limit_is_a_seeded_subsample_in_file_order_and_limits_nest(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl", [{"prompt": f"Q{n}", "expected": str(n)} for n in range(50)]
    )
    five = load_eval(path, limit=5, seed=3)
    assert len(five) == 5 and five.total == 50
    assert five.ids == load_eval(path, limit=5, seed=3).ids  # same seed, same items
    assert [int(i) for i in five.ids] == sorted(int(i) for i in five.ids)  # file order
    assert five.ids != load_eval(path, limit=5, seed=4).ids
    twenty = load_eval(path, limit=20, seed=3)
    assert set(five.ids) <= set(twenty.ids)
    assert twenty.limited(5) == five  # eval_limit on a larger sample: the same 5
    assert five.limited(20) is five  # a larger eval_limit keeps the test's own
    assert load_eval(path, limit=500).ids == load_eval(path).ids
    assert "5 of 50 items, seed 3" in five.describe()


def test_an_eval_set_is_a_workload_with_its_answers_ids_and_choices(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "e.jsonl",
        [
            {"id": f"q{n}", "prompt": f"Q{n}", "expected": str(n), "choices": ["1", "2"]}
            for n in range(6)
        ],
    )
    evals = load_eval(path)
    workload = Workload.from_call(evals, {"max_new_tokens": 4})
    assert workload.prompts == evals.prompts and workload.expected == evals.expected
    assert workload.ids == evals.ids and workload.choices == (("1", "2"),) * 6
    limited = Workload.from_call(evals, {"max_new_tokens": 4}, eval_limit=2)
    assert limited.ids == evals.limited(2).ids and limited.eval_set == evals.limited(2)
    inline = Workload.from_call(["a", "b"], {"max_new_tokens": 4})
    assert inline.ids == ("0", "1") and inline.eval_set is None
    with pytest.raises(LlmPerfError, match="brings its own expected answers"):
        Workload.from_call(evals, {"max_new_tokens": 4}, expected=["x"] * 6)


class FakeDataset:
    """What load_eval reads of a datasets.Dataset: column_names, rows as dicts, info."""

    def __init__(self, rows: list[dict[str, Any]], name: str = "tiny_qa") -> None:
        self.rows = rows
        self.column_names = sorted({key for row in rows for key in row})
        self.info = type("Info", (), {"dataset_name": name})()

    def __iter__(self):
        return iter(self.rows)


def test_a_dataset_with_the_same_columns() -> None:
    evals = load_eval(
        FakeDataset(
            [
                {"prompt": "Q1", "expected": "a", "id": None, "choices": None},
                {"prompt": "Q2", "expected": "b", "id": "x", "choices": ["a", "b"]},
            ]
        )
    )
    assert evals.name == "tiny_qa" and evals.ids == ("1", "x")
    assert evals.items[1].choices == ("a", "b")
    with pytest.raises(EvalSetError, match=r"tiny_qa, row 1: missing 'expected'"):
        load_eval(FakeDataset([{"prompt": "Q1"}]))


def test_a_real_datasets_dataset() -> None:
    datasets = pytest.importorskip("datasets")
    rows = [{"prompt": "Q1", "expected": "a"}, {"prompt": "Q2", "expected": "b"}]
    evals = load_eval(datasets.Dataset.from_list(rows))
    assert evals.prompts == ("Q1", "Q2") and evals.ids == ("1", "2")
    splits = datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})
    with pytest.raises(EvalSetError, match=r"DatasetDict with splits test: pick one"):
        load_eval(splits)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"e\.jsonl is empty"),
        ("\n  \n", r"e\.jsonl is empty"),
        ('{"prompt": "a", "expected": "x"}\n{"prompt": "b",', r"e\.jsonl, line 2: not valid JSON"),
        ("[1, 2]", r"line 1: a JSON list, not an object"),
        ('{"expected": "x"}', r"line 1: missing 'prompt' \(text\) or 'messages'"),
        ('{"prompt": "a"}', r"line 1: missing 'expected'"),
        ('{"prompt": "a", "expected": null}', r"line 1: missing 'expected'"),
        (
            '{"prompt": "a", "messages": [], "expected": "x"}',
            r"line 1: has both 'prompt' and 'messages'",
        ),
        (
            '{"prompt": "a", "expected": 4}',
            r"line 1, field 'expected': must be a string, not a number \(4\); write it in quotes: \"4\"",
        ),
        (
            '{"prompt": ["a"], "expected": "x"}',
            r"line 1, field 'prompt': must be a string, not a list",
        ),
        ('{"prompt": "  ", "expected": "x"}', r"line 1, field 'prompt': is empty"),
        ('{"prompt": "a", "expected": ""}', r"line 1, field 'expected': is empty"),
        (
            '{"prompt": "a", "expected": "x", "choices": "a,b"}',
            r"line 1, field 'choices': must be a non-empty list of strings",
        ),
        ('{"prompt": "a", "expected": "x", "choices": ["a", 2]}', r"field 'choices'"),
        ('{"prompt": "a", "expected": "x", "choices": []}', r"field 'choices'"),
        ('{"messages": "hi", "expected": "x"}', r"line 1, field 'messages': must be a list"),
        ('{"messages": [], "expected": "x"}', r"line 1, field 'messages' is an empty conversation"),
        (
            '{"messages": [{"role": "user"}], "expected": "x"}',
            r"line 1, field 'messages', message 0 needs a 'role' .* and a text 'content'",
        ),
        (
            '{"messages": [{"role": "user", "content": "a", "name": "b"}], "expected": "x"}',
            r"message 0 has keys \['name'\]",
        ),
        (
            '{"prompt": "a", "expected": "x", "id": true}',
            r"field 'id': must be a string or a whole number, not true/false",
        ),
        ('{"prompt": "a", "expected": "x", "id": ""}', r"field 'id': is empty"),
        (
            '{"prompt": "a", "expected": "x", "id": "q"}\n\n{"prompt": "b", "expected": "y", "id": "q"}',
            r"id 'q' is on line 1 and again on line 3",
        ),
        (
            '{"prompt": "a", "expected": "x", "id": "2"}\n{"prompt": "b", "expected": "y"}',
            r"id '2' is on line 1 and again on line 2",
        ),
    ],
)
def test_bad_jsonl_names_the_file_line_and_field(tmp_path: Path, content: str, message: str):
    path = tmp_path / "e.jsonl"
    path.write_text(content)
    with pytest.raises(EvalSetError, match=message):
        load_eval(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"e\.csv is empty"),
        ("prompt,expected\n", r"e\.csv is empty"),
        ("question,answer\na,b\n", r"header \(question, answer\) needs a 'prompt' .* 'expected'"),
        ("prompt,expected,prompt\na,b,c\n", r"the header repeats prompt"),
        ("prompt,expected\na,b,c\n", r"e\.csv, row 1: 3 cells under a header of 2 columns"),
        ("prompt,expected\na,b\nc,\n", r"e\.csv, row 2: missing 'expected'"),
        ("prompt,expected,choices\na,b,not json\n", r"row 1, field 'choices': not a JSON list"),
        (
            'prompt,expected,choices\na,b,"{""a"": 1}"\n',
            r"row 1, field 'choices': must be a non-empty list",
        ),
        (
            "messages,expected\n[1],b\n",
            r"row 1, field 'messages', message 0 is a int, not a message",
        ),
        ("id,prompt,expected\nq,a,b\nq,c,d\n", r"id 'q' is on row 1 and again on row 2"),
    ],
)
def test_bad_csv_names_the_file_row_and_field(tmp_path: Path, content: str, message: str):
    path = tmp_path / "e.csv"
    path.write_text(content)
    with pytest.raises(EvalSetError, match=message):
        load_eval(path)


def test_missing_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match=r"missing\.jsonl does not exist"):
        load_eval(tmp_path / "missing.jsonl")
    with pytest.raises(EvalSetError, match=r"reads JSON lines \(\.jsonl, \.ndjson\) and CSV"):
        load_eval(tmp_path / "evals.parquet")
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(EvalSetError, match=r"is a directory"):
        load_eval(tmp_path / "dir.jsonl")
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"prompt": "a", "expected": "x"}\n{"prompt": "caf\xe9"}\n')
    with pytest.raises(EvalSetError, match=r"latin\.jsonl, line 2: not UTF-8"):
        load_eval(latin)
    with pytest.raises(EvalSetError, match=r"was given a int: give the path"):
        load_eval(42)


@pytest.mark.parametrize("limit", [0, -1, 2.5, "3", True])
def test_a_limit_must_be_a_positive_whole_number(tmp_path: Path, limit: Any) -> None:
    path = write_jsonl(tmp_path / "e.jsonl", [{"prompt": "a", "expected": "x"}])
    with pytest.raises(EvalSetError, match=r"limit=.* is not a positive whole number"):
        load_eval(path, limit=limit)


def test_a_bom_from_a_spreadsheet_is_not_part_of_the_header(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes("prompt,expected\r\na,b\r\n".encode("utf-8-sig"))
    assert load_eval(path).prompts == ("a",)


# --- properties ------------------------------------------------------------------------------

TEXT = st.text(min_size=1, max_size=30).filter(lambda text: text.strip())
MESSAGES = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(["system", "user", "assistant"]), "content": st.text(max_size=20)}
    ),
    min_size=1,
    max_size=3,
)
ROW = st.fixed_dictionaries(
    {"expected": TEXT},
    optional={"choices": st.lists(st.text(max_size=10), min_size=1, max_size=4)},
).flatmap(
    lambda row: st.one_of(
        st.builds(lambda prompt: {**row, "prompt": prompt}, TEXT),
        st.builds(lambda messages: {**row, "messages": messages}, MESSAGES),
    )
)
ROWS = st.lists(ROW, min_size=1, max_size=6)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _expected_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": str(number), **row} for number, row in enumerate(rows, start=1)]


def _read_back(evals: EvalSet) -> list[dict[str, Any]]:
    return [item.to_json() for item in evals.items]


@SETTINGS
@given(rows=ROWS)
def test_every_jsonl_row_written_is_read_back_equal(tmp_path_factory, rows) -> None:
    path = write_jsonl(tmp_path_factory.mktemp("p") / "e.jsonl", rows)
    assert _read_back(load_eval(path)) == [
        {
            key: item[key]
            for key in ("id", "prompt", "messages", "expected", "choices")
            if key in item
        }
        for item in _expected_items(rows)
    ]


@SETTINGS
@given(rows=ROWS)
def test_every_csv_row_written_is_read_back_equal(tmp_path_factory, rows) -> None:
    header = ["prompt", "messages", "expected", "choices"]
    cells = [
        [
            row.get("prompt", ""),
            json.dumps(row["messages"]) if "messages" in row else "",
            row["expected"],
            json.dumps(row["choices"]) if "choices" in row else "",
        ]
        for row in rows
    ]
    path = write_csv(tmp_path_factory.mktemp("p") / "e.csv", header, cells)
    read = _read_back(load_eval(path))
    assert read == [
        {
            key: item[key]
            for key in ("id", "prompt", "messages", "expected", "choices")
            if key in item
        }
        for item in _expected_items(rows)
    ]


@SETTINGS
@given(garbage=st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=40)), max_size=5))
def test_garbage_is_an_eval_set_error_never_a_traceback(tmp_path_factory, garbage) -> None:
    folder = tmp_path_factory.mktemp("g")
    data = b"\n".join(part if isinstance(part, bytes) else part.encode() for part in garbage)
    for name in ("g.jsonl", "g.csv"):
        path = folder / name
        path.write_bytes(data)
        try:
            evals = load_eval(path)
        except EvalSetError:
            continue
        assert all(item.expected.strip() for item in evals.items)


@SETTINGS
@given(
    line=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                st.sampled_from(["prompt", "messages", "expected", "id", "choices", "x"]),
                inner,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_any_json_line_is_read_or_an_eval_set_error(tmp_path_factory, line) -> None:
    path = tmp_path_factory.mktemp("j") / "j.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with contextlib.suppress(EvalSetError):
        load_eval(path)


def test_eval_limit_and_scorer_timeout_are_options(tmp_path: Path) -> None:
    from pytest_llmperf.errors import ConfigError
    from pytest_llmperf.settings.settings import build_settings

    def built(cli: dict[str, Any], file: dict[str, Any]):
        return build_settings(cli, file, cwd=tmp_path, config_dir=tmp_path, rootdir=tmp_path)

    assert (built({}, {}).eval_limit, built({}, {}).scorer_timeout_s) == (None, 10.0)
    chosen = built({"eval_limit": "20"}, {"eval_limit": 5, "scorer_timeout_s": 0.5})
    assert (chosen.eval_limit, chosen.scorer_timeout_s) == (20, 0.5)
    with pytest.raises(ConfigError, match="eval_limit"):
        built({}, {"eval_limit": 0})
    with pytest.raises(ConfigError, match="scorer_timeout_s"):
        built({}, {"scorer_timeout_s": -1})
