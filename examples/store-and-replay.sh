#!/usr/bin/env bash
# capture | validate | store, then mdc-replay with filters: the store's layout,
# symbol, type and time selections, time order, and compressed files.
#
# Usage: examples/store-and-replay.sh [DIR]
# Writes under DIR when given (DIR/store is the store), else under a temporary
# directory it removes. Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate mdc-store mdc-replay jq
enter_workdir "$@"
rm -rf store rejects.jsonl

# Two minutes of simulated market that start a minute before midnight UTC,
# so every symbol and type gets a file for each of two days.
echo "== mdc-capture sim SPY AAPL BRK/B ... | mdc-validate | mdc-store --root store"
mdc-capture sim SPY AAPL BRK/B --seed 11 --start 2026-01-05T23:59:00Z --rate max --max-events 12000 \
    | mdc-validate --rejects rejects.jsonl \
    | mdc-store --root store

echo
echo "== the store: ROOT/SYMBOL/TYPE/YYYY-MM-DD.jsonl (lines in each file)"
find store -type f -name '*.jsonl' | sort | while read -r file; do
    printf '%6d  %s\n' "$(wc -l < "$file")" "$file"
done

# head closes the pipe early; mdc-replay then ends quietly with exit status 0,
# which pipefail would otherwise turn into a failure of this script.
echo
echo "== mdc-replay store --symbol 'BRK/*' --type trade --from 2026-01-06 | head -n 3"
mdc-replay store --symbol 'BRK/*' --type trade --from 2026-01-06 | head -n 3

echo
echo "== mdc-replay store --symbol SPY,AAPL --type trade,quote --to 2026-01-06 (counted)"
mdc-replay store --symbol SPY,AAPL --type trade,quote --to 2026-01-06 | jq -r '"\(.symbol) \(.type)"' | sort | uniq -c

echo
echo "== mdc-replay store: every file merged in time order"
mdc-replay store > replayed.ndjson
jq -r .ts replayed.ndjson | sort -c
echo "$(wc -l < replayed.ndjson) events, in ts order, from $(head -n 1 replayed.ndjson | jq -r .ts) to $(tail -n 1 replayed.ndjson | jq -r .ts)"

echo
echo "== compressed files replay too"
gzip -c store/SPY/trade/2026-01-05.jsonl > spy-trades.jsonl.gz
files=(spy-trades.jsonl.gz)
if command -v zstd > /dev/null; then
    zstd -q -f store/AAPL/trade/2026-01-05.jsonl -o aapl-trades.jsonl.zst
    files+=(aapl-trades.jsonl.zst)
else
    echo "(zstd is not installed: no .jsonl.zst file this time)"
fi
echo "mdc-replay ${files[*]}"
mdc-replay "${files[@]}" | jq -r .symbol | sort | uniq -c
