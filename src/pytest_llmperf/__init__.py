"""pytest-llmperf: judge a fine-tuned LLM checkpoint against its baseline in a pytest run."""

from pytest_llmperf.evalsets import EvalItem, EvalSet, load_eval
from pytest_llmperf.results import GenerationResult, PromptSample, Run

__all__ = ["EvalItem", "EvalSet", "GenerationResult", "PromptSample", "Run", "load_eval"]
__version__ = "0.1.0"
