#!/usr/bin/env bash
# The test suite: unit tests and end-to-end pytester runs on tiny checkpoints built on the spot.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
