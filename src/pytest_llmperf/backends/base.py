"""The narrow interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_llmperf.backends.memory import PeakMemoryTracker
from pytest_llmperf.errors import GenerationError
from pytest_llmperf.prompts import Conversation, Prompt
from pytest_llmperf.results import ModelFigures, Run


@dataclass(frozen=True)
class Completion:
    """One prompt generated once: the answer, the prompt's token count and the timings."""

    text: str
    input_tokens: int
    run: Run
    token_source: str = "generate"  # or "server usage", "tokenizer": see results.TokenCount
    second_count: int | None = None  # the tokenizer's output count beside the server's usage


@dataclass(frozen=True)
class ChoiceLikelihoods:
    """One prompt's choices scored once, with no generation: each choice's log-likelihood as
    the prompt's continuation (the sum of its tokens' log-probabilities), the prompt's token
    count, and the timing of the forward pass (no output tokens, no first token)."""

    loglikelihoods: tuple[float, ...]
    input_tokens: int
    run: Run

    @property
    def best(self) -> int:
        """The likeliest choice's place (the first of equals)."""
        return max(range(len(self.loglikelihoods)), key=self.loglikelihoods.__getitem__)


def no_likelihoods(label: str) -> str:
    """Why a model that cannot score choices by their likelihood cannot, and what to do."""
    return (
        f"scorer='loglikelihood' needs a model run in this process (a checkpoint or hub id): "
        f"{label} is served by an endpoint, and pytest-llmperf does not read log-probabilities "
        "from servers. Pass the checkpoint itself (--llm-candidate=./ckpt), or let the model "
        "answer and score the letter it writes with scorer=scorers.choice()."
    )


class Backend(ABC):
    """A loaded model that generates one prompt at a time, timed."""

    @property
    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What identifies the model: name, type, size, dtype, revision; JSON-ready."""

    @property
    def label(self) -> str:
        """The model as a verdict names it, with its form when that matters, e.g.
        './adapter (LoRA adapter on ./base, unmerged, float32)'; the name by default."""
        return str(self.identity.get("name", ""))

    @property
    @abstractmethod
    def device(self) -> str:
        """Where it runs, e.g. 'cpu' or 'cuda:0'."""

    @property
    def serves_concurrently(self) -> bool:
        """Whether requests may be sent under load (concurrency, rate): servers only."""
        return False

    @property
    def scores_likelihoods(self) -> bool:
        """Whether `choice_likelihoods` can run (scorer="loglikelihood"): in process only."""
        return False

    @property
    def places_weights_afresh(self) -> bool:
        """Whether place_weights_afresh moves this model's weights (an in-process model)."""
        return False

    def place_weights_afresh(self) -> None:
        """Move the weights to freshly allocated memory. Two copies of one checkpoint ran
        several percent apart in one process, by where their weights happened to lie, and a
        fresh copy draws that anew (benchmarks/instance_bias.py): live pairs place both
        models afresh before every pass, so that the passes average it out."""
        return None

    def hardware(self) -> dict[str, Any]:
        """What the timings depend on, recorded in snapshots and compared before latency is."""
        from pytest_llmperf.backends import fingerprint

        return fingerprint.hardware(self.device)

    def close(self) -> None:
        """Release what the model holds open (connections); called once, at the end."""
        return None

    def environment(self) -> dict[str, Any]:
        """Hardware and software, as snapshots and reports record them."""
        from pytest_llmperf.backends import fingerprint

        return {"hardware": self.hardware(), "software": fingerprint.software()}

    @property
    @abstractmethod
    def weights_mb(self) -> float | None:
        """Memory held by the parameters and buffers; None when they are not ours to see."""

    def count_figures(
        self, prompt: Prompt, generation: Mapping[str, Any], seed: int
    ) -> ModelFigures | None:
        """Run one untimed request (a warm-up) and return the figures that do not depend on
        the machine: weights, KV cache per token, FLOPs counted over its forward passes.
        None, with nothing run, for a model whose insides are out of reach (a server)."""
        return None

    @abstractmethod
    def input_token_counts(self, prompts: Sequence[Prompt], max_new_tokens: int) -> list[int]:
        """Token count of each prompt (a conversation's with its chat template's tokens);
        raises GenerationError when one cannot be generated."""

    def rendered(self, prompt: Prompt) -> str | None:
        """The text the model is given for `prompt`: a conversation rendered by the model's
        chat template; None when that cannot be told here (a server's own template)."""
        return prompt if isinstance(prompt, str) else None

    @abstractmethod
    def complete(self, prompt: Prompt, generation: Mapping[str, Any], seed: int) -> Completion:
        """Generate for one prompt with the given settings and time it."""

    def complete_batch(
        self, prompts: Sequence[Prompt], generation: Mapping[str, Any], seed: int
    ) -> list[Completion]:
        """Generate for several prompts at once, as one batch; each completion timed until
        its own last token. Only in-process models batch."""
        raise GenerationError(
            "batch_size needs an in-process model: a served model batches on the server; "
            "send its requests under load instead, e.g. generate(prompts, concurrency=8)."
        )

    def choice_likelihoods(self, prompt: Prompt, choices: Sequence[str]) -> ChoiceLikelihoods:
        """Score each choice as the prompt's continuation in one timed forward pass, without
        generating. Only in-process models can (`scores_likelihoods`)."""
        raise GenerationError(no_likelihoods(self.label))

    @abstractmethod
    def memory_tracker(self) -> PeakMemoryTracker:
        """A tracker for this backend's device."""


def render_conversation(tokenizer: Any, conversation: Conversation, model: str) -> str:
    """`conversation` through the tokenizer's chat template, ended with the generation
    prompt (the assistant's turn). A template that fails (a syntax error, its own
    raise_exception) is a GenerationError naming the model and the problem."""
    from jinja2 import TemplateError

    try:
        rendered = tokenizer.apply_chat_template(
            conversation.as_messages(), add_generation_prompt=True, tokenize=False
        )
    except TemplateError as error:
        line = f" (line {error.lineno})" if getattr(error, "lineno", None) else ""
        raise GenerationError(
            f"the chat template of {model} failed on a conversation{line}: "
            f"{type(error).__name__}: {error}. Fix the template (the chat_template.jinja file "
            "in the checkpoint directory, or the 'chat_template' setting of "
            "tokenizer_config.json), or pass raw text prompts."
        ) from None
    return str(rendered)
