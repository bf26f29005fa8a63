"""Build the example's checkpoints offline: a tiny baseline and three candidates.

    python build_checkpoints.py [OUT_DIR]

baseline: a tiny GPT-2 trained on short answers.
copy:     the baseline saved again (a candidate that changes nothing).
verbose:  the baseline fine-tuned on long answers (more tokens, more cost).
slow:     the baseline made deeper and wider (same answers, more work per token).
"""

from __future__ import annotations

import sys
from pathlib import Path

from pytest_llmperf.testing.tiny_models import build_all


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "checkpoints"
    for name, path in build_all(out).items():
        print(f"{name:8} {path}")


if __name__ == "__main__":
    main()
