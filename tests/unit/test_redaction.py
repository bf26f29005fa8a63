"""The redaction layer: a secret never survives in any form a text may carry it."""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_llmperf.errors import GenerationError
from pytest_llmperf.redaction import FRAGMENT, MASK, REDACTOR, Redactor, add_secret, redact

KEY = "sk-proj/SECRET_abcdefghijklmnopqrstu"


@pytest.fixture(autouse=True)
def fresh_registry() -> Iterator[None]:
    REDACTOR.clear()
    yield
    REDACTOR.clear()


def leaks(text: str, secret: str = KEY) -> bool:
    """Whether any FRAGMENT-long run of the secret's characters is in `text`."""
    return any(secret[i : i + FRAGMENT] in text for i in range(len(secret) - FRAGMENT + 1))


@pytest.mark.parametrize(
    "form",
    [
        KEY,
        json.dumps(KEY)[1:-1].replace("/", "\\/"),
        json.dumps(KEY)[1:-1],
        quote(KEY, safe=""),
    ],
    ids=["raw", "json-escaped-slash", "json", "url-encoded"],
)
def test_every_form_of_the_key_is_masked(form: str) -> None:
    add_secret(KEY)
    text = redact(f'{{"error": "bad key {form} given"}}')
    assert MASK in text
    assert not leaks(text)
    assert not leaks(text, form)


def test_a_fragment_is_masked_and_ordinary_text_kept() -> None:
    add_secret(KEY)
    assert redact(f"key ...{KEY[5:20]}") == f"key ...{MASK}"
    assert redact("nothing secret here") == "nothing secret here"


def test_an_error_masks_its_message_however_it_is_printed() -> None:
    add_secret(KEY)
    error = GenerationError(f"server said {KEY}")
    assert KEY not in str(error)
    assert MASK in str(error)


def test_a_record_is_masked_in_keys_and_values() -> None:
    redactor = Redactor()
    redactor.add(KEY)
    record = {"name": [f"a {KEY}"], KEY: 1, "n": 3}
    assert json.dumps(redactor.value(record)).count(MASK) == 2
    assert not leaks(json.dumps(redactor.value(record)))


key_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=FRAGMENT
)


@settings(max_examples=60, deadline=None)
@given(secret=key_text, before=st.text(max_size=40), after=st.text(max_size=40))
def test_no_secret_survives_in_any_surrounding_text(secret: str, before: str, after: str) -> None:
    redactor = Redactor()
    redactor.add(secret)
    for form in (secret, json.dumps(secret)[1:-1], quote(secret, safe="")):
        masked = redactor.text(before + form + after)
        assert not leaks(masked, form)


def _base64_leaks(text: str, secret: str = KEY) -> list[str]:
    """Runs of 12 base64 characters (9 bytes of the key) that survive masking, at any of the
    three alignments the key may have inside a longer encoded text, in either alphabet."""
    found = []
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            form = encode(b"\0" * shift + secret.encode())[4:-4].decode()
            found += [form[i : i + 12] for i in range(len(form) - 11) if form[i : i + 12] in text]
    return found


@pytest.mark.parametrize("prefix", [b"", b"u", b"us", b"user:"])
@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_a_base64_encoded_key_is_masked_at_any_alignment(prefix: bytes, encode: Any) -> None:
    add_secret(KEY)
    echoed = encode(prefix + KEY.encode() + b'","status":401}').decode()
    text = redact(f'{{"error": "bad credentials {echoed}"}}')
    assert MASK in text
    assert _base64_leaks(text) == []


@pytest.mark.parametrize("form", [KEY.encode().hex(), KEY.encode().hex().upper()])
def test_a_hex_encoded_key_is_masked(form: str) -> None:
    add_secret(KEY)
    text = redact(f"token=0x{form}00ff")
    assert MASK in text
    assert not leaks(text, form)


def test_an_html_escaped_key_is_masked() -> None:
    secret = "sk<&>'\"0123456789"
    add_secret(secret)
    text = redact(f"<td>{html.escape(secret)}</td>")
    assert not leaks(text, html.escape(secret))


def test_encoded_forms_mask_no_ordinary_text() -> None:
    add_secret("sk-12345")  # short: its base64 middles are under a fragment, and left out
    assert redact("hello world, the quick brown fox") == "hello world, the quick brown fox"
