#!/usr/bin/env bash
# mdc-bars: stored trades replayed into 1-minute and 2-minute OHLCV bars, and
# what happens to a trade that arrives after its bar was written.
#
# Usage: examples/bars.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate mdc-store mdc-replay mdc-bars jq
enter_workdir "$@"
rm -rf store late.jsonl

echo "== four minutes of simulated SPY and AAPL into a store"
mdc-capture sim SPY AAPL --seed 3 --start 2026-01-05T14:30:00Z --rate max --max-events 24000 \
    | mdc-validate -q | mdc-store --root store

# Everything goes in; mdc-bars ignores what is not a trade and says so in its summary.
echo
echo "== mdc-replay store | mdc-bars --interval 1m (time, symbol, open, high, low, close, volume, trades)"
mdc-replay store | mdc-bars --interval 1m > bars-1m.ndjson
jq -r '[.ts[11:16], .symbol, .open, .high, .low, .close, .volume, .trade_count] | @tsv' bars-1m.ndjson

echo
echo "== mdc-replay store --symbol SPY --type trade | mdc-bars -q --interval 2m"
mdc-replay store --symbol SPY --type trade | mdc-bars -q --interval 2m | jq -c '{ts, open, close, vwap, trade_count}'

echo
echo "== a late trade: reported with the rule late_trade, never dropped silently"
trade() { # symbol time price
    printf '{"type":"trade","v":1,"symbol":"%s","ts":"2026-01-05T%sZ","ts_recv":"2026-01-05T%sZ","provider":"demo","stream":"trades","price":%s,"size":100,"side":"buy"}\n' "$1" "$2" "$2" "$3"
}
{
    trade SPY 14:30:50.000000000 451.10
    trade SPY 14:31:05.000000000 451.20
    trade SPY 14:30:55.000000000 451.15 # arrives after the 14:31 trade closed the 14:30 bar
} | mdc-bars --interval 1m --rejects late.jsonl | jq -c '{ts, close, trade_count}'
jq -r '.reasons[] | "\(.rule): \(.message)"' late.jsonl
