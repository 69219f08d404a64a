#!/usr/bin/env bash
# capture | validate | store into a by-date, hourly, zstd-compressed store, then
# mdc-replay with filters: symbol, type and time selections, time order, pacing,
# and single compressed files.
#
# Usage: examples/store-and-replay.sh [DIR]
# Writes under DIR when given (DIR/store is the store), else under a temporary
# directory it removes. Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate mdc-store mdc-replay jq
enter_workdir "$@"
rm -rf store rejects.jsonl spy-trades.jsonl.gz paced.ndjson replayed.ndjson

# Two minutes of simulated market that start a minute before midnight UTC,
# so every symbol and type gets a file for each of two hours (and two days).
echo "== mdc-capture sim SPY AAPL BRK/B ... | mdc-validate | mdc-store --layout by-date --partition hourly --compress zstd"
mdc-capture sim SPY AAPL BRK/B --seed 11 --start 2026-01-05T23:59:00Z --rate max --max-events 12000 \
    | mdc-validate --rejects rejects.jsonl \
    | mdc-store --root store --layout by-date --partition hourly --compress zstd

echo
echo "== the store's settings (store/.mdc/store.json)"
jq -c . store/.mdc/store.json

# mdc-replay reads a single file whatever its layout; the files are ordinary
# zstd streams (one frame per batch), so zstdcat reads them too.
echo
echo "== the store: ROOT/HOUR/SYMBOL/TYPE.jsonl.zst (events in each file)"
find store -path store/.mdc -prune -o -type f -print | sort | while read -r file; do
    printf '%6d  %s\n' "$(mdc-replay "$file" | wc -l)" "$file"
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
echo "== mdc-replay store --from 2026-01-05T23:59:30Z --to 2026-01-06T00:00:30Z: one minute across the hour"
mdc-replay store --from 2026-01-05T23:59:30Z --to 2026-01-06T00:00:30Z \
    | jq -r '.ts[:13]' | sort | uniq -c

echo
echo "== mdc-replay store: every file merged in time order"
mdc-replay store > replayed.ndjson
jq -r .ts replayed.ndjson | sort -c
echo "$(wc -l < replayed.ndjson) events, in ts order, from $(head -n 1 replayed.ndjson | jq -r .ts) to $(tail -n 1 replayed.ndjson | jq -r .ts)"

# --speed 10 writes each event when it falls due, ten times as fast as it happened:
# ten seconds of trades take about one second (plus the start-up time).
echo
echo "== mdc-replay store --symbol SPY --type trade --to 2026-01-05T23:59:10Z --speed 10"
TIMEFORMAT='written in %1R s of wall time'
time mdc-replay store --symbol SPY --type trade --to 2026-01-05T23:59:10Z --speed 10 > paced.ndjson
echo "$(wc -l < paced.ndjson) SPY trades from $(head -n 1 paced.ndjson | jq -r .ts) to $(tail -n 1 paced.ndjson | jq -r .ts)"

echo
echo "== single files replay too, compressed by the store or by gzip"
mdc-replay store --symbol SPY --type trade | gzip -c > spy-trades.jsonl.gz
echo "mdc-replay store/2026-01-06T00/AAPL/trade.jsonl.zst spy-trades.jsonl.gz"
mdc-replay store/2026-01-06T00/AAPL/trade.jsonl.zst spy-trades.jsonl.gz | jq -r .symbol | sort | uniq -c
if command -v zstdcat > /dev/null; then
    echo "zstdcat store/2026-01-06T00/AAPL/trade.jsonl.zst: $(zstdcat store/2026-01-06T00/AAPL/trade.jsonl.zst | wc -l) lines"
fi
