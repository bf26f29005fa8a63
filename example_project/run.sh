#!/usr/bin/env bash
# The example end to end: build checkpoints, record the baseline, then one pytest run judges
# every candidate against it and ends with the tool's recommendation of which to ship.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/../scripts/setup.sh" || exit 1
python="$here/../.venv/bin/python"
cd "$here"
echo "== building checkpoints (offline, tiny GPT-2s; kept when already built)"
"$python" build_checkpoints.py checkpoints || exit 1
echo
echo "== recording the baseline's snapshots in .llmperf/"
"$python" -m pytest -q -p no:cacheprovider --llm-baseline=checkpoints/baseline --llm-update || exit 1

candidates=()
for candidate in short reseed verbose large large-int8; do
  if [ -f "checkpoints/$candidate/config.json" ]; then
    candidates+=("--llm-candidate=checkpoints/$candidate")
  fi
done
echo
echo "== judging every candidate against the snapshots, in one run"
# What a CI job keeps: a JSON report, the Markdown for the pull request, and plots; the
# session's last lines rank the candidates and recommend one.
"$python" -m pytest -q -p no:cacheprovider -rs "${candidates[@]}" \
  --llm-report=reports/candidates.json --llm-markdown=reports/candidates.md \
  --llm-plots=reports/plots
status=$?
echo
echo "== reports for the pull request: reports/candidates.md, .json and plots/index.html"
echo "   (pytest exit $status: non-zero as some candidate is over budget; the ranking says"
echo "   which one passes every limit)"
