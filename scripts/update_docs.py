"""Write the options table of docs/configuration.md from the option table in the code.

    .venv/bin/python scripts/update_docs.py [--check]

The table lies between the lines `<!-- options:start -->` and `<!-- options:end -->`;
--check exits 1 (writing nothing) when the file is not up to date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_llmperf.settings.options import markdown_table
from pytest_llmperf.settings.settings import OPTIONS

DOC = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
START, END = "<!-- options:start -->", "<!-- options:end -->"


def with_table(text: str) -> str:
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    return f"{before}{START}\n{markdown_table(OPTIONS)}\n{END}{after}"


def main(argv: list[str]) -> int:
    text = DOC.read_text(encoding="utf-8")
    updated = with_table(text)
    if "--check" in argv:
        return 0 if updated == text else 1
    DOC.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
