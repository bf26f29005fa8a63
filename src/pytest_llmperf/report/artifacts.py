"""Files written once at the end of the session: --llm-plots and --llm-benchmark-json.

Checked when the options are parsed (settings/outputs.py), so that a missing library or a path that
cannot be written is a usage error before any model runs. Written from report records
(records.py) on the xdist controller, or the only process, each file atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_llmperf.files import write_atomically
from pytest_llmperf.redaction import redacted
from pytest_llmperf.text import plural

if TYPE_CHECKING:
    from pytest_llmperf.settings.settings import Settings

Provenance = Callable[[], tuple[dict[str, Any], dict[str, Any]]]


def write_plots(
    directory: Path,
    records: Sequence[Mapping[str, Any]],
    settings: Settings,
    environment: Mapping[str, Any] | None,
) -> str:
    from pytest_llmperf.report.json_report import settings_record
    from pytest_llmperf.report.plots import render

    files = render(records, redacted(settings_record(settings)), redacted(environment))
    for name, data in files.items():
        write_atomically(directory / name, data)
    return f"plots written to {directory} ({plural(len(files), 'file')}, open index.html)"


def write_benchmark_json(
    settings: Settings, records: Sequence[Mapping[str, Any]], provenance: Provenance
) -> str:
    from pytest_llmperf.report.benchmark_export import benchmark_document, dumps, storage_path

    storage, target = settings.benchmark_storage, settings.benchmark_json
    assert target is not None
    machine_info, commit_info = provenance()
    document = benchmark_document(records, machine_info, commit_info)
    path = storage_path(target, commit_info) if storage else target
    write_atomically(path, dumps(document))
    compare = (
        f"pytest-benchmark --storage {target} compare"
        if storage
        else f"pytest-benchmark compare {path}"
    )
    count = plural(len(document["benchmarks"]), "benchmark")
    return f"pytest-benchmark JSON written to {path} ({count}); see it with: {compare}"


def write_outputs(
    settings: Settings,
    records: Sequence[Mapping[str, Any]],
    provenance: Provenance,
    environment: Mapping[str, Any] | None = None,
) -> list[tuple[str, bool]]:
    """Write what was asked for; (summary line, whether it failed) for each."""
    jobs: list[tuple[str, Callable[[], str]]] = []
    if settings.plots is not None:
        plots = settings.plots
        jobs.append(
            (f"plots to {plots}", lambda: write_plots(plots, records, settings, environment))
        )
    if settings.benchmark_json is not None:
        target = settings.benchmark_json
        jobs.append(
            (
                f"pytest-benchmark JSON to {target}",
                lambda: write_benchmark_json(settings, records, provenance),
            )
        )
    lines = []
    for what, job in jobs:
        try:
            lines.append((job(), False))
        except (OSError, ImportError) as error:
            lines.append((f"pytest-llmperf: could not write {what}: {error}", True))
    return lines
