"""The test models: tiny checkpoints built on the spot (tiny.py, chat.py).

They are built with the example project's tiny_gpt2.py, the one builder of tiny checkpoints
that the tests, the benchmarks and the example share. The example is a project of its own,
not a package, so its directory goes on the import path here.
"""

import sys
from pathlib import Path

EXAMPLE_DIR = str(Path(__file__).resolve().parents[2] / "example_project")
if EXAMPLE_DIR not in sys.path:
    sys.path.insert(0, EXAMPLE_DIR)
