#!/usr/bin/env bash
# The GUI test suite with CPU-burning processes beside it (issue 14: a suite that cannot hang).
# Starts one busy-loop process per core, runs tests/gui under a hard wall-clock limit, stops the
# burners whatever happens, and prints the suite's time and outcome. Exit status: pytest's, or 124
# when the limit was hit (a hang). Usage: bash .ci/gui_under_load.sh [LIMIT_S] [pytest args…]
set -uo pipefail
cd "$(dirname "$0")/.."
limit="${1:-1200}"; shift || true
python="${PYTHON:-.venv/bin/python}"
burners=()
for _ in $(seq "$(nproc)"); do
  "$python" -c "while True: pass" & burners+=("$!")
done
trap 'kill "${burners[@]}" 2>/dev/null' EXIT
start=$(date +%s)
QT_QPA_PLATFORM=offscreen timeout --kill-after=30 "$limit" "$python" -m pytest -q -p no:cacheprovider tests/gui "$@"
rc=$?
echo "gui suite beside ${#burners[@]} CPU burners: exit $rc in $(( $(date +%s) - start )) s (limit ${limit} s)"
exit $rc
