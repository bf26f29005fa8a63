"""pytest-llmperf: judge a fine-tuned LLM checkpoint against its baseline in a pytest run."""

from pytest_llmperf.results import GenerationResult, PromptSample, Run

__all__ = ["GenerationResult", "PromptSample", "Run"]
__version__ = "0.1.0"
