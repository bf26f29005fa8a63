"""Parsers of option values: each turns a command-line string or a TOML value into a typed
value, or raises ValueError with what it must be (the caller names the option)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pytest_llmperf.metrics import RANKED_FIGURES
from pytest_llmperf.text import shown_value

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def positive_int(value: Any) -> int:
    number = integer(value)
    if number < 1:
        raise ValueError("must be a whole number of at least 1")
    return number


def non_negative_int(value: Any) -> int:
    number = integer(value)
    if number < 0:
        raise ValueError("must be a whole number of at least 0")
    return number


def seed(value: Any) -> int:
    """A seed torch, numpy and servers all take: 0 to 2**63 - 1."""
    try:
        return non_negative_int(value)
    except TooLarge:
        raise ValueError(
            f"must be a whole number from 0 to {LARGEST_INT} (64-bit signed)"
        ) from None


LARGEST_INT = 2**63 - 1  # what torch, numpy and servers take; larger is never meant


class TooLarge(ValueError):
    """A whole number beyond 64 bits."""


def integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        # int() of thousands of digits raises: whatever has over 20 is out of range anyway.
        value = int(value) if len(value.strip()) <= 20 else LARGEST_INT + 1
    if not isinstance(value, int):
        raise ValueError("must be a whole number")
    if abs(value) > LARGEST_INT:
        raise TooLarge(f"must be a whole number from {-LARGEST_INT} to {LARGEST_INT}")
    return value


def price(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number of US dollars, not true/false")
    try:
        price = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError("must be a finite number of US dollars per 1M tokens") from None
    if not price >= 0 or price == float("inf"):
        raise ValueError("must be a finite number of at least 0")
    return price


def fraction(low: float, high: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError(f"must be a number between {low} and {high}, not true/false")
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"must be a number between {low} and {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be a number between {low} and {high}")
        return number

    return parse


def seconds(value: Any) -> float:
    seconds = fraction(0.0, 86400.0)(value)
    if seconds <= 0:
        raise ValueError("must be a number of seconds greater than 0")
    return seconds


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "yes", "false", "0", "no"):
        return value.lower() in ("true", "1", "yes")
    raise ValueError("must be true or false")


def choice(valid: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if isinstance(value, str) and value in valid:
            return value
        raise ValueError(f"must be one of: {', '.join(valid)}")

    return parse


def device(value: Any) -> str:
    if isinstance(value, str) and DEVICE_PATTERN.match(value):
        return value
    raise ValueError("must be auto, cpu, cuda, cuda:N or mps")


def directory(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("must be a directory path")


def file_path(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("must be a file path")


def model_name(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ValueError("must be a Hugging Face hub id or a checkpoint directory")


def conventional_env_name(name: str) -> bool:
    """STAGING_API_KEY: a name safe to print. Any other valid name (sk_live_abc123) may be
    the key itself given where its variable's name goes, and is masked, never printed."""
    return bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", name))


def env_name(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        return value
    raise ValueError(
        "must be the NAME of an environment variable (e.g. STAGING_API_KEY), not the key itself"
    )


def threads(value: Any) -> str | int:
    """'auto', or a whole number of CPU threads of at least 1."""
    if isinstance(value, str) and value.strip() == "auto":
        return "auto"
    try:
        return positive_int(value)
    except ValueError:
        raise ValueError("must be auto or a whole number of at least 1") from None


RANK_DIRECTIONS = ("max", "min")


def rank_rule(value: Any) -> tuple[tuple[str, str], ...]:
    """'max:accuracy,min:cost' (or a TOML list of such) as ((direction, figure), ...)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError("must be figures as max:FIGURE or min:FIGURE, e.g. max:accuracy,min:cost")
    rule = []
    for item in items:
        pair = tuple(item) if isinstance(item, (list, tuple)) and len(item) == 2 else None
        direction, _, figure = (pair[0], ":", pair[1]) if pair else str(item).strip().partition(":")
        if direction not in RANK_DIRECTIONS or figure not in RANKED_FIGURES:
            raise ValueError(
                f"has {shown_value(str(item).strip())}: each part must be max:FIGURE or "
                f"min:FIGURE with FIGURE one of {', '.join(RANKED_FIGURES)}"
            )
        rule.append((direction, figure))
    return tuple(rule)
