"""The option table: every setting declared once, as a field of `Settings` with its
`[tool.llmperf]` key, command-line flag, parser, default and help.

From the table come the command-line options (plugin.py), the parsing of `[tool.llmperf]`
and of flags (settings.py), the options table in docs/configuration.md (written by
scripts/update_docs.py) and the JSON report's settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

METADATA_KEY = "llmperf_option"


@dataclass(frozen=True)
class Option:
    key: str  # in [tool.llmperf]
    flag: str  # on the command line
    parse: Callable[[Any], Any]  # raises ValueError saying what the value must be
    default: Any
    help: str
    switch: bool = False  # a flag without a value (store_true)
    in_report: bool = False  # shown in the JSON report's settings
    default_text: str | None = None  # the default as the docs say it, when not the value
    field: str = ""  # the Settings field, when not the key
    secret: bool = False  # a bad value may be a key given in the wrong place: never echoed

    @property
    def shown_default(self) -> str:
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return "none"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        return f"{self.default:g}" if isinstance(self.default, float) else str(self.default)


def option(
    default: Any,
    help: str,
    *,
    parse: Callable[[Any], Any],
    key: str = "",
    flag: str = "",
    switch: bool = False,
    in_report: bool = False,
    default_text: str | None = None,
    secret: bool = False,
) -> Any:
    """A `Settings` field that is an option; key and flag default to the field's name."""
    spec = {
        "parse": parse,
        "default": default,
        "help": help,
        "switch": switch,
        "in_report": in_report,
        "default_text": default_text,
        "secret": secret,
        "key": key,
        "flag": flag,
    }
    return dataclasses.field(default=default, metadata={METADATA_KEY: spec})


def options_of(settings_class: type) -> tuple[Option, ...]:
    """The table: one Option per field of `settings_class` declared with `option()`."""
    table = []
    for field in dataclasses.fields(settings_class):
        spec = field.metadata.get(METADATA_KEY)
        if spec is None:
            continue
        key = spec["key"] or field.name
        flag = spec["flag"] or "--llm-" + key.replace("_", "-")
        values = {name: spec[name] for name in ("parse", "default", "help", "switch")}
        extra = {name: spec[name] for name in ("in_report", "default_text", "secret")}
        table.append(Option(key, flag, **values, **extra, field=field.name))
    return tuple(table)


def markdown_table(table: tuple[Option, ...]) -> str:
    """The options as a Markdown table, for docs/configuration.md."""
    rows = ["| `[tool.llmperf]` key | command line | default | meaning |", "|---|---|---|---|"]
    for entry in table:
        if entry.default_text is not None:
            default = entry.default_text
        else:
            default = "none" if entry.default is None else f"`{entry.shown_default}`"
        help_text = entry.help.replace("|", "\\|")
        rows.append(f"| `{entry.key}` | `{entry.flag}` | {default} | {help_text} |")
    return "\n".join(rows)
