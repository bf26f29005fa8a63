#!/usr/bin/env bash
# The test suite: unit tests and end-to-end pytester runs on tiny checkpoints built on the spot,
# as two pytest-xdist workers (LLMPERF_TEST_WORKERS=N for another count, 0 for one process),
# each test file on one worker so that its module fixtures (a model server, the example's
# checkpoints) start once. Arguments go to pytest:
#
#     bash scripts/test.sh                 # everything (about 5 minutes on 2 cores)
#     bash scripts/test.sh tests/unit      # the fast lane: no end-to-end run (under a minute)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
workers="${LLMPERF_TEST_WORKERS:-2}"
.venv/bin/python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
