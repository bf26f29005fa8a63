"""The .llmperf store: one JSON file per test, stably formatted, written atomically."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pytest_llmperf.checks import (
    optional_count,
    optional_positive_time,
    optional_score,
    optional_size,
    positive_time,
    real_bool,
    whole_count,
)
from pytest_llmperf.errors import SnapshotError
from pytest_llmperf.files import write_atomically
from pytest_llmperf.prompts import text_digest
from pytest_llmperf.redaction import redacted
from pytest_llmperf.results import (
    GenerationResult,
    ModelFigures,
    Pricing,
    PromptSample,
    Run,
    TokenCount,
)
from pytest_llmperf.snapshots.served import served_from_json, served_summary, served_to_json
from pytest_llmperf.text import shown_value

SCHEMA_VERSION = 1
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\[\]=+]")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_NAME = 120


def _safe_part(part: str) -> str:
    """A folder name that stays inside the store: no '..', '/' or odd characters."""
    return "__" if part in ("..", ".", "/") else _UNSAFE.sub("_", part)


prompts_digest = text_digest


@dataclass(frozen=True)
class SnapshotCall:
    """One generate call of a test: what was asked and what the baseline measured."""

    prompts_sha256: str
    prompt_count: int
    generation: dict[str, Any]
    result: GenerationResult

    def same_workload(self, other: SnapshotCall) -> bool:
        return (self.prompts_sha256, self.generation) == (other.prompts_sha256, other.generation)


@dataclass(frozen=True)
class Snapshot:
    test: str
    model: dict[str, Any]
    measured_with: dict[str, Any]
    environment: dict[str, Any]
    calls: tuple[SnapshotCall, ...]

    def result(self, pricing: Pricing, latency_percentile: float) -> GenerationResult:
        """All calls' samples as one result, priced and summarised with today's settings."""
        combined = GenerationResult.combine([call.result for call in self.calls])
        return GenerationResult(
            combined.samples,
            combined.peak_memory_mb,
            pricing,
            latency_percentile,
            token_count=combined.token_count,
            figures=combined.figures,
            rendered_sha256=combined.rendered_sha256,
            scorers=combined.scorers,
            load=combined.load,
            capacity=combined.capacity,
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _token_count_json(result: GenerationResult) -> dict[str, Any]:
    """Served models: where the token counts came from. Absent for in-process models, whose
    counts are generate's own token ids, so their snapshots read as they always did."""
    if result.token_count == TokenCount():
        return {}
    return {"token_count": asdict(result.token_count)}


def _figures_json(result: GenerationResult) -> dict[str, Any]:
    """The machine-independent figures, exact (absent for a served model, which has none)."""
    if result.figures == ModelFigures():
        return {}
    return {"figures": asdict(result.figures)}


def _figures_from_json(data: Any, where: str) -> ModelFigures:
    if data is None:
        return ModelFigures()  # a served model's snapshot has none
    if not isinstance(data, dict):
        raise ValueError(f"{where} must be an object of figures, not {shown_value(data)}")
    return ModelFigures(
        weights_mb=optional_size(data.get("weights_mb"), f"{where}.weights_mb"),
        kv_cache_bytes_per_token=optional_size(
            data.get("kv_cache_bytes_per_token"), f"{where}.kv_cache_bytes_per_token"
        ),
        counted_flops=optional_count(data.get("counted_flops"), f"{where}.counted_flops"),
        counted_tokens=optional_count(data.get("counted_tokens"), f"{where}.counted_tokens"),
    )


def _rendered_json(result: GenerationResult) -> dict[str, Any]:
    """Conversations: the digest of the prompts as the model's chat template rendered them,
    so that a changed template shows in the diff and is told apart when judging."""
    if result.rendered_sha256 is None:
        return {}
    return {"rendered_sha256": result.rendered_sha256}


def _scorers_json(result: GenerationResult) -> dict[str, Any]:
    """The scorers of a scored call ("loglikelihood": choices ranked, nothing generated);
    absent for a call without expected answers."""
    return {"scorers": list(result.scorers)} if result.scorers else {}


def _scorers_from_json(data: Any, where: str) -> tuple[str, ...]:
    if data is None:
        return ()
    if not isinstance(data, list) or not all(isinstance(name, str) and name for name in data):
        raise ValueError(f"{where}.scorers must be a list of scorer names, not {data!r:.80}")
    return tuple(data)


def _result_to_json(result: GenerationResult) -> dict[str, Any]:
    return {
        "peak_memory_mb": _round(result.peak_memory_mb),
        **_figures_json(result),
        **_token_count_json(result),
        **_rendered_json(result),
        **_scorers_json(result),
        **served_to_json(result),
        "samples": [
            {
                "prompt": sample.prompt_index,
                "input_tokens": sample.input_tokens,
                "text": sample.text,
                "question_id": sample.question_id,
                "correct": sample.correct,
                "score": sample.score,
                "output_tokens": [run.output_tokens for run in sample.runs],
                "hit_max_new_tokens": [run.hit_max_new_tokens for run in sample.runs],
                "latency_ms": [_round(run.latency_ms) for run in sample.runs],
                "ttft_ms": [_round(run.ttft_ms) for run in sample.runs],
                "peak_memory_mb": [_round(run.peak_memory_mb) for run in sample.runs],
                "generation_memory_mb": [_round(run.generation_memory_mb) for run in sample.runs],
            }
            for sample in result.samples
        ],
    }


def _result_from_json(data: Mapping[str, Any], where: str, at_most: int | None) -> GenerationResult:
    """A call's result, each number checked: ValueError naming the field when one is wrong."""
    samples = []
    if not isinstance(data["samples"], list) or not data["samples"]:
        raise ValueError(f"{where}.samples must be a list of at least one sample")
    for index, item in enumerate(data["samples"]):
        at = f"{where}.samples[{index}]"
        latencies = item["latency_ms"]
        if not isinstance(latencies, list) or not latencies:
            raise ValueError(f"{at}.latency_ms must be a list of at least one run")
        columns = zip(
            latencies,
            item["ttft_ms"],
            item["output_tokens"],
            item["hit_max_new_tokens"],
            item.get("peak_memory_mb", [None] * len(latencies)),
            item.get("generation_memory_mb", [None] * len(latencies)),
            strict=True,
        )
        runs = tuple(
            Run(
                positive_time(lat, f"{at}.latency_ms[{run}]"),
                optional_positive_time(ttft, f"{at}.ttft_ms[{run}]"),
                whole_count(out, f"{at}.output_tokens[{run}]", at_most),
                real_bool(hit, f"{at}.hit_max_new_tokens[{run}]"),
                optional_size(memory, f"{at}.peak_memory_mb[{run}]"),
                optional_size(generation, f"{at}.generation_memory_mb[{run}]"),
            )
            for run, (lat, ttft, out, hit, memory, generation) in enumerate(columns)
        )
        correct = item.get("correct")
        if correct is not None and not isinstance(correct, bool):
            raise ValueError(f"{at}.correct must be true, false or null, not {correct!r}")
        prompt_index = whole_count(item["prompt"], f"{at}.prompt")
        samples.append(
            PromptSample(
                prompt_index,
                whole_count(item["input_tokens"], f"{at}.input_tokens"),
                str(item["text"]),
                runs,
                correct,
                score=optional_score(item.get("score"), f"{at}.score"),
                question_id=question_id(item.get("question_id"), prompt_index, at),
            )
        )
    counted = data.get("token_count")
    token_count = TokenCount(**counted) if isinstance(counted, dict) else TokenCount()
    rendered = data.get("rendered_sha256")
    if rendered is not None and not (isinstance(rendered, str) and _SHA256.fullmatch(rendered)):
        raise ValueError(
            f"{where}.rendered_sha256 must be 64 hex digits or absent, not {shown_value(rendered)}"
        )
    return GenerationResult(
        tuple(samples),
        optional_size(data["peak_memory_mb"], f"{where}.peak_memory_mb"),
        token_count=token_count,
        figures=_figures_from_json(data.get("figures"), f"{where}.figures"),
        rendered_sha256=rendered,
        scorers=_scorers_from_json(data.get("scorers"), where),
        **served_from_json(data, where),
    )


def question_id(value: Any, prompt_index: int, at: str) -> str:
    """A sample's question id; in snapshots from before ids, the prompt's position in its
    call, as inline prompts are numbered."""
    if value is None:
        return str(prompt_index)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{at}.question_id must be a non-empty string, not {value!r}")
    return value


def _max_new_tokens(generation: Any) -> int | None:
    wanted = generation.get("max_new_tokens") if isinstance(generation, dict) else None
    return wanted if isinstance(wanted, int) and not isinstance(wanted, bool) else None


def snapshot_to_json(snapshot: Snapshot) -> dict[str, Any]:
    combined = GenerationResult.combine([call.result for call in snapshot.calls])
    return {
        "schema_version": SCHEMA_VERSION,
        "test": snapshot.test,
        "model": snapshot.model,
        "measured_with": snapshot.measured_with,
        "environment": snapshot.environment,
        # For reading in a diff; judging uses the raw samples below.
        "summary": {
            "latency_ms_median": _round(combined.latency_ms),
            "latency_ms_p95": _round(combined.p95_latency_ms),
            "ttft_ms_median": _round(combined.ttft_ms),
            "input_tokens_mean": _round(combined.input_tokens),
            "output_tokens_mean": _round(combined.output_tokens),
            "peak_memory_mb": _round(combined.peak_memory_mb),
            "weights_mb": _round(combined.weights_mb),
            "kv_cache_mb": _round(combined.kv_cache_mb),
            "flops_per_token": _round(combined.flops_per_token),
            "accuracy": _round(combined.accuracy),
            **served_summary(combined),
        },
        "calls": [
            {
                "prompts_sha256": call.prompts_sha256,
                "prompt_count": call.prompt_count,
                "generation": call.generation,
                **_result_to_json(call.result),
            }
            for call in snapshot.calls
        ],
    }


def snapshot_from_json(data: Any) -> Snapshot:
    """Raises KeyError, TypeError or ValueError on a document of the wrong shape."""
    calls = tuple(
        SnapshotCall(
            prompts_sha256=str(call["prompts_sha256"]),
            prompt_count=whole_count(call["prompt_count"], f"calls[{index}].prompt_count"),
            generation=dict(call["generation"]),
            result=_result_from_json(call, f"calls[{index}]", _max_new_tokens(call["generation"])),
        )
        for index, call in enumerate(data["calls"])
    )
    if not calls:
        raise ValueError("no calls recorded")
    return Snapshot(
        test=str(data["test"]),
        model=dict(data["model"]),
        measured_with=dict(data["measured_with"]),
        environment=dict(data["environment"]),
        calls=calls,
    )


def dumps(value: Any, indent: int = 0) -> str:
    """JSON with one key per line, but short lists of plain values on one line."""
    pad, inner = "  " * indent, "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {dumps(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [f"{inner}{dumps(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


class SnapshotStore:
    """Reads and writes `<root>/<test file>/<test name>.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, nodeid: str) -> Path:
        file_part, _, name_part = nodeid.partition("::")
        # A test file outside the rootdir has a nodeid like '../x/test_a.py' or an absolute
        # path: its parts are kept inside the store by _safe_part.
        parts = [_safe_part(part) for part in Path(file_part).parts]
        if parts:
            parts[-1] = os.path.splitext(parts[-1])[0] or parts[-1]
        raw_name = name_part.replace("::", ".") or "module"
        name = _UNSAFE.sub("_", raw_name)
        if name != raw_name or len(name) > _MAX_NAME:
            # Two ids that sanitise alike, or a long one cut short, keep files of their own.
            digest = hashlib.sha256(nodeid.encode()).hexdigest()[:8]
            name = f"{name[: _MAX_NAME - 9]}-{digest}"
        return self.root.joinpath(*parts, f"{name}.json")

    def load(self, nodeid: str) -> Snapshot | None:
        """The test's snapshot, None when there is none; SnapshotError when it is unreadable."""
        path = self.path_for(nodeid)
        if not path.is_file():
            return None
        fix = "fix or delete it, or re-record it with --llm-baseline=MODEL --llm-update"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as error:
            # ValueError: not JSON, or an integer too long to read (over 4300 digits)
            raise SnapshotError(f"snapshot {path} is not valid JSON ({error}): {fix}.") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if type(version) is not int or version != SCHEMA_VERSION:
            raise SnapshotError(
                f"snapshot {path} has schema_version {version!r}, this pytest-llmperf reads "
                f"{SCHEMA_VERSION}: {fix} (or install the pytest-llmperf version that wrote it)."
            )
        try:
            return snapshot_from_json(data)
        except ValueError as error:
            raise SnapshotError(f"snapshot {path} is malformed: {error}: {fix}.") from None
        except (KeyError, TypeError, AttributeError, OverflowError) as error:
            raise SnapshotError(
                f"snapshot {path} is malformed ({shown_value(error, 200)}): {fix}."
            ) from None

    def newer_schema(self, nodeid: str) -> int | None:
        """The schema version of an existing snapshot when newer than ours: not to overwrite."""
        path = self.path_for(nodeid)
        try:
            version = json.loads(path.read_text(encoding="utf-8")).get("schema_version")
        except (OSError, ValueError, AttributeError):
            return None
        return version if isinstance(version, int) and version > SCHEMA_VERSION else None

    def save(self, snapshot: Snapshot) -> Path:
        """Write atomically: an interrupted or failed write leaves the previous file whole.
        A write the system refuses (a full disk, a quota) is a SnapshotError naming the
        file and the cause."""
        path = self.path_for(snapshot.test)
        try:
            write_atomically(path, dumps(redacted(snapshot_to_json(snapshot))) + "\n")
        except OSError as error:
            kept = (
                "the previous snapshot is left as it was" if path.is_file() else "nothing written"
            )
            fix = "make it writable (or give --llm-dir a directory you can write to)"
            if error.errno in (errno.ENOSPC, errno.EDQUOT):
                fix = "free space on that disk (or give --llm-dir a directory with room)"
            raise SnapshotError(
                f"could not write the snapshot {path}: {error.strerror or error} ({kept}). "
                f"{fix[0].upper()}{fix[1:]}, and run --llm-update again."
            ) from None
        return path
