"""The one redaction layer: every secret the plugin learns (an endpoint's API key, a value
given where a variable's name goes) is masked in everything it writes or raises.

Secrets are registered once, where they are read; `redact` masks a text and `redacted` a
record (any JSON-like value). A secret is masked as written, JSON-escaped (also with `\\/`,
as some servers write it), URL-encoded, HTML-escaped, base64-encoded (standard or URL-safe,
at any alignment within a longer encoded text) and in hex, and so is any fragment of it of
`FRAGMENT` characters or more: a message cut short still shows none of it. Mask before any
truncation. A key shorter than `MIN_KEY` cannot be masked safely (its fragments are
ordinary words): the settings refuse it at start. Kept in one process-wide registry on
purpose: errors are raised deep in the backends, far from pytest's config, and must be
masked wherever they are printed.
"""

from __future__ import annotations

import base64
import html
import json
import re
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
FRAGMENT = 8  # the shortest run of a secret's characters that is masked on its own
MIN_KEY = FRAGMENT  # the shortest API key the settings accept: masked in every form
_MIN_SECRET = 4  # shorter values would mask ordinary words


def _forms(secret: str) -> set[str]:
    """How a secret may appear in a text: raw, JSON-escaped, URL-encoded, HTML-escaped,
    base64-encoded, hex."""
    escaped = json.dumps(secret, ensure_ascii=True)[1:-1]
    return {
        secret,
        escaped,
        escaped.replace("/", "\\/"),
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        repr(secret)[1:-1],
        html.escape(secret),
        *_encoded_forms(secret.encode("utf-8")),
    }


def _encoded_forms(data: bytes) -> set[str]:
    """The secret's bytes in hex, and in base64 at each of the three alignments it may have
    inside a longer encoded text (a `user:key` pair, a JSON body): only the characters that
    its own bytes decide, the group shared with its neighbours cut off at each end."""
    forms = {data.hex(), data.hex().upper()}
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + data).decode("ascii")
            forms.add(encoded[4 if shift else 0 : -4])
    return {form for form in forms if len(form) >= FRAGMENT}


class Redactor:
    """The secrets known so far, and a pattern that finds any long fragment of them."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= _MIN_SECRET and secret not in self._secrets:
            self._secrets.add(secret)
            self._pattern = None

    def clear(self) -> None:
        self._secrets.clear()
        self._pattern = None

    def _compiled(self) -> re.Pattern[str] | None:
        if self._pattern is None and self._secrets:
            pieces: set[str] = set()
            for secret in self._secrets:
                for form in _forms(secret):
                    size = min(FRAGMENT, len(form))
                    pieces.update(form[i : i + size] for i in range(len(form) - size + 1))
            alternatives = "|".join(re.escape(p) for p in sorted(pieces, key=len, reverse=True))
            # A lookahead finds overlapping fragments; their spans are merged below.
            self._pattern = re.compile(f"(?=({alternatives}))")
        return self._pattern

    def text(self, text: str) -> str:
        pattern = self._compiled()
        if pattern is None or not text:
            return text
        spans: list[list[int]] = []
        for match in pattern.finditer(text):
            start, end = match.start(1), match.end(1)
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        out, last = [], 0
        for start, end in spans:
            out.extend((text[last:start], MASK))
            last = end
        out.append(text[last:])
        return "".join(out)

    def value(self, value: Any) -> Any:
        """A JSON-like value (a record, a snapshot) with every string in it masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(str(k)) if isinstance(k, str) else k: self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(item) for item in value)
        return value


REDACTOR = Redactor()


def add_secret(secret: str | None) -> None:
    """Mask `secret` in everything written or raised from now on."""
    REDACTOR.add(secret)


def forget_secrets() -> None:
    """Forget every secret: a session's keys are its own (a process may run several
    sessions, as pytester's in-process runs do, and one must not mask words of the next)."""
    REDACTOR.clear()


def redact(text: str) -> str:
    return REDACTOR.text(text)


def redacted(value: Any) -> Any:
    return REDACTOR.value(value)
