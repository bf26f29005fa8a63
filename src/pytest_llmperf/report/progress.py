"""Progress lines while verdicts are settled, shown with -v.

The lines are built by the loop that runs until decided (session/until_decided.py);
`live_printer` writes them the way pytest's live logging does, between the test's name and
its PASSED/FAILED word, without breaking either.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any


def live_printer(config: Any) -> Callable[[str], None] | None:
    """A writer of progress lines for `config`, or None: without -v, and on xdist workers
    (whose terminal nobody sees)."""
    if config.option.verbose <= 0 or hasattr(config, "workerinput"):
        return None

    def write(line: str) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        capture = config.pluginmanager.get_plugin("capturemanager")
        # As pytest's live logging: lift capturing, start on a fresh line; pytest writes the
        # test's name again before its PASSED/FAILED word.
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            reporter.ensure_newline()
            reporter.write_line(f"    {line}")

    return write
