"""The plots page opened in a real headless browser: it loads, and says what it must.

Runs where Debian's chromium is installed (CI installs it, see .ci/run); skipped elsewhere,
so the suite stays installable from PyPI alone.
"""

from __future__ import annotations

import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pytest_llmperf.files import write_atomically
from pytest_llmperf.report.plots import INDEX_FILE, render
from tests.unit.test_plots import judged_record

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs a headless browser: apt-get install chromium"
)


_BLOCKS = {"p", "br", "li", "ul", "td", "th", "tr", "table", "h1", "h2", "h3", "a", "img"}


class _Text(HTMLParser):
    """The text a reader sees (blocks apart, inline text together), and the page's images."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.images: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")
        if tag in ("style", "script", "title"):
            self._hidden += 1
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")
        if tag in ("style", "script", "title"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def chromium(tmp_path: Path, page: Path, *args: str) -> str:
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = [
        judged_record("t.py::test_within", 1.0, latency_ratio=3.0),
        judged_record("t.py::test_slow", 3.0, latency_ms=25.0, latency_ratio=1.5),
    ]
    settings = {"repeats": 2, "latency_statistic": "p95", "snapshot_dir": "/r/.llmperf"}
    environment = {"hardware": {"device_type": "cpu", "device_name": "Some CPU"}}
    folder = tmp_path_factory.mktemp("plots")
    for name, data in render(records, settings, environment).items():
        write_atomically(folder / name, data)
    return folder / INDEX_FILE


def test_the_page_opens_and_reads_as_it_should(page: Path, tmp_path: Path) -> None:
    dom = chromium(tmp_path, page, "--dump-dom")
    seen = _Text()
    seen.feed(dom)
    text = seen.text
    assert text.startswith("pytest-llmperf: 1 of 2 tests over budget")
    assert "Candidate: fake Baseline: --llm-baseline=base, run in alternating pairs" in text
    # The failing test first, its verdict with the value held against the budget.
    assert text.index("t.py::test_slow") < text.index("t.py::test_within")
    assert "latency_ratio 9.99 ms" in text and "FAIL 3." in text and "x [" in text
    assert "What to do" in text and "latency_ms, latency_ratio:" in text
    assert "Settings and environment" in text and "device_name Some CPU" in text
    assert len(seen.images) == 3
    assert all(src.startswith("data:image/png;base64,") for src in seen.images)


def test_a_full_page_screenshot_can_be_taken(page: Path, tmp_path: Path) -> None:
    shot = tmp_path / "page.png"
    chromium(tmp_path, page, "--window-size=1400,4000", f"--screenshot={shot}")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 50_000  # tables and images, not a blank page
