"""What every plot of --llm-plots draws alike: the models' colours, the budget's colour, a
model's name in a legend, and a log axis labelled in plain numbers (matplotlib, imported on
first use)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_llmperf.text import EXACT, number

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ROLES = ("baseline", "candidate")
COLORS = {"baseline": "#4C72B0", "candidate": "#DD8452"}
SLA_COLOR = "#C44E52"


def model_label(name: str | None, limit: int = 40) -> str:
    """A model as a legend names it: a checkpoint path by its folder name, kept short."""
    name = name or ""
    if name and " " not in name and ("/" in name or "\\" in name):
        name = Path(name.rstrip("/\\")).name or name
    return name if len(name) <= limit else name[: limit - 1] + "…"


def log_ticks(axes: Axes) -> None:
    """A log x axis labelled 1, 2, 5, 10, 20... as plain numbers, not powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes.set_xscale("log")
    axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: number(value, EXACT, trim=True)))
    axes.xaxis.set_minor_formatter(NullFormatter())
