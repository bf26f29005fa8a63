"""The errors the plugin raises on bad input; each message names the problem and the fix."""

from pytest_llmperf.redaction import redact


class LlmPerfError(Exception):
    """Base class: a message meant for the user, shown without a traceback, with every
    known secret masked however it is printed."""

    def __str__(self) -> str:
        return redact(super().__str__())


class ConfigError(LlmPerfError):
    """A bad command-line option or `[tool.llmperf]` value."""


class ModelLoadError(LlmPerfError):
    """A model that could not be found or loaded."""


class GenerationError(LlmPerfError):
    """A generate call that cannot run as asked (empty prompts, context overflow, out of memory)."""


class BudgetError(LlmPerfError):
    """An `assert_within_budget` marker with an unknown limit or a nonsensical value."""


class SnapshotError(LlmPerfError):
    """A snapshot file that cannot be read or does not fit the test."""


class ModelUnavailableError(LlmPerfError):
    """A model in a form this machine cannot run (a quantization without its package or
    device): tests that need it are skipped with this message, not failed."""


class EvalSetError(LlmPerfError):
    """An eval set that cannot be read: the file, the line (or row) and the field at fault."""


class ScorerError(LlmPerfError):
    """A scorer that cannot be built as asked, returned something that is not a score, or
    ran past its time."""
