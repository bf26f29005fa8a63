"""The session's models by role, each loaded once on first use; a failed load is remembered,
so every test that needs the model fails fast with the same message.

With several candidates, the candidate role means the candidate of the test being run
(`use_candidate`); `release_candidates_but` lets only one candidate's model stay loaded."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pytest_llmperf.backends import Backend, load_backend
from pytest_llmperf.errors import LlmPerfError
from pytest_llmperf.results import GenerationResult, Pricing
from pytest_llmperf.settings.settings import ModelSpec, Settings

BASELINE, CANDIDATE = "baseline", "candidate"


@dataclass(frozen=True)
class PricedModel:
    """A loaded model and the prices of its spec: what prices every result it gives."""

    backend: Backend
    pricing: Pricing

    @classmethod
    def of(cls, backend: Backend, spec: ModelSpec) -> PricedModel:
        return cls(backend, spec.options.pricing)

    def priced(self, result: GenerationResult) -> GenerationResult:
        return replace(result, pricing=self.pricing)


class ModelPool:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loaded: dict[str, Backend | LlmPerfError] = {}
        self._candidate = settings.candidate

    @property
    def records_only(self) -> bool:
        """--llm-update with no candidate: the tests' calls run on the baseline and are saved."""
        return self.settings.update and self.settings.candidate is None

    def _role_of(self, role: str) -> str:
        """The role whose model answers `role`: with --llm-update alone, the baseline's."""
        return BASELINE if role == CANDIDATE and self.records_only else role

    def spec(self, role: str) -> ModelSpec | None:
        role = self._role_of(role)
        return self.settings.baseline if role == BASELINE else self._candidate

    def use_candidate(self, name: str | None) -> None:
        """The candidate role answers with the candidate of that name (None: the first)."""
        named = [spec for spec in self.settings.lineup if spec.candidate_name == name]
        self._candidate = named[0] if named else self.settings.candidate

    def candidate_name(self) -> str:
        return self._candidate.candidate_name if self._candidate is not None else ""

    def candidates(self) -> list[Backend]:
        """Every candidate's model, in the order given, each loaded once."""
        return [self._get(_candidate_key(spec), spec) for spec in self.settings.lineup]

    def release_candidates_but(self, name: str) -> None:
        """Close and forget every loaded candidate but `name`'s: one held in memory at a time."""
        for spec in self.settings.lineup:
            key = _candidate_key(spec)
            if spec.candidate_name != name and isinstance(self._loaded.get(key), Backend):
                self._loaded.pop(key).close()

    def name(self, role: str) -> str:
        spec = self.spec(role)
        return spec.name if spec is not None else ""

    def get(self, role: str) -> Backend:
        """The loaded model for a role, loaded on first use; a failed load fails fast after."""
        spec = self.spec(role)
        assert spec is not None, f"no model for {role}"
        key = BASELINE if self._role_of(role) == BASELINE else _candidate_key(spec)
        return self._get(key, spec)

    def _get(self, key: str, spec: ModelSpec) -> Backend:
        if key not in self._loaded:
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
        key = f"{spec.role}:{spec.base_dir / spec.name}:{spec.options.dtype}:{spec.adapter_mode}"
        return self._get(key, spec)

    def priced(self, role: str) -> PricedModel:
        """The role's model with its spec's prices (with --llm-update alone, the baseline's)."""
        spec = self.spec(role)
        assert spec is not None, f"no model for {role}"
        return PricedModel.of(self.get(role), spec)

    def served_on_one_side_only(self) -> bool:
        """One model behind an endpoint, the other in this process: timings are not alike."""
        served = [self.get(role).serves_concurrently for role in (BASELINE, CANDIDATE)]
        return served[0] != served[1]

    def environment(self) -> dict[str, Any] | None:
        """The machine and software the loaded models ran on; None when none was loaded."""
        candidates_first = sorted(self._loaded, key=lambda key: not key.startswith(CANDIDATE))
        for key in candidates_first:
            if isinstance(loaded := self._loaded[key], Backend):
                return loaded.environment()
        return None

    def close(self) -> None:
        """Close every loaded model's connections (endpoint models hold an HTTP pool)."""
        for loaded in self._loaded.values():
            if isinstance(loaded, Backend):
                loaded.close()


def _candidate_key(spec: ModelSpec) -> str:
    """A candidate's key among the loaded models (a spec built without a name: the role's)."""
    return f"{CANDIDATE}:{spec.candidate_name}" if spec.candidate_name else CANDIDATE
