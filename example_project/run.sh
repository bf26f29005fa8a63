#!/usr/bin/env bash
# The example end to end: build checkpoints, record the baseline, judge each candidate.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/../scripts/setup.sh" || exit 1
python="$here/../.venv/bin/python"
cd "$here"
if [ ! -f checkpoints/baseline/config.json ]; then
  echo "== building checkpoints (offline, tiny GPT-2s)"
  "$python" build_checkpoints.py checkpoints || exit 1
fi
echo "== recording baseline snapshots in .llmperf/"
"$python" -m pytest -q --llm-baseline=checkpoints/baseline --llm-update || exit 1

declare -A verdict
for candidate in copy verbose slow; do
  echo
  echo "== judging candidate '$candidate' against the snapshots"
  if "$python" -m pytest -q -p no:cacheprovider --llm-candidate="checkpoints/$candidate"; then
    verdict[$candidate]="within budget: ship it"
  else
    verdict[$candidate]="over budget: do not ship (see the verdicts above)"
  fi
done
echo
echo "== which candidate to ship"
for candidate in copy verbose slow; do
  printf '  %-8s %s\n' "$candidate" "${verdict[$candidate]}"
done
