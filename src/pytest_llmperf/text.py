"""Small wording helpers shared by every report: counting, quoting, and numbers written for
people."""

from __future__ import annotations

import json
import math

SIGNIFICANT = 3  # digits of a measured figure worth reading; more is noise
EXACT = 6  # digits of a number a person wrote (a budget): shown as written


def plural(count: int, word: str) -> str:
    """'1 test', '2 tests': syrupy's way of counting in its summary."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def quoted(text: str, limit: int = 100) -> str:
    """`text` in double quotes on one line (line breaks as \\n), cut at `limit` characters."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    return json.dumps(cut, ensure_ascii=False)


def shown_value(value: object, limit: int = 60) -> str:
    """A value read from outside, for a message: its repr cut at `limit` characters; an
    integer too long to print whole (repr of 10**5000 raises) by its size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"{'-' if value < 0 else ''}an integer of about {digits} digits"
    try:
        text = repr(value)
    except ValueError:  # a list holding such an integer
        return f"a {type(value).__name__} holding an integer too long to print"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def decimals_for(value: float, digits: int = SIGNIFICANT) -> int:
    """How many decimals show `value` with `digits` significant digits (none when the
    integer part already has them all): 1250 -> 0, 19.62 -> 1, 0.9691 -> 3."""
    if value == 0 or not math.isfinite(value):
        return digits - 1
    exponent = math.floor(math.log10(abs(value)))
    decimals = max(digits - 1 - exponent, 0)
    # 9.996 rounds to 10.00: one digit more on the left, one decimal less on the right.
    rounded = round(abs(value), decimals)
    if decimals and rounded and math.floor(math.log10(rounded)) > exponent:
        decimals -= 1
    return min(decimals, 15)


def number(
    value: float,
    digits: int = SIGNIFICANT,
    *,
    decimals: int | None = None,
    trim: bool = False,
    grouping: bool = True,
) -> str:
    """A number as people read it, never in scientific notation: `digits` significant
    digits, thousands grouped (1,250 not 1.25e+03; 0.969; 2.00), or a fixed number of
    `decimals`. `trim` drops trailing zeros: a budget as its author wrote it (0.05, 400).
    Every figure the plugin prints goes through here."""
    if not math.isfinite(value):
        return str(value)
    places = decimals_for(value, digits) if decimals is None else decimals
    text = f"{value:{',' if grouping else ''}.{places}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # -0.00 is 0.00
    return text


def interval_text(low: float | None, high: float | None, digits: int = SIGNIFICANT) -> str:
    """'[0.97, 2.00]': both ends with the decimals of the larger one, so that they line up;
    no thousands commas, which would read as the separator ('[1000, 1500]'); an end with no
    bound (too few runs to bound a percentile) is 'open'."""
    ends = [abs(end) for end in (low, high) if end is not None]
    places = decimals_for(max(ends), digits) if ends else 0

    def end(value: float | None) -> str:
        return "open" if value is None else number(value, decimals=places, grouping=False)

    return f"[{end(low)}, {end(high)}]"
