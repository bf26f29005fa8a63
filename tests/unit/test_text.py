"""Numbers written for people: every figure the plugin prints goes through text.number."""

from __future__ import annotations

import pytest

from pytest_llmperf.limits import LIMIT_SPECS
from pytest_llmperf.metrics import DOLLARS, MS, RATIO, SHARE, TOKENS
from pytest_llmperf.text import interval_text, number


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1250.4, "1,250"),
        (123456.7, "123,457"),
        (196.54, "197"),
        (19.62, "19.6"),
        (2, "2.00"),
        (0.96912, "0.969"),
        (0.0000123, "0.0000123"),
        (9.996, "10.0"),  # rounding up adds a digit on the left, not a fourth one
        (0, "0.00"),
        (-0.0001, "-0.000100"),
        (-0.0000001, "-0.000000100"),
    ],
)
def test_three_significant_digits_never_scientific(value: float, text: str) -> None:
    assert number(value) == text
    assert "e" not in number(value * 1e12) and "e" not in number(value * 1e-9)


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.05, "0.05"), (400, "400"), (1.15, "1.15"), (2, "2"), (1e-9, "0.000000001")],
)
def test_a_number_someone_wrote_is_shown_as_written(value: float, text: str) -> None:
    assert number(value, 6, trim=True) == text


def test_a_rounded_negative_zero_has_no_sign() -> None:
    assert number(-0.0001, decimals=2) == "0.00"


def test_interval_ends_share_their_decimals_and_have_no_thousands_commas() -> None:
    assert interval_text(0.969, 2) == "[0.97, 2.00]"
    assert interval_text(1000, 1500) == "[1000, 1500]"
    assert interval_text(0.00012, 0.00034) == "[0.000120, 0.000340]"
    assert interval_text(12.34, None) == "[12.3, open]"  # too few runs to bound it above


def test_units_format_figures_and_budgets() -> None:
    assert MS.format(1250.4) == "1,250 ms"
    assert MS.format(400, exact=True) == "400 ms"
    assert TOKENS.format(12) == "12.0 tok"
    assert RATIO.format(1.3912) == "1.39x"
    assert RATIO.format(1.2, exact=True) == "1.2x"
    assert DOLLARS.format(1234.567) == "$1,234.57"
    assert DOLLARS.format(0.0000123) == "$0.0000123"
    assert DOLLARS.format(0.001, exact=True) == "$0.001"
    assert SHARE.format(0.75) == "0.750"
    assert SHARE.format(0.8, exact=True) == "0.8"


def test_what_was_held_against_a_budget() -> None:
    ratio, sla, drop = (LIMIT_SPECS[n] for n in ("latency_ratio", "latency_ms", "accuracy_drop"))
    assert ratio.observed_text(1.3912, (0.969, 2)) == "1.39x [0.97, 2.00]"
    assert ratio.observed_text(1.3912, None) == "1.39x"
    assert sla.observed_text(1250.4, (1000.2, 1500.9)) == "1,250 ms [1000, 1501]"
    assert sla.observed_text(1250.4, None) == ""
    assert drop.observed_text(0.1, None) == "drop 0.100"  # the exact comparison
    assert drop.observed_text(0.1, (0.02, 0.18)) == "drop 0.100 [0.020, 0.180]"
    assert ratio.observed_text(None, None) == ""
