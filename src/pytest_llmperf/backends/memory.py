"""Peak memory of one generate call, above the level at its start.

On CUDA: torch's allocated-bytes high-water mark on the model's device. On CPU: the
process's resident-set high-water mark (VmHWM), reset before the call through
/proc/self/clear_refs on Linux; elsewhere the lifetime ru_maxrss is the best there is.
"""

from __future__ import annotations

import re
import resource
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
_MB = 1024 * 1024


class PeakMemoryTracker(ABC):
    """Call `start()` before a generate call and `peak_increase_mb()` after it."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def peak_increase_mb(self) -> float | None: ...


class NotMeasured(PeakMemoryTracker):
    """For models served by another process or machine: their memory is not ours to read."""

    def start(self) -> None:
        pass

    def peak_increase_mb(self) -> None:
        return None


class CudaPeakMemory(PeakMemoryTracker):
    def __init__(self, device: Any) -> None:
        import torch

        self._cuda = torch.cuda
        self._device = device
        self._before = 0

    def start(self) -> None:
        self._cuda.synchronize(self._device)
        self._cuda.reset_peak_memory_stats(self._device)
        self._before = self._cuda.memory_allocated(self._device)

    def peak_increase_mb(self) -> float:
        self._cuda.synchronize(self._device)
        return max(0, self._cuda.max_memory_allocated(self._device) - self._before) / _MB


def _status_kb(field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", _STATUS.read_text(), re.MULTILINE)
    if match is None:
        raise OSError(f"{field} missing from {_STATUS}")
    return int(match.group(1))


class ProcessPeakMemory(PeakMemoryTracker):
    def __init__(self) -> None:
        self._resettable = sys.platform.startswith("linux") and self._try_reset()
        self._before_kb = 0

    @staticmethod
    def _try_reset() -> bool:
        try:
            _CLEAR_REFS.write_text("5")
            _status_kb("VmHWM")
        except OSError:
            return False
        return True

    def _high_water_kb(self) -> int:
        if self._resettable:
            return _status_kb("VmHWM")
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss // 1024 if sys.platform == "darwin" else maxrss  # bytes on macOS

    def start(self) -> None:
        if self._resettable:
            _CLEAR_REFS.write_text("5")
            self._before_kb = _status_kb("VmRSS")
        else:
            self._before_kb = self._high_water_kb()

    def peak_increase_mb(self) -> float:
        return max(0, self._high_water_kb() - self._before_kb) / 1024
