#!/usr/bin/env bash
# mdc-capture and its built-in simulator: what providers are installed, a seeded
# capture that is the same on every run, and real-time pacing with --rate.
#
# Usage: examples/capture-sim.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture jq
enter_workdir "$@"

echo "== mdc-capture --list-providers"
mdc-capture --list-providers

# A seed and a start time make the simulated market reproducible, byte for byte.
seeded=(sim SPY BRK/B --seed 7 --start 2026-01-05T14:30:00Z --rate max --max-events 2000)

echo
echo "== mdc-capture ${seeded[*]}"
mdc-capture "${seeded[@]}" > first.ndjson
echo "events by type:"
jq -r .type first.ndjson | sort | uniq -c
echo "the first trade:"
grep -m 1 '"type":"trade"' first.ndjson

echo
echo "== the same command again"
mdc-capture "${seeded[@]}" > second.ndjson
cmp first.ndjson second.ndjson
echo "identical: $(wc -l < first.ndjson) lines, the same bytes on every run"
mdc-capture sim SPY BRK/B --seed 8 --start 2026-01-05T14:30:00Z --rate max --max-events 2000 > other.ndjson
if cmp -s first.ndjson other.ndjson; then
    echo "another seed gave the same market (unexpected)"
    exit 1
fi
echo "another seed (--seed 8): a different market"

echo
echo "== paced in real time: --rate 500 --duration 1"
count=$(mdc-capture sim SPY --rate 500 --duration 1 | wc -l)
echo "$count events in one second (about 500)"
