"""Library progress bars kept out of test output while a model loads.

transformers draws a "Loading weights" bar (and the hub its download bars) on stderr each
time a model loads; pytest captures it into the report of whichever test loaded the model,
where it buries the verdict. The bars are switched off for the load only, and the user's
own setting is put back after it: nothing is changed at import, nothing for their code.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def library_progress_bars_off() -> Iterator[None]:
    """transformers' and huggingface_hub's progress bars off inside, as they were after."""
    try:
        import huggingface_hub.utils as hub
        from transformers.utils import logging as transformers_logging
    except ImportError:  # pragma: no cover - both come with transformers, a dependency
        yield
        return
    transformers_on = transformers_logging.is_progress_bar_enabled()
    hub_off = hub.are_progress_bars_disabled()
    transformers_logging.disable_progress_bar()  # the hub's bars too
    try:
        yield
    finally:
        if transformers_on:
            transformers_logging.enable_progress_bar()  # the hub's bars too
        if hub_off:
            hub.disable_progress_bars()
        elif not transformers_on:
            hub.enable_progress_bars()
