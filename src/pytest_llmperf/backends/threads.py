"""CPU threads of in-process models.

With every core given to torch, one busy neighbour stalls each operation (threads wait for
each other): on a 2-core machine a GPT-2-class generate ran 3.3x slower beside one busy
process with 2 threads, and 1.03x slower with 1 (shared/MEASUREMENTS.md). So `auto` leaves
one core free on a CPU device and shares the rest among pytest-xdist workers. The count in
use is recorded with every snapshot (fingerprint.hardware's torch_threads): timings taken
with another count are not compared.
"""

from __future__ import annotations

import os
from collections.abc import Mapping


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask, as a container sets it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_for(setting: str | int, device_type: str, environ: Mapping[str, str]) -> int | None:
    """The thread count to set, or None to keep torch's own default (auto off the CPU)."""
    if setting != "auto":
        return int(setting)
    if device_type != "cpu":
        return None
    workers = max(1, int(environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1))
    return max(1, (usable_cores() - 1) // workers)


def apply_threads(setting: str | int, device_type: str) -> None:
    import torch

    count = threads_for(setting, device_type, os.environ)
    if count is not None and torch.get_num_threads() != count:
        torch.set_num_threads(count)
