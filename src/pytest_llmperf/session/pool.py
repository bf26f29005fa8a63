"""The session's models by role, each loaded once on first use; a failed load is remembered,
so every test that needs the model fails fast with the same message."""

from __future__ import annotations

from typing import Any

from pytest_llmperf.backends import Backend, load_backend
from pytest_llmperf.errors import LlmPerfError
from pytest_llmperf.results import Pricing
from pytest_llmperf.settings.settings import ModelSpec, Settings

BASELINE, CANDIDATE = "baseline", "candidate"


class ModelPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[str, Backend | LlmPerfError] = {}

    @property
    def records_only(self) -> bool:
        """--llm-update with no candidate: the tests' calls run on the baseline and are saved."""
        return self.settings.update and self.settings.candidate is None

    def _role_of(self, role: str) -> str:
        """The role whose model answers `role`: with --llm-update alone, the baseline's."""
        return BASELINE if role == CANDIDATE and self.records_only else role

    def spec(self, role: str) -> ModelSpec | None:
        role = self._role_of(role)
        return self.settings.baseline if role == BASELINE else self.settings.candidate

    def name(self, role: str) -> str:
        spec = self.spec(role)
        return spec.name if spec is not None else ""

    def get(self, role: str) -> Backend:
        """The loaded model for a role, loaded on first use; a failed load fails fast after."""
        key = self._role_of(role)
        if key not in self._loaded:
            spec = self.spec(key)
            assert spec is not None, f"no model for {key}"
            try:
                self._loaded[key] = load_backend(spec, self.settings)
            except LlmPerfError as error:
                self._loaded[key] = error
        loaded = self._loaded[key]
        if isinstance(loaded, LlmPerfError):
            raise loaded
        return loaded

    def load(self, spec: ModelSpec) -> Backend:
        """A model named elsewhere (a snapshot's baseline), loaded once per session."""
        key = f"{spec.role}:{spec.base_dir / spec.name}:{spec.dtype}:{spec.adapter_mode}"
        if key not in self._loaded:
            try:
                self._loaded[key] = load_backend(spec, self.settings)
            except LlmPerfError as error:
                self._loaded[key] = error
        loaded = self._loaded[key]
        if isinstance(loaded, LlmPerfError):
            raise loaded
        return loaded

    def pricing(self, role: str) -> Pricing:
        """The role's prices; with --llm-update alone the candidate's calls run on the baseline."""
        return self.settings.pricing(self._role_of(role))

    def served_on_one_side_only(self) -> bool:
        """One model behind an endpoint, the other in this process: timings are not alike."""
        served = [self.get(role).serves_concurrently for role in (BASELINE, CANDIDATE)]
        return served[0] != served[1]

    def environment(self) -> dict[str, Any] | None:
        """The machine and software the loaded models ran on; None when none was loaded."""
        for role in (CANDIDATE, BASELINE):
            loaded = self._loaded.get(role)
            if isinstance(loaded, Backend):
                return loaded.environment()
        return None

    def close(self) -> None:
        """Close every loaded model's connections (endpoint models hold an HTTP pool)."""
        for loaded in self._loaded.values():
            if isinstance(loaded, Backend):
                loaded.close()
