#!/usr/bin/env bash
# mdc-validate on a small hand-written file (data/mixed.ndjson): what passes,
# the integrity events the collectors add, the reject file read with jq, and
# --strict as a check that stops at the first bad line.
#
# Usage: examples/validate-rejects.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-validate jq
data="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/data/mixed.ndjson"
enter_workdir "$@"
rm -f rejects.jsonl # --rejects appends: start afresh

echo "== mdc-validate --rejects rejects.jsonl < data/mixed.ndjson > valid.ndjson"
mdc-validate --rejects rejects.jsonl < "$data" > valid.ndjson

echo
echo "== what passed, by type"
jq -r .type valid.ndjson | sort | uniq -c

echo
echo "== the integrity events (a gap, out of order, crossed market; 'stale' came in the file)"
jq -r 'select(.type == "integrity") | "\(.symbol) \(.kind): \(.description)"' valid.ndjson

echo
echo "== trades and their sides (seq 1, 2 and 9 came without one: inferred from the quotes)"
jq -r 'select(.type == "trade") | "seq \(.seq) at \(.ts): \(.side)"' valid.ndjson

echo
echo "== the reject file: line number and every rule the line breaks"
jq -r '"line \(.line_no): \([.reasons[].rule] | join(", "))"' rejects.jsonl

echo
echo "== one reject record in full"
jq . <(grep -m 1 '"line_no":15' rejects.jsonl)

echo
echo "== --strict stops at the first rejected line"
status=0
mdc-validate --strict -q < "$data" > strict.ndjson 2> strict.txt || status=$?
cat strict.txt
echo "exit status $status, after writing $(wc -l < strict.ndjson) lines"
