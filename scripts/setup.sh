#!/usr/bin/env bash
# Create .venv (if missing) and install pytest-llmperf with its test extras into it.
# torch==2.13.0 goes first: a plain `torch` requirement would pull a multi-GB CUDA build.
# An install is skipped when .venv already holds one made from this pyproject.toml and this
# script (a stamp of their hash), so the edit-test loop does not wait for pip.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=".venv/.llmperf-installed-$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ -f "$stamp" ]; then
  exit 0
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
rm -f .venv/.llmperf-installed-*
touch "$stamp"
