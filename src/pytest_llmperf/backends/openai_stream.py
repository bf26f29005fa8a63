"""Reading an OpenAI-compatible streaming completion, line by line, with the time of each.

Kept apart from HTTP so the traps are tested on plain lines: time to first token is the
first chunk that carries text (role-only and empty chunks, sent first by many servers, do
not count), and usage may come on the last chunk with text, on a chunk of its own with no
choices (vLLM with stream_options.include_usage), or not at all.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.redaction import redact


class MalformedStreamError(GenerationError):
    """A chunk that is not the JSON an OpenAI-compatible stream sends."""


class DeadlinePassed(Exception):
    """The whole request took longer than its deadline."""


def timed_lines(
    pieces: Iterable[str], deadline: float, clock: Callable[[], float] = time.perf_counter
) -> Iterator[tuple[str, float]]:
    """The lines of a stream that arrives in `pieces` of any size, each with the time its
    end arrived. The deadline is checked at every piece, not every line: a server that
    trickles one byte a second with no newline is stopped at the deadline."""
    pending = ""
    for piece in pieces:
        now = clock()
        if now > deadline:
            raise DeadlinePassed
        pending += piece
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line.rstrip("\r"), now
    if pending:
        yield pending, clock()


@dataclass
class StreamedAnswer:
    """What a stream said, and when (seconds from `started`, the moment the request left)."""

    started: float
    pieces: list[str] = field(default_factory=list)
    first_text_at: float | None = None
    last_chunk_at: float | None = None
    finish_reason: str | None = None
    usage: dict[str, Any] | None = None
    done: bool = False
    text_chunks: int = 0

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def feed(self, line: str, now: float) -> None:
        """One line of the event stream, received at `now` (perf_counter seconds)."""
        line = line.strip()
        if not line or line.startswith(":") or not line.startswith("data:"):
            return  # blank separators, comments and other SSE fields (event:, id:)
        payload = line[len("data:") :].strip()
        if payload == "[DONE]":
            self.done = True
            return
        chunk = _decode(payload)
        self.last_chunk_at = now
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in _choices(chunk, payload):
            text = _choice_text(choice, payload)
            if text:
                self.pieces.append(text)
                self.text_chunks += 1
                if self.first_text_at is None:
                    self.first_text_at = now
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])

    @property
    def complete(self) -> bool:
        return self.done or self.finish_reason is not None


def _decode(payload: str) -> dict[str, Any]:
    try:
        chunk = json.loads(payload)
    except json.JSONDecodeError:
        raise MalformedStreamError(
            f"the server sent a stream chunk that is not JSON: {_excerpt(payload)}"
        ) from None
    if not isinstance(chunk, dict):
        raise MalformedStreamError(
            f"the server sent a stream chunk that is not an object: {_excerpt(payload)}"
        )
    if "error" in chunk:
        raise GenerationError(f"the server reported an error in the stream: {_error_text(chunk)}")
    return chunk


def _choices(chunk: dict[str, Any], payload: str) -> list[dict[str, Any]]:
    choices = chunk.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise MalformedStreamError(
            f"the server sent a stream chunk whose 'choices' is not a list of objects: "
            f"{_excerpt(payload)}"
        )
    return choices


def _choice_text(choice: dict[str, Any], payload: str) -> str:
    """Completions carry `text`; chat completions carry `delta.content`."""
    text = choice.get("text")
    if text is None and isinstance(choice.get("delta"), dict):
        text = choice["delta"].get("content")
    if text is not None and not isinstance(text, str):
        raise MalformedStreamError(
            f"the server sent text that is not a string: {_excerpt(payload)}"
        )
    return text or ""


def _excerpt(payload: str) -> str:
    """The start of what the server sent, secrets masked before it is cut."""
    return repr(redact(payload)[:200])


def _error_text(chunk: dict[str, Any]) -> str:
    error = chunk.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
