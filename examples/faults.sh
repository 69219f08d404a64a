#!/usr/bin/env bash
# Fault injection: the simulator breaks its own feed on purpose (--faults) and
# mdc-validate turns every fault into integrity events and rejects, read here with jq.
#
# Usage: examples/faults.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate jq
enter_workdir "$@"
rm -f rejects.jsonl

echo "== mdc-capture sim SPY ... --faults all --fault-rate 0.002 | mdc-validate --rejects rejects.jsonl"
mdc-capture sim SPY --seed 7 --start 2026-01-05T14:30:00Z --rate max --max-events 10000 --faults all --fault-rate 0.002 \
    | mdc-validate --rejects rejects.jsonl > validated.ndjson 2> summary.txt
cat summary.txt

echo
echo "== integrity events, by kind"
jq -r 'select(.type == "integrity") | .kind' validated.ndjson | sort | uniq -c

echo
echo "== the first of each kind"
jq -c -s 'map(select(.type == "integrity")) | group_by(.kind)[] | first | {kind, expected, received, description}' validated.ndjson

echo
echo "== rejected lines, by rule"
jq -r '.reasons[].rule' rejects.jsonl | sort | uniq -c | sort -rn

echo
echo "== one fault at a time: --faults crossed"
mdc-capture sim SPY --seed 7 --start 2026-01-05T14:30:00Z --rate max --max-events 5000 --faults crossed \
    | mdc-validate -q | jq -r 'select(.type == "integrity") | .kind' | sort | uniq -c
