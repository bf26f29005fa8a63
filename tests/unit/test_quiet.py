"""Library progress bars are off while a model loads, and the user's setting is back after."""

from __future__ import annotations

import huggingface_hub.utils as hub
import pytest
from transformers.utils import logging as transformers_logging

from pytest_llmperf.backends.quiet import library_progress_bars_off


def set_bars(transformers_on: bool, hub_on: bool) -> None:
    if transformers_on:
        transformers_logging.enable_progress_bar()
    else:
        transformers_logging.disable_progress_bar()
    if hub_on:
        hub.enable_progress_bars()
    else:
        hub.disable_progress_bars()


def bars() -> tuple[bool, bool]:
    return transformers_logging.is_progress_bar_enabled(), not hub.are_progress_bars_disabled()


@pytest.fixture
def restore_bars():
    before = bars()
    yield
    set_bars(*before)


@pytest.mark.parametrize("transformers_on", [True, False])
@pytest.mark.parametrize("hub_on", [True, False])
def test_bars_off_inside_and_as_they_were_after(restore_bars, transformers_on, hub_on) -> None:
    set_bars(transformers_on, hub_on)
    with library_progress_bars_off():
        assert bars() == (False, False)
    assert bars() == (transformers_on, hub_on)


def test_restored_when_the_load_fails(restore_bars) -> None:
    set_bars(True, True)
    with pytest.raises(OSError), library_progress_bars_off():
        raise OSError("no such checkpoint")
    assert bars() == (True, True)
