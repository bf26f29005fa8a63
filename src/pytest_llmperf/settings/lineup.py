"""The candidates of one run: `--llm-candidate` given once or more (`NAME=PATH` or a path,
named by its directory), `--llm-candidates=GLOB` (a training run's checkpoints, in step
order), or the `candidate` / `candidates` lists in `[tool.llmperf]`.

A candidate's name becomes part of test ids (which pytest prints and writes to JUnit XML),
reports, plots and file names: it must be a safe identifier (`SAFE_NAME`), whether given
as `NAME=MODEL` or taken from the directory. `NAME=` is the name form whenever the text
before the first `=` holds no path or URL separator; a path holding `=` stays a path."""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from pytest_llmperf.errors import ConfigError
from pytest_llmperf.settings.endpoint_spec import is_endpoint
from pytest_llmperf.text import quoted

# Letters, digits, '.', '_' and '-', at least one letter or digit, at most 64 characters.
SAFE_NAME = re.compile(r"^(?=.*[A-Za-z0-9])[A-Za-z0-9._-]{1,64}$")
SAFE_NAME_TEXT = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-' (e.g. sft-step-500)"
_NOT_IN_A_NAME = re.compile(r"[/\\@:]")  # text before '=' holding these is a path or URL
_GLOB_CHARS = re.compile(r"[*?\[]")
_LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def entries(value: object) -> tuple[str, ...]:
    """An option's value as a tuple of non-empty strings: one string, or a list of them
    (the command line's repeated flag, or a TOML list)."""
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, (list, tuple))
        or not items
        or not all(isinstance(item, str) and item.strip() for item in items)
    ):
        raise ValueError(
            "must be a Hugging Face hub id or a checkpoint directory (NAME=MODEL names it), "
            "or a list of them"
        )
    return tuple(item.strip() for item in items)


def split_name(entry: str) -> tuple[str, str]:
    """(candidate name, model) of `NAME=MODEL`, or of a model named by its last path part.
    The name is not checked here (`check_name` does)."""
    name, equals, model = entry.partition("=")
    if equals and not _NOT_IN_A_NAME.search(name):
        return name.strip(), model.strip()
    model = entry.split("@", 1)[0] if is_endpoint(entry) else entry
    return PurePosixPath(model.replace("\\", "/").rstrip("/")).name or model, entry


def check_name(name: str, entry: str, where: str, *, given: bool) -> None:
    """ConfigError naming the name (shortened) and the fix when it is not a safe identifier."""
    if SAFE_NAME.match(name):
        return
    shown = f"{where}={quoted(entry, 80)}"
    if given:
        raise ConfigError(
            f"{shown}: the candidate name {quoted(name, 40)} is not a safe name: a name becomes "
            f"part of test ids, reports and plots, so it must be {SAFE_NAME_TEXT}. Rename it "
            "in NAME=MODEL."
        )
    raise ConfigError(
        f"{shown}: the candidate is named by its directory, and the candidate name "
        f"{quoted(name, 40)} is not a safe name: it must be {SAFE_NAME_TEXT}, as it becomes "
        "part of test ids, reports and plots. Name it with NAME=MODEL, e.g. "
        f"{where}=tuned=PATH."
    )


def step_of(path: Path) -> tuple[int, int, str]:
    """Sort key of a checkpoint directory: its last number (checkpoint-500 before
    checkpoint-1000), names without one after, by name."""
    match = _LAST_NUMBER.search(path.name)
    return (0, int(match.group(1)), path.name) if match else (1, 0, path.name)


def expand(entry: str, base_dir: Path, where: str) -> list[tuple[str, str]]:
    """(name, model) for each model an entry names: a glob names every matching directory,
    in step order; anything else names one model."""
    name, model = split_name(entry)
    given = model != entry
    if is_endpoint(model) or not _GLOB_CHARS.search(model):
        check_name(name, entry, where, given=given)
        return [(name, model)]  # an endpoint's URL may hold "?" and is never a glob
    pattern = Path(model).expanduser()
    if not pattern.is_absolute():
        pattern = base_dir / pattern
    found = sorted(
        (Path(hit) for hit in glob.glob(str(pattern)) if Path(hit).is_dir()), key=step_of
    )
    if not found:
        raise ConfigError(
            f"{where}={entry} matched no directory (looked for {pattern}): check the path, "
            "e.g. --llm-candidates=runs/sft/checkpoint-*"
        )
    for path in found:
        check_name(path.name, entry, where, given=False)
    return [(path.name, str(path)) for path in found]


def check_unique(names: Sequence[str]) -> None:
    """Candidate names become test ids: two alike would judge one model twice by one name."""
    seen: set[str] = set()
    repeated = sorted({name for name in names if name in seen or seen.add(name)})
    if repeated:
        raise ConfigError(
            f"two candidates are named {', '.join(repeated)}: name each with NAME=MODEL, "
            "e.g. --llm-candidate=short=./runs/a/ckpt --llm-candidate=long=./runs/b/ckpt"
        )


def id_without_candidate(nodeid: str, params_id: str, candidate_name: str) -> str:
    """`t.py::test[x-short]` -> `t.py::test[x]`: a test's id as judged against the
    baseline, its candidate's id (the last of its parameters) taken away."""
    if params_id == candidate_name and nodeid.endswith(f"[{params_id}]"):
        return nodeid[: -len(params_id) - 2]
    suffix = f"-{candidate_name}]"
    if nodeid.endswith(suffix):
        return nodeid[: -len(suffix)] + "]"
    return nodeid
