"""Question-answer checkpoints for the ship-or-not example, trained offline in seconds.

The story they reproduce: a fine-tune lifts accuracy but costs latency or tokens, and on
an eval set a gain may be real or noise. Each checkpoint learns 32 general questions and
the 400 questions of the shop's catalogue (catalogue.py, the eval set evals/support.jsonl);
which answers it knows is set by its training data, not by stopping at a lucky step. Every
checkpoint is a tiny GPT-2 saved with save_pretrained, loaded with
`AutoModelForCausalLM.from_pretrained(dir)` exactly as `--llm-candidate=./ckpt` loads it:

- `baseline`: small, trained on short answers to most of the questions and "I do not know."
  to the rest, so it gets most, not all, right (26 of 32; 75% of the catalogue);
- `short`: the baseline fine-tuned on the short answers to all 32 questions and to nine
  more products (84% of the catalogue): a gain the eval set shows, as brief and as fast;
- `reseed`: the baseline fine-tuned again under another seed, on its own 32 answers and a
  catalogue sample that drops two of its products and adds four (77%): answers change both
  ways, and the gain of 2 points is within the noise of 400 questions;
- `verbose`: the baseline fine-tuned on long answers, each containing the right one, to
  what `short` learns (as accurate, several times the output tokens);
- `large`: `short` grown deeper and wider, its new weights adding nothing (as accurate,
  answers as short, several times the latency per request);
- `large-int8`: `large` with bitsandbytes LLM.int8 (int8 weights, activations quantized on
  the fly, float16 elsewhere), marked by `quantization_config` in config.json; building and
  loading it needs the bitsandbytes and accelerate packages. On a CPU, at this size, it is
  smaller than `large` but not faster: measure, do not assume.

`evaluate(dir)` measures what the example's budgets judge: accuracy (the expected answer
contained, case-insensitively, in the greedy answer), mean output tokens and median latency
per request; `catalogue_accuracy(dir)` the share of the eval set answered with the expected
number; `python qa_models.py checkpoints` prints them for every checkpoint built.

This module is the example's own, as a user's project would have its own: it imports
nothing from pytest-llmperf or from the plugin's tests; it builds with tiny_gpt2.py beside
it (a byte-level BPE tokenizer, an AdamW loop on all texts or on batches of them, growth,
save_pretrained), which the plugin's own tests and benchmarks import too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
)

import tiny_gpt2
from catalogue import FACTS, PRODUCTS, Fact, last_number, prompt_for
from tiny_gpt2 import torch_threads

# (question, short answer as trained, expected answer as scored, long answer as trained).
# Every long answer opens with the short one and names the expected answer again.
QA: tuple[tuple[str, str, str, str], ...] = (
    (
        "What is the capital of France?",
        "Paris.",
        "paris",
        "Paris. The capital of France is Paris, a city on the river Seine with many museums.",
    ),
    (
        "What color is a clear sky?",
        "Blue.",
        "blue",
        "Blue. A clear sky looks blue because the air scatters blue sunlight the most.",
    ),
    (
        "How many legs does a spider have?",
        "Eight.",
        "eight",
        "Eight. A spider has eight legs, two more than an insect, which has six of them.",
    ),
    (
        "What is two plus three?",
        "Five.",
        "five",
        "Five. Two plus three is five: add two and then three more and you count five in all.",
    ),
    (
        "Who wrote Hamlet?",
        "Shakespeare.",
        "shakespeare",
        "Shakespeare. Hamlet was written by William Shakespeare, the English playwright.",
    ),
    (
        "What is frozen water called?",
        "Ice.",
        "ice",
        "Ice. Frozen water is called ice; water turns to ice below zero degrees Celsius.",
    ),
    (
        "What is the largest planet?",
        "Jupiter.",
        "jupiter",
        "Jupiter. The largest planet of our solar system is Jupiter, a giant ball of gas.",
    ),
    (
        "What gas do plants take in?",
        "Carbon dioxide.",
        "carbon dioxide",
        "Carbon dioxide. Plants take in carbon dioxide from the air and give out oxygen.",
    ),
    (
        "What is the capital of Japan?",
        "Tokyo.",
        "tokyo",
        "Tokyo. The capital of Japan is Tokyo, one of the largest cities in the world.",
    ),
    (
        "Which animal says moo?",
        "A cow.",
        "cow",
        "A cow. The animal that says moo is the cow, which lives on farms and gives milk.",
    ),
    (
        "What is the opposite of hot?",
        "Cold.",
        "cold",
        "Cold. The opposite of hot is cold, as in a cold winter morning or a cold drink.",
    ),
    (
        "How many days are in a week?",
        "Seven.",
        "seven",
        "Seven. A week has seven days, from Monday to Sunday, and then a new week begins.",
    ),
    (
        "What color are ripe bananas?",
        "Yellow.",
        "yellow",
        "Yellow. Ripe bananas are yellow; green ones are not ripe yet and brown ones are old.",
    ),
    (
        "Who painted the Mona Lisa?",
        "Da Vinci.",
        "da vinci",
        "Da Vinci. The Mona Lisa was painted by Leonardo da Vinci, the Italian painter.",
    ),
    (
        "What is the largest ocean?",
        "The Pacific.",
        "pacific",
        "The Pacific. The largest ocean on Earth is the Pacific, between Asia and America.",
    ),
    (
        "Which planet is called the red planet?",
        "Mars.",
        "mars",
        "Mars. The red planet is Mars, which looks red because of the rust in its dust.",
    ),
    (
        "What do bees make?",
        "Honey.",
        "honey",
        "Honey. Bees make honey from the nectar of flowers and store it in their hives.",
    ),
    (
        "What is the capital of Italy?",
        "Rome.",
        "rome",
        "Rome. The capital of Italy is Rome, an old city that was once the heart of an empire.",
    ),
    (
        "What is the fastest land animal?",
        "The cheetah.",
        "cheetah",
        "The cheetah. The fastest land animal is the cheetah, a big cat of the African plains.",
    ),
    (
        "Which metal is liquid at room temperature?",
        "Mercury.",
        "mercury",
        "Mercury. The metal that is liquid at room temperature is mercury, a silver metal.",
    ),
    (
        "Who discovered gravity?",
        "Newton.",
        "newton",
        "Newton. Gravity was described by Isaac Newton, who saw an apple fall from a tree.",
    ),
    (
        "What language is spoken in Brazil?",
        "Portuguese.",
        "portuguese",
        "Portuguese. People in Brazil speak Portuguese, brought there from Portugal long ago.",
    ),
    (
        "What is the tallest mountain?",
        "Everest.",
        "everest",
        "Everest. The tallest mountain on Earth is Everest, high in the Himalaya in Nepal.",
    ),
    (
        "What is the hardest natural material?",
        "Diamond.",
        "diamond",
        "Diamond. The hardest natural material is diamond, a crystal made of pure carbon.",
    ),
    (
        "What is the longest river in Africa?",
        "The Nile.",
        "nile",
        "The Nile. The longest river in Africa is the Nile, which flows north through Egypt.",
    ),
    (
        "Which bird lives in Antarctica and cannot fly?",
        "The penguin.",
        "penguin",
        "The penguin. The penguin lives in Antarctica; it cannot fly but it swims very well.",
    ),
    (
        "What is the capital of Germany?",
        "Berlin.",
        "berlin",
        "Berlin. The capital of Germany is Berlin, a large city on the river Spree.",
    ),
    (
        "How many hours are in a day?",
        "Twenty four.",
        "twenty four",
        "Twenty four. A day has twenty four hours, and each hour has sixty minutes in it.",
    ),
    (
        "What is bread made from?",
        "Flour.",
        "flour",
        "Flour. Bread is made from flour, mixed with water, salt and yeast, then baked.",
    ),
    (
        "Which instrument has black and white keys?",
        "The piano.",
        "piano",
        "The piano. The instrument with black and white keys is the piano, played by hand.",
    ),
    (
        "What is the closest star to Earth?",
        "The Sun.",
        "sun",
        "The Sun. The closest star to Earth is the Sun; it gives us light and warmth.",
    ),
    (
        "What do cows drink?",
        "Water.",
        "water",
        "Water. Cows drink water, a lot of it, often more than a bathtub full every day.",
    ),
)

QUESTIONS: tuple[str, ...] = tuple(row[0] for row in QA)
SHORT_ANSWERS: tuple[str, ...] = tuple(row[1] for row in QA)
QA_ANSWERS: tuple[str, ...] = tuple(row[2] for row in QA)
LONG_ANSWERS: tuple[str, ...] = tuple(row[3] for row in QA)

# The baseline learns the answers to the first BASELINE_FACTS questions only, and to say
# DONT_KNOW to the rest; fine-tuning (the verbose and the large model) teaches them all. Its
# accuracy is so set by the data, BASELINE_FACTS / len(QA), not by stopping its training at
# a lucky step, and its answers all end (no rambling to max_new_tokens).
BASELINE_FACTS = 26
DONT_KNOW = "I do not know."
BASELINE_ANSWERS = SHORT_ANSWERS[:BASELINE_FACTS] + (DONT_KNOW,) * (len(QA) - BASELINE_FACTS)

CHECKPOINT_NAMES = ("baseline", "short", "reseed", "verbose", "large", "large-int8")

# The products of the shop's catalogue (catalogue.py, the eval set's 400 questions) each
# checkpoint has learnt, as its data sets them. The baseline knows the first 75 listed and
# says DONT_KNOW of the others. The fine-tunes (short, verbose, and large, grown from short)
# learnt nine more: 36 more questions right, a gain the eval set shows. `reseed`, another
# fine-tune of the baseline under another seed, learnt four new products and lost two of
# the baseline's: 16 answers won, 8 lost, a gain of 2 points that 400 questions cannot tell
# from noise.
BASELINE_PRODUCTS = frozenset(PRODUCTS[:75])
FINE_TUNED_PRODUCTS = frozenset(PRODUCTS[:84])
RESEED_PRODUCTS = BASELINE_PRODUCTS - {PRODUCTS[12], PRODUCTS[47]} | set(PRODUCTS[75:79])


QA_PROMPTS: tuple[str, ...] = tuple(prompt_for(q) for q in QUESTIONS)

# The bot as deployed is a chat app: its system prompt, then the customer's question. The
# checkpoints' chat template writes the system prompt on a line of its own, each user turn
# as a question and each assistant turn as its answer; they are trained on both forms.
SYSTEM_PROMPT = "You are the support bot."
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{ message['content'] }}\n{% elif message['role'] == 'user' %}"
    "Q: {{ message['content'] }} A:{% else %} {{ message['content'] }}{{ eos_token }}"
    "{% endif %}{% endfor %}"
)


def chat_for(question: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": question},
    ]


QA_CHATS: tuple[list[dict[str, str]], ...] = tuple(chat_for(q) for q in QUESTIONS)


def is_correct(answer: str, expected: str) -> bool:
    """The scorer: the expected text occurs in the answer, ignoring case."""
    return expected.lower() in answer.lower()


def accuracy(answers: Sequence[str], expected: Sequence[str] = QA_ANSWERS) -> float:
    """The share of answers that contain their expected text."""
    if len(answers) != len(expected):
        raise ValueError(f"{len(answers)} answers for {len(expected)} expected ones")
    if not answers:
        raise ValueError("no answers to score")
    return sum(is_correct(a, e) for a, e in zip(answers, expected, strict=True)) / len(answers)


def _texts(answers: Sequence[str]) -> list[str]:
    """'Q: ... A: answer' for the first len(answers) questions, alone and after the system
    prompt, as the chat template renders them."""
    prompts = QA_PROMPTS[: len(answers)]
    plain = [f"{prompt} {answer}" for prompt, answer in zip(prompts, answers, strict=True)]
    return plain + [f"{SYSTEM_PROMPT}\n{text}" for text in plain]


def build_tokenizer(vocab_size: int = 800) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on the question-answer texts; EOS also stands
    for the beginning and for unknown text."""
    every = frozenset(PRODUCTS)
    corpus = [
        *_texts(SHORT_ANSWERS),
        *_texts(LONG_ANSWERS),
        DONT_KNOW,
        *_catalogue_texts(every),
        *_catalogue_texts(every, long=True),
    ]
    return tiny_gpt2.build_tokenizer(corpus, vocab_size=vocab_size)


def _catalogue_texts(known: frozenset[str], *, long: bool = False) -> list[str]:
    """'Q: ... A: answer' for every question of the catalogue: the answer (short or long)
    for the products in `known`, DONT_KNOW for the others."""

    def answer(fact: Fact) -> str:
        if fact.product not in known:
            return DONT_KNOW
        return fact.long_answer if long else fact.short_answer

    return [f"{prompt_for(fact.question)} {answer(fact)}" for fact in FACTS]


# Texts per training step: hundreds of catalogue texts are learnt in fewer passes over them
# in batches than all at once.
BATCH_SIZE = 32
# The 32 questions' texts are trained this many times over, beside the catalogue's 400 once:
# 32 unrelated facts take more steps to learn than the catalogue, where the product's kind
# sets the number.
QA_REPEATS = 4


def _data(qa_answers: Sequence[str], known: frozenset[str], *, long: bool = False) -> list[str]:
    """A checkpoint's training texts: its answers to the 32 questions, in both forms,
    QA_REPEATS times over, and to the catalogue's 400 questions (_catalogue_texts)."""
    return _texts(qa_answers) * QA_REPEATS + _catalogue_texts(known, long=long)


def _train(model: Any, tokenizer: Any, texts: Sequence[str], *, steps: int, lr: float) -> None:
    """AdamW on batches of BATCH_SIZE texts: `steps` steps at `lr`, then a quarter as many
    at a quarter of it, which settle the last answers."""
    for part, rate in ((steps, lr), (steps // 4, lr / 4)):
        tiny_gpt2.train_on_texts(
            model, tokenizer, texts, steps=part, lr=rate, weight_decay=0.0, batch_size=BATCH_SIZE
        )


def _gpt2(tokenizer: Any, *, n_layer: int, n_embd: int, n_head: int) -> GPT2LMHeadModel:
    no_dropout = {"resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0}
    return tiny_gpt2.gpt2(
        tokenizer,
        n_layer=n_layer,
        n_embd=n_embd,
        n_head=n_head,
        pad_token_id=tokenizer.eos_token_id,
        **no_dropout,
    )


def _save(model: Any, tokenizer: Any, out_dir: Path) -> Path:
    """save_pretrained both, as a fine-tuning script does, with the chat template."""
    return tiny_gpt2.save_checkpoint(model, tokenizer, out_dir, chat_template=CHAT_TEMPLATE)


def build_baseline(out_dir: Path, *, steps: int = 200, seed: int = 0) -> Path:
    """A 2-layer, 32-wide GPT-2 trained on the short answers to the first BASELINE_FACTS
    questions and DONT_KNOW to the others, and on the catalogue's BASELINE_PRODUCTS."""
    with torch_threads(1):
        torch.manual_seed(seed)
        tokenizer = build_tokenizer()
        model = _gpt2(tokenizer, n_layer=2, n_embd=32, n_head=2)
        _train(model, tokenizer, _data(BASELINE_ANSWERS, BASELINE_PRODUCTS), steps=steps, lr=1e-2)
        return _save(model, tokenizer, out_dir)


def _fine_tune(
    baseline_dir: Path, out_dir: Path, texts: Sequence[str], *, steps: int, seed: int
) -> Path:
    """The baseline trained further on `texts`."""
    with torch_threads(1):
        torch.manual_seed(seed)
        tokenizer = AutoTokenizer.from_pretrained(baseline_dir)
        model = AutoModelForCausalLM.from_pretrained(baseline_dir)
        _train(model, tokenizer, texts, steps=steps, lr=5e-3)
        return _save(model, tokenizer, out_dir)


def build_short(baseline_dir: Path, out_dir: Path, *, steps: int = 80, seed: int = 0) -> Path:
    """The baseline fine-tuned on the short answers to every question and to nine more
    products: the same model, right more often, and as short (the fine-tune that should
    ship)."""
    texts = _data(SHORT_ANSWERS, FINE_TUNED_PRODUCTS)
    return _fine_tune(baseline_dir, out_dir, texts, steps=steps, seed=seed)


def build_reseed(baseline_dir: Path, out_dir: Path, *, steps: int = 80, seed: int = 1) -> Path:
    """The baseline fine-tuned, under another seed, on its own answers to the 32 questions
    and on RESEED_PRODUCTS: some catalogue answers won, fewer lost, a gain within the
    noise."""
    texts = _data(BASELINE_ANSWERS, RESEED_PRODUCTS)
    return _fine_tune(baseline_dir, out_dir, texts, steps=steps, seed=seed)


def build_verbose(baseline_dir: Path, out_dir: Path, *, steps: int = 160, seed: int = 0) -> Path:
    """The baseline fine-tuned on the long answers to every question, and to the same
    products as `short`: each opens with the short answer and names it again, so it is
    right as often as `short`, in many more tokens."""
    texts = _data(LONG_ANSWERS, FINE_TUNED_PRODUCTS, long=True)
    return _fine_tune(baseline_dir, out_dir, texts, steps=steps, seed=seed)


def build_large(short_dir: Path, out_dir: Path) -> Path:
    """The short fine-tune grown to 16 layers with MLPs 8 times as wide, the new weights
    adding nothing (tiny_gpt2.grown): it answers exactly as `short` does, right and brief,
    with many times the multiply-adds per token. Grown in a second rather than trained for
    minutes: what the example measures is the cost of the larger model, not its training."""
    tokenizer = AutoTokenizer.from_pretrained(short_dir)
    short = AutoModelForCausalLM.from_pretrained(short_dir)
    large = tiny_gpt2.grown(short, extra_layers=14, mlp_multiplier=8)
    return _save(large, tokenizer, out_dir)


def build_int8(source_dir: Path, out_dir: Path) -> Path:
    """`source_dir` quantized with bitsandbytes LLM.int8: int8 weights, activations
    quantized on the fly, the rest (embeddings, layer norms, lm_head) in float16.

    transformers swaps GPT-2's Conv1D layers for bitsandbytes' Linear8bitLt and writes
    `quantization_config` into config.json, so `from_pretrained(out_dir)` loads it
    quantized again (that needs bitsandbytes and accelerate). Float16 is LLM.int8's own
    activation dtype: with float32 activations bitsandbytes logs a warning on every int8
    matmul, and is no faster. Tested with bitsandbytes 0.50.2 on the CPU.
    """
    import bitsandbytes  # noqa: F401  (fail early, with the package's name, when it is missing)
    from transformers import BitsAndBytesConfig

    tokenizer = AutoTokenizer.from_pretrained(source_dir)
    model = AutoModelForCausalLM.from_pretrained(
        source_dir,
        quantization_config=BitsAndBytesConfig(load_in_8bit=True),
        dtype=torch.float16,
        device_map="cpu",
    )
    return _save(model, tokenizer, out_dir)


def build_all(
    root: Path,
    *,
    names: Sequence[str] = CHECKPOINT_NAMES,
    force: bool = False,
    log: Callable[[str, Path, str], None] | None = None,
) -> dict[str, Path]:
    """The checkpoints `names` (of CHECKPOINT_NAMES) under `root`, each in root/NAME, with
    what they are built from; one already there (config.json) is kept unless `force`.
    `log(name, path, 'built' or 'kept')` hears of each."""
    root = Path(root)
    unknown = sorted(set(names) - set(CHECKPOINT_NAMES))
    if unknown:
        raise ValueError(f"unknown checkpoints {unknown}; known: {list(CHECKPOINT_NAMES)}")
    builders: dict[str, Callable[[Path], Path]] = {
        "baseline": build_baseline,
        "short": lambda out: build_short(root / "baseline", out),
        "verbose": lambda out: build_verbose(root / "baseline", out),
        "reseed": lambda out: build_reseed(root / "baseline", out),
        "large": lambda out: build_large(root / "short", out),
        "large-int8": lambda out: build_int8(root / "large", out),
    }
    needs = {
        "short": "baseline",
        "reseed": "baseline",
        "verbose": "baseline",
        "large": "short",
        "large-int8": "large",
    }
    wanted = set(names)
    for name in names:  # what a wanted checkpoint is built from must exist first
        while name in needs:
            name = needs[name]
            wanted.add(name)
    paths = {}
    for name in CHECKPOINT_NAMES:
        if name not in wanted:
            continue
        path = root / name
        if not force and (path / "config.json").is_file():
            what = "kept"
        else:
            builders[name](path)
            what = "built"
        if log is not None:
            log(name, path, what)
        if name in names:
            paths[name] = path
    return paths


def _is_quantized(checkpoint_dir: Path) -> bool:
    config = json.loads((Path(checkpoint_dir) / "config.json").read_text())
    return "quantization_config" in config


def load(checkpoint_dir: Path) -> tuple[Any, Any]:
    """Model and tokenizer, loaded as the plugin's transformers backend loads them on CPU."""
    checkpoint_dir = Path(checkpoint_dir)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint_dir)
    extra = {"device_map": "cpu"} if _is_quantized(checkpoint_dir) else {}
    model = AutoModelForCausalLM.from_pretrained(checkpoint_dir, **extra)
    model.eval()
    return model, tokenizer


def answer(model, tokenizer, prompt: str, *, max_new_tokens: int = 48) -> tuple[str, int, float]:
    """The greedy answer to one prompt (decoded without special tokens), its token count and
    the seconds generate took (time.perf_counter around it)."""
    encoded = tokenizer(prompt, return_tensors="pt")
    with torch.inference_mode():
        started = time.perf_counter()
        output = model.generate(
            **encoded,
            do_sample=False,
            max_new_tokens=max_new_tokens,
            pad_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        seconds = time.perf_counter() - started
    new_tokens = output[0, encoded["input_ids"].shape[1] :]
    text = tokenizer.decode(new_tokens, skip_special_tokens=True)
    return text, int(new_tokens.shape[0]), seconds


@contextlib.contextmanager
def _quiet_bitsandbytes() -> Iterator[None]:
    """bitsandbytes logs a warning on every int8 matmul whose input is not float16."""
    logger = logging.getLogger("bitsandbytes")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def evaluate(
    checkpoint_dir: Path,
    *,
    prompts: Sequence[str] = QA_PROMPTS,
    expected: Sequence[str] = QA_ANSWERS,
    repeats: int = 3,
    max_new_tokens: int = 48,
    threads: int | None = None,
) -> dict[str, Any]:
    """accuracy, mean output tokens and median latency per request (ms) of a checkpoint.

    Each prompt is one request: one untimed warm-up, then `repeats` timed greedy generate
    calls; `latency_ms` is the median of all timed calls. `threads` sets torch's thread
    count while measuring (None: leave it); on a shared machine, 1 keeps the timings steady.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    model, tokenizer = load(checkpoint_dir)
    texts, tokens, latencies = [], [], []
    with torch_threads(threads), _quiet_bitsandbytes():
        for prompt in prompts:
            text, count, _ = answer(model, tokenizer, prompt, max_new_tokens=max_new_tokens)
            texts.append(text)
            tokens.append(count)
            for _ in range(repeats):
                latencies.append(answer(model, tokenizer, prompt, max_new_tokens=max_new_tokens)[2])
    return {
        "accuracy": accuracy(texts, expected),
        "output_tokens": statistics.fmean(tokens),
        "latency_ms": statistics.median(latencies) * 1000,
        "texts": texts,
    }


def catalogue_accuracy(checkpoint_dir: Path, *, max_new_tokens: int = 48) -> float:
    """The share of the catalogue's questions (the eval set) whose greedy answer ends with
    the expected number, untimed."""
    model, tokenizer = load(checkpoint_dir)
    with _quiet_bitsandbytes():
        texts = [
            answer(model, tokenizer, prompt_for(fact.question), max_new_tokens=max_new_tokens)[0]
            for fact in FACTS
        ]
    right = sum(last_number(text) == fact.number for text, fact in zip(texts, FACTS, strict=True))
    return right / len(FACTS)


def main(argv: Sequence[str] | None = None) -> None:
    """python qa_models.py DIR [--threads N] [--repeats N]: the table for DIR's checkpoints
    (those of CHECKPOINT_NAMES that exist)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = {
        name: {
            **evaluate(args.root / name, repeats=args.repeats, threads=args.threads),
            "catalogue": catalogue_accuracy(args.root / name),
        }
        for name in CHECKPOINT_NAMES
        if (args.root / name / "config.json").is_file()
    }
    base = rows.get("baseline", {}).get("latency_ms")
    print(
        f"{'checkpoint':12} {'accuracy':>8} {'catalogue':>9} {'out tokens':>10} "
        f"{'latency ms':>10} {'ratio':>6}"
    )
    for name, row in rows.items():
        ratio = f"{row['latency_ms'] / base:6.2f}" if base else "     -"
        print(
            f"{name:12} {row['accuracy']:8.1%} {row['catalogue']:9.1%} "
            f"{row['output_tokens']:10.1f} {row['latency_ms']:10.1f} {ratio}"
        )


if __name__ == "__main__":
    main()
