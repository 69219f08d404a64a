#!/usr/bin/env bash
# mdc-book: the simulator's order book rebuilt from its depth events alone, in
# both depth models, checked against the snapshots the simulator itself wrote;
# then a book frozen by an impossible change and reset by the next snapshot; and the same
# collector inside mdc-capture (--book), which adds exactly what mdc-book writes.
#
# Usage: examples/book.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-book jq
enter_workdir "$@"

echo "== mdc-capture sim SPY | jq select depth | mdc-book --levels 10 --on-change | head -n 3"
mdc-capture sim SPY --seed 2 --max-events 20000 | jq -c 'select(.type=="depth")' > depth.ndjson
# A quote when the top changes, a snapshot when anything in the top 10 does; mdc-book stops quietly when head is done.
mdc-book -q --levels 10 --on-change < depth.ndjson | head -n 3 \
    | jq -c 'if .type == "quote" then {type, seq, bid_price, ask_price} else {type, seq, bids, asks} end'

for model in level position; do
    echo
    echo "== the $model model: the sim's own snapshots against the book mdc-book rebuilds from depth"
    mdc-capture sim SPY AAPL --seed 5 --start 2026-01-05T14:30:00Z --max-events 20000 --depth-model "$model" \
        > "sim-$model.ndjson"
    jq -c 'select(.type=="snapshot")' "sim-$model.ndjson" > "expected-$model.ndjson"
    echo "one depth change, as sent: $(jq -c 'select(.type=="depth") | {op, side, position, price, size} | del(..|nulls)' \
        "sim-$model.ndjson" | sed -n 30p)"
    # --every 1: one snapshot per depth event, each carrying that event's seq (and ts), so
    # the rebuilt snapshot at the seq of each of the sim's own is its twin, byte for byte.
    jq -c 'select(.type=="depth")' "sim-$model.ndjson" | mdc-book --every 1 --levels 10 > "rebuilt-$model.ndjson"
    same=$(grep -cxFf "expected-$model.ndjson" "rebuilt-$model.ndjson" || true)
    echo "$model model: $same of $(wc -l < "expected-$model.ndjson") sim snapshots rebuilt identically"
done

echo
echo "== an impossible change (delete at bid position 42 of 10) freezes the book; the next snapshot resets it"
jq -c 'if .type == "depth" and .seq == 500 and .symbol == "SPY"
       then {type, v, symbol, ts, ts_recv, provider, stream, seq, side: "bid", op: "delete", position: 42}
       else . end' sim-position.ndjson \
    | mdc-book --every 1 --levels 10 > frozen.ndjson
jq -r 'select(.type=="integrity") | "\(.symbol) seq \(.seq) \(.kind): \(.description)"' frozen.ndjson
# The input holds the sim's snapshots too: each replaces its book (here, equal to it but for the
# frozen one) and, under --every 1, is written back, so each seq has two equal snapshots: count one.
same=$(sort -u frozen.ndjson | grep -cxFf expected-position.ndjson || true)
echo "with the reset: $same of $(wc -l < expected-position.ndjson) sim snapshots rebuilt identically"

echo
echo "== mdc-book --levels 3 --every-seconds 1: the top three levels at each second of market time"
jq -c 'select(.type=="depth" and .symbol=="AAPL")' sim-level.ndjson | mdc-book -q --levels 3 --every-seconds 1 \
    | jq -r 'select(.type=="snapshot") | "\(.ts[11:23]) bids \(.bids | map(.[0]) | join(" ")) | asks \(.asks | map(.[0]) | join(" "))"' \
    | sed -n 1,4p # sed reads to the end: under pipefail, head would leave jq a broken pipe

echo
echo "== the same collector inside mdc-capture: --book adds its quotes and snapshots to the live stream"
mdc-capture sim SPY --seed 5 --start 2026-01-05T14:30:00Z --max-events 2000 --depth-model position \
    --book --book-levels 3 --snapshot-every 1s -o snapshot-every=0 > booked.ndjson
# what the book added: quotes, and snapshots of 3 levels (the sim's own first snapshot has 10)
jq -c 'select(.stream=="sim.depth" and .type!="depth" and (.type!="snapshot" or (.bids|length) <= 3))' booked.ndjson \
    > added.ndjson
jq -r .type added.ndjson | sort | uniq -c | awk '{printf "%s %s, ", $2, $1} END {print "added by the book"}'
# mdc-book over the depth alone writes the very same events
jq -c 'select(.type=="depth")' booked.ndjson | mdc-book -q --levels 3 --every-seconds 1 > again.ndjson
cmp -s added.ndjson again.ndjson && echo "mdc-book over the stored depth wrote the same $(wc -l < again.ndjson) events"
