"""Eval sets: questions with their expected answers, read from JSONL, CSV or a `datasets`
Dataset, as a frozen `EvalSet` that `generate()` takes as its prompts.

Each item has a `prompt` (text) or `messages` (a conversation), an `expected` answer, an
optional `id` (default: its 1-based line, or row, number) and optional `choices` (multiple
choice). `limit=N` keeps a seeded random N of the items, in file order; a smaller limit with
the same seed keeps a subset of a larger one's. The set's sha256 covers the items kept, so
the sample is part of the recorded workload.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pytest_llmperf.errors import EvalSetError, GenerationError
from pytest_llmperf.prompts import Conversation, Prompt, conversation

FIELDS = ("id", "prompt", "messages", "expected", "choices")
READERS = (".jsonl", ".ndjson", ".csv")


@dataclass(frozen=True)
class EvalItem:
    """One question: its id, its prompt (text or a conversation), its expected answer, and
    its choices when it is multiple choice."""

    id: str
    prompt: Prompt
    expected: str
    choices: tuple[str, ...] | None = None
    position: int = 0  # 0-based place in the source, before any subsample

    @property
    def messages(self) -> list[dict[str, str]] | None:
        """The conversation as {"role", "content"} messages; None for a text prompt."""
        return self.prompt.as_messages() if isinstance(self.prompt, Conversation) else None

    def to_json(self) -> dict[str, Any]:
        """The item as a JSONL row writes it (and as its digest reads it)."""
        row: dict[str, Any] = {"id": self.id}
        if isinstance(self.prompt, Conversation):
            row["messages"] = self.prompt.as_messages()
        else:
            row["prompt"] = self.prompt
        row["expected"] = self.expected
        if self.choices is not None:
            row["choices"] = list(self.choices)
        return row


@dataclass(frozen=True)
class EvalSet:
    """The items of an eval set that a test runs (a seeded subsample when limited)."""

    name: str  # the file's name, or the dataset's
    items: tuple[EvalItem, ...]
    total: int  # items in the source, before any subsample
    seed: int = 0

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[EvalItem]:
        return iter(self.items)

    @property
    def sha256(self) -> str:
        """Digest of the items kept: ids, prompts, expected answers and choices."""
        rows = [item.to_json() for item in self.items]
        text = json.dumps(rows, ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def prompts(self) -> tuple[Prompt, ...]:
        return tuple(item.prompt for item in self.items)

    @property
    def expected(self) -> tuple[str, ...]:
        return tuple(item.expected for item in self.items)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    def limited(self, limit: int | None) -> EvalSet:
        """At most `limit` items: a seeded random subsample in source order. Limits with one
        seed nest: the items of a smaller limit are among those of a larger one."""
        if limit is None or limit >= len(self.items):
            return self
        order = list(range(self.total))
        random.Random(self.seed).shuffle(order)
        rank = {position: place for place, position in enumerate(order)}
        kept = sorted(self.items, key=lambda item: rank[item.position])[:limit]
        return replace(self, items=tuple(sorted(kept, key=lambda item: item.position)))

    def describe(self) -> str:
        part = "" if len(self.items) == self.total else f" of {self.total:,}"
        noun = "item" if self.total == 1 else "items"
        return f"{self.name} ({len(self.items):,}{part} {noun}, seed {self.seed})"


def load_eval(source: str | Path | Any, limit: int | None = None, seed: int = 0) -> EvalSet:
    """An eval set from a JSONL or CSV file, or a `datasets` Dataset with the same columns.

    Fields: `prompt` (text) or `messages` (a list of {"role", "content"} messages),
    `expected` (the answer), optional `id` (default: the 1-based line or row number) and
    `choices` (a list of strings; in CSV a JSON list in the cell). `limit=N` keeps a seeded
    random N of them, in file order. Bad input raises EvalSetError naming the file, the
    line (or row) and the field.
    """
    limit = _checked_limit(limit)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise EvalSetError(f"load_eval(seed={seed!r}): the seed must be a whole number.")
    if isinstance(source, (str, Path)):
        name, items = _read_file(Path(source))
    elif hasattr(source, "column_names"):
        name, items = _read_dataset(source)
    else:
        raise EvalSetError(
            f"load_eval() was given a {type(source).__name__}: give the path of a JSONL or "
            "CSV file, or a datasets.Dataset."
        )
    return EvalSet(name, tuple(items), len(items), seed).limited(limit)


def _checked_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise EvalSetError(
            f"limit={limit!r} is not a positive whole number: give how many items to keep "
            "(e.g. limit=50), or None for all of them."
        )
    return limit


# -- reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    """Where a row came from, for messages: "eval set evals.jsonl, line 3"."""

    source: str
    unit: str  # "line" or "row"
    number: int

    def __str__(self) -> str:
        return f"eval set {self.source}, {self.unit} {self.number}"


def _read_file(path: Path) -> tuple[str, list[EvalItem]]:
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise EvalSetError(
            f"eval set {path} has an extension load_eval does not read ({suffix or 'none'}): "
            f"it reads JSON lines ({', '.join(READERS[:2])}) and CSV (.csv)."
        )
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EvalSetError(f"eval set {path} does not exist (from {Path.cwd()}).") from None
    except IsADirectoryError:
        raise EvalSetError(f"eval set {path} is a directory, not a JSONL or CSV file.") from None
    except OSError as error:
        raise EvalSetError(f"eval set {path} cannot be read: {error.strerror}.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise EvalSetError(
            f"eval set {path}, line {line}: not UTF-8 text (byte {error.start}); save the "
            "file as UTF-8."
        ) from None
    rows = _jsonl_rows(text, str(path)) if suffix != ".csv" else _csv_rows(text, str(path))
    items = _items(rows, str(path))
    if not items:
        raise EvalSetError(
            f"eval set {path} is empty: give one item per line (JSONL) or per row under a "
            "header (CSV), each with a prompt (or messages) and its expected answer."
        )
    return path.name, items


def _jsonl_rows(text: str, source: str) -> list[tuple[_Where, Mapping[str, Any]]]:
    """Each non-blank line a JSON object. Lines end at \\n only: a JSON string may hold
    other line separators (U+2028, \\x1c) that str.splitlines would cut at."""
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = _Where(source, "line", number)
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvalSetError(
                f"{where}: not valid JSON ({error.msg} at column {error.colno}); each line "
                'must be one JSON object, e.g. {"prompt": "...", "expected": "..."}.'
            ) from None
        except RecursionError:
            raise EvalSetError(f"{where}: not valid JSON (nested too deeply).") from None
        if not isinstance(row, dict):
            raise EvalSetError(
                f"{where}: a JSON {type(row).__name__}, not an object; each line must be "
                'one JSON object, e.g. {"prompt": "...", "expected": "..."}.'
            )
        rows.append((where, row))
    return rows


def _csv_rows(text: str, source: str) -> list[tuple[_Where, Mapping[str, Any]]]:
    """Rows under a header; an empty cell is a field not given; row 1 is the first data row."""
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    try:
        header = next(reader, None)
        if header is None:
            return []
        if not {"prompt", "messages"} & set(header) or "expected" not in header:
            raise EvalSetError(
                f"eval set {source}: its header ({', '.join(header) or 'empty'}) needs a "
                "'prompt' (or 'messages') column and an 'expected' column."
            )
        duplicated = sorted({name for name in header if header.count(name) > 1 and name})
        if duplicated:
            raise EvalSetError(f"eval set {source}: the header repeats {', '.join(duplicated)}.")
        for number, cells in enumerate(reader, start=1):
            where = _Where(source, "row", number)
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > len(header):
                raise EvalSetError(
                    f"{where}: {len(cells)} cells under a header of {len(header)} columns."
                )
            row = {name: cell for name, cell in zip(header, cells, strict=False) if cell != ""}
            for name in ("messages", "choices"):
                if name in row:
                    row[name] = _json_cell(row[name], where, name)
            rows.append((where, row))
    except csv.Error as error:
        raise EvalSetError(f"eval set {source}, line {reader.line_num}: {error}.") from None
    return rows


def _json_cell(cell: str, where: _Where, name: str) -> Any:
    try:
        return json.loads(cell)
    except (json.JSONDecodeError, RecursionError):
        shape = (
            '[{"role": "user", "content": "..."}]' if name == "messages" else '["Paris", "Rome"]'
        )
        raise EvalSetError(
            f"{where}, field '{name}': not a JSON list; write it as JSON, e.g. {shape}."
        ) from None


def _read_dataset(dataset: Any) -> tuple[str, list[EvalItem]]:
    columns = dataset.column_names
    if isinstance(columns, Mapping):
        raise EvalSetError(
            f"load_eval() was given a DatasetDict with splits {', '.join(columns)}: pick one, "
            "e.g. load_eval(dataset['test'])."
        )
    info = getattr(dataset, "info", None)
    name = getattr(info, "dataset_name", None) or getattr(info, "builder_name", None) or "dataset"
    rows = [(_Where(str(name), "row", number), row) for number, row in enumerate(dataset, 1)]
    items = _items(rows, str(name))
    if not items:
        raise EvalSetError(f"eval set {name} (a dataset) has no rows.")
    return str(name), items


# -- one row --------------------------------------------------------------------------------


def _item(row: Mapping[str, Any], where: _Where, position: int) -> EvalItem:
    given = {name: row.get(name) for name in FIELDS if row.get(name) is not None}
    if "prompt" in given and "messages" in given:
        raise EvalSetError(
            f"{where}: has both 'prompt' and 'messages'; give one: text, or a conversation."
        )
    if "prompt" not in given and "messages" not in given:
        raise EvalSetError(
            f"{where}: missing 'prompt' (text) or 'messages' (a conversation); "
            f"it has {', '.join(map(repr, row)) or 'no fields'}."
        )
    if "expected" not in given:
        raise EvalSetError(f"{where}: missing 'expected' (the expected answer).")
    prompt: Prompt
    if "prompt" in given:
        prompt = _text(given["prompt"], where, "prompt")
    else:
        prompt = _messages(given["messages"], where)
    return EvalItem(
        id=_id(given.get("id"), where),
        prompt=prompt,
        expected=_text(given["expected"], where, "expected"),
        choices=_choices(given.get("choices"), where),
        position=position,
    )


def _text(value: Any, where: _Where, name: str) -> str:
    if not isinstance(value, str):
        hint = f'; write it in quotes: "{value}"' if isinstance(value, (int, float)) else ""
        raise EvalSetError(
            f"{where}, field '{name}': must be a string, not {_kind(value)} ({value!r:.80}){hint}."
        )
    if not value.strip():
        raise EvalSetError(f"{where}, field '{name}': is empty.")
    return value


def _messages(value: Any, where: _Where) -> Conversation:
    if not isinstance(value, list):
        raise EvalSetError(
            f'{where}, field \'messages\': must be a list of {{"role", "content"}} '
            f"messages, not {_kind(value)}."
        )
    try:
        return conversation(value, f"{where}, field 'messages'")
    except GenerationError as error:
        raise EvalSetError(str(error)) from None


def _id(value: Any, where: _Where) -> str:
    if value is None:
        return str(where.number)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise EvalSetError(
            f"{where}, field 'id': must be a string or a whole number, not {_kind(value)}."
        )
    text = str(value)
    if not text.strip():
        raise EvalSetError(f"{where}, field 'id': is empty; leave it out for the line number.")
    return text


def _choices(value: Any, where: _Where) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(c, str) for c in value):
        raise EvalSetError(
            f"{where}, field 'choices': must be a non-empty list of strings, e.g. "
            f'["Paris", "Rome"], not {value!r:.80}.'
        )
    return tuple(value)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "a list", bool: "true/false", type(None): "null"}
    names |= {int: "a number", float: "a number", str: "a string"}
    return names.get(type(value), f"a {type(value).__name__}")


def _items(rows: Sequence[tuple[_Where, Mapping[str, Any]]], source: str) -> list[EvalItem]:
    """The rows as items, each id once: ids pair each question across runs."""
    items, seen = [], {}
    for position, (where, row) in enumerate(rows):
        item = _item(row, where, position)
        if item.id in seen:
            raise EvalSetError(
                f"eval set {source}: id {item.id!r} is on {seen[item.id].unit} "
                f"{seen[item.id].number} and again on {where.unit} {where.number}; ids pair "
                "each question across runs, so each must be unique."
            )
        seen[item.id] = where
        items.append(item)
    return items
