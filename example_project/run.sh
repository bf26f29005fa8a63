#!/usr/bin/env bash
# The example end to end: build checkpoints, record the baseline, judge each candidate.
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

declare -A verdict
candidates=(verbose large large-int8)
for candidate in "${candidates[@]}"; do
  echo
  if [ ! -f "checkpoints/$candidate/config.json" ]; then
    verdict[$candidate]="not built (see above)"
    continue
  fi
  echo "== judging candidate '$candidate' against the snapshots"
  log="$(mktemp)"
  # What a CI job keeps: a JSON report, the Markdown for the pull request, and plots.
  "$python" -m pytest -q -p no:cacheprovider -rs --llm-candidate="checkpoints/$candidate" \
    --llm-report="reports/$candidate.json" --llm-markdown="reports/$candidate.md" \
    --llm-plots="reports/$candidate-plots" | tee "$log"
  status=${PIPESTATUS[0]}
  failed=$(grep -oE "^  tests/\S+\s+\S+\s+[a-z_]+\s.*FAIL" "$log" | awk '{print $3}' | sort -u | paste -sd, -)
  if [ "$status" -eq 0 ]; then
    verdict[$candidate]="within budget: ship it"
  elif [ -n "$failed" ]; then
    verdict[$candidate]="over budget on ${failed//,/, }: do not ship"
  else
    verdict[$candidate]="not judged (pytest exit $status): see above"
  fi
  rm -f "$log"
done
echo
echo "== reports for the pull request: reports/<candidate>.md, .json and -plots/index.html"
echo
echo "== which candidate to ship"
for candidate in "${candidates[@]}"; do
  printf '  %-11s %s\n' "$candidate" "${verdict[$candidate]}"
done
echo
echo "== what each candidate saves and costs: weights and compute per token (the same on any"
echo "   machine) beside latency (this machine's), from reports/<candidate>.json"
"$python" - "${candidates[@]}" <<'PY'
import json, sys
from pathlib import Path
from pytest_llmperf.metrics import METRICS_BY_NAME as M

rows = [("model", "weights", "FLOPs/token", "latency p50")]
for name in sys.argv[1:]:
    path = Path("reports") / f"{name}.json"
    if not path.is_file():
        continue
    test = json.loads(path.read_text())["tests"][0]
    for role, label in (("baseline", "baseline"), ("candidate", name)):
        figures = test[role]["figures"] or {}
        if role == "baseline" and len(rows) > 1:
            continue
        rows.append((label, *(M[m].unit.format(figures.get(M[m].key)) for m in ("weights", "flops_per_token", "latency"))))
widths = [max(len(row[i]) for row in rows) for i in range(4)]
for row in rows:
    print(("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths))).rstrip())
PY
