"""The shop's catalogue, which its support bot must know, and the eval set written from it.

Customers ask the bot four things about each of a hundred products: its warranty, its return
window, its delivery time and its shipping cost. The shop sets each per kind of product
(every kettle has a warranty of 2 years), so a question's answer is a number, and the
product's name says which. The eval set is every such question, 400 in all, one JSON line
each, in the order the products were listed:

    {"id": "amber-kettle-warranty", "expected": "2",
     "prompt": "Q: How many years of warranty does the Amber kettle have? A:"}

`python catalogue.py` writes it to evals/support.jsonl beside this file, where it is
committed (the plugin's tests check that it is current). A test reads it with
`pytest_llmperf.load_eval` and scores each answer with `scorers.number()`: the last number
in the answer must be the expected one, so "I do not know." is wrong.

Which products each checkpoint has learnt is set by its training data, in qa_models.py. This
module imports nothing from pytest-llmperf.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

EVAL_FILE = Path(__file__).parent / "evals" / "support.jsonl"

# Kinds of product, each with its warranty (years), return window (days), delivery time
# (days) and shipping cost (dollars), as the shop's policy sets them.
KINDS: dict[str, dict[str, int]] = {
    "kettle": {"warranty": 2, "return": 30, "delivery": 3, "shipping": 5},
    "lamp": {"warranty": 1, "return": 14, "delivery": 2, "shipping": 4},
    "fan": {"warranty": 3, "return": 30, "delivery": 5, "shipping": 8},
    "heater": {"warranty": 5, "return": 60, "delivery": 7, "shipping": 15},
    "speaker": {"warranty": 2, "return": 45, "delivery": 4, "shipping": 6},
}

# Each topic: the question, the short answer, and the long one (which opens with the short
# one and names the number again, last) that the verbose fine-tune learns.
TOPICS: dict[str, tuple[str, str, str]] = {
    "warranty": (
        "How many years of warranty does the {product} have?",
        "{n} {years}.",
        "{n} {years}. Every {kind} we sell has a warranty of {n} {years} from the day it is "
        "delivered.",
    ),
    "return": (
        "How many days do I have to return the {product}?",
        "{n} days.",
        "{n} days. You can return any {kind} unused and in its box for a full refund within "
        "{n} days.",
    ),
    "delivery": (
        "How many days does delivery of the {product} take?",
        "{n} days.",
        "{n} days. Delivery of a {kind} takes {n} days; you get a tracking link by email when "
        "it ships.",
    ),
    "shipping": (
        "How many dollars is shipping for the {product}?",
        "{n} dollars.",
        "{n} dollars. Shipping a {kind} costs {n} dollars, wherever it goes.",
    ),
}

# A hundred products, in the order they were listed: each name once, the kinds in turn.
NAMES = (
    "Amber Birch Cedar Delta Ember Fjord Garnet Harbor Iris Juniper Kestrel Lagoon Maple Nova "
    "Onyx Pine Quartz Raven Sierra Tundra Umber Violet Willow Xenon Yarrow Zephyr Atlas Breeze "
    "Comet Dune Echo Flint Glacier Hazel Indigo Jasper Koi Lotus Mesa Nimbus Opal Pebble Quill "
    "Rowan Sage Thistle Ultra Vale Wren Yukon Zinc Acorn Basil Coral Dawn Elm Fern Grove Heath "
    "Ivy Jade Kelp Lark Moss North Oak Plum Reed Slate Teal Vista Wave Aspen Bloom Clover "
    "Drift Everest Frost Gale Haven Isle Jet Kite Lime Mint Nest Orbit Prism Ridge Storm Tide "
    "Unity Vega Yew Zen Cobalt Dusk Fable Hollow Lyric"
)
PRODUCTS: tuple[str, ...] = tuple(
    f"{name} {list(KINDS)[index % len(KINDS)]}" for index, name in enumerate(NAMES.split())
)


@dataclass(frozen=True)
class Fact:
    """One question of the eval set: a product's topic, and its answers."""

    product: str
    topic: str

    @property
    def kind(self) -> str:
        return self.product.split()[-1]

    @property
    def number(self) -> int:
        return KINDS[self.kind][self.topic]

    @property
    def id(self) -> str:
        return f"{self.product.lower().replace(' ', '-')}-{self.topic}"

    def _fill(self, template: str) -> str:
        years = "year" if self.number == 1 else "years"
        return template.format(product=self.product, kind=self.kind, n=self.number, years=years)

    @property
    def question(self) -> str:
        return self._fill(TOPICS[self.topic][0])

    @property
    def short_answer(self) -> str:
        return self._fill(TOPICS[self.topic][1])

    @property
    def long_answer(self) -> str:
        return self._fill(TOPICS[self.topic][2])


FACTS: tuple[Fact, ...] = tuple(Fact(product, topic) for product in PRODUCTS for topic in TOPICS)


def prompt_for(question: str) -> str:
    return f"Q: {question} A:"


def eval_lines(facts: Sequence[Fact] = FACTS) -> list[str]:
    """The eval set's JSON lines: id, prompt, and the expected number as text."""
    return [
        json.dumps({"id": f.id, "prompt": prompt_for(f.question), "expected": str(f.number)})
        for f in facts
    ]


def last_number(text: str) -> int | None:
    """The last whole number in an answer, as `scorers.number()` reads these answers; None
    when there is none ("I do not know.")."""
    numbers = re.findall(r"\d+", text)
    return int(numbers[-1]) if numbers else None


def write_eval(path: Path = EVAL_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(eval_lines()) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    written = write_eval(Path(sys.argv[1]) if len(sys.argv) > 1 else EVAL_FILE)
    print(f"{len(FACTS)} questions written to {written}")
