"""Build the example's checkpoints offline: a tiny question-answering baseline and five
candidates, each a trade-off between accuracy and latency or tokens, or a gain that may be
noise.

    python build_checkpoints.py [OUT_DIR] [--force]

baseline:   a tiny GPT-2 trained on short answers; it knows most of the answers, not all
            (26 of the 32 questions, 300 of the catalogue's 400).
short:      the baseline fine-tuned on the short answers to every question and to nine more
            products (336 of 400): more accurate, as short and as fast; the one to ship.
reseed:     the baseline fine-tuned again under another seed: four products won, two lost
            (308 of 400), a gain of 2 points that 400 questions cannot tell from noise.
verbose:    the baseline fine-tuned on long answers: more accurate, many more tokens.
large:      `short` grown deeper and wider, its new weights adding nothing: more accurate,
            as short, several times slower per request.
large-int8: `large` quantized to int8 with bitsandbytes (LLM.int8), the usual remedy for
            a slow model; needs the bitsandbytes package, skipped with a note without it.

OUT_DIR defaults to checkpoints/ beside this file; a checkpoint already there is kept unless
--force. Measure them with `python qa_models.py OUT_DIR`; qa_models.py, beside this file,
holds the questions, the scorer and how each checkpoint is trained; catalogue.py the eval
set's questions (evals/support.jsonl).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

from transformers.utils import logging as transformers_logging

from qa_models import CHECKPOINT_NAMES, build_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the example's tiny checkpoints.")
    parser.add_argument("out", nargs="?", type=Path, default=Path(__file__).parent / "checkpoints")
    parser.add_argument("--force", action="store_true", help="rebuild those that exist")
    args = parser.parse_args(argv)
    names = CHECKPOINT_NAMES
    missing = [
        pkg for pkg in ("bitsandbytes", "accelerate") if importlib.util.find_spec(pkg) is None
    ]
    if missing:
        print(f"large-int8: skipped, {' and '.join(missing)} not installed", file=sys.stderr)
        names = tuple(name for name in names if name != "large-int8")
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    started = time.perf_counter()

    def log(name: str, path: Path, what: str) -> None:
        print(f"{name:10} {path}  ({what}, {time.perf_counter() - started:.0f} s)", flush=True)

    build_all(args.out, names=names, force=args.force, log=log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
