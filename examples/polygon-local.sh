#!/usr/bin/env bash
# The Polygon (Massive) provider without a Polygon key: mdc-capture polygon talks to the local
# server of the tests (tests/servers/polygon.py), which speaks Polygon's stocks WebSocket protocol
# and replays a session written from Polygon's documentation (trades, quotes, 1-second and
# 1-minute aggregates of SPY and AAPL). Against Polygon itself, drop --url and set your own
# POLYGON_API_KEY.
#
# Usage: examples/polygon-local.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands (with mdc-provider-polygon installed), python and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate python jq
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
enter_workdir "$@"

# start_server NAME ARGUMENT...: run the local server in the background, stopped on exit; its URL in NAME.url.
start_server() {
    local name=$1 pid
    shift
    (cd "$repo" && exec python -m tests.servers.polygon --port 0 "$@") > "$name.url" 2> "$name.log" &
    pid=$!
    on_exit "kill $pid 2> /dev/null || true"
    for _ in $(seq 100); do [[ -s $name.url ]] && break; sleep 0.05; done
}

echo "== mdc-capture --list-providers (the polygon entry)"
mdc-capture --list-providers | sed -n '/^polygon /,/^[a-z]/p' | sed '$d'

echo
echo "== the local Polygon server on a free port, accepting one key and replaying the session 25 times"
# The session fixture is replayed "repeat" times; sed adds the key to the JSON text, so the
# numbers stay as written (590.10 would come back from jq as 590.1).
sed 's/"frames": \[/"repeat": 25, "frames": [/' "$repo/tests/plugins/polygon/fixtures/session.json" > session.json
start_server server --script "$PWD/session.json" --key demo-key
url=$(head -n 1 server.url)
echo "listening on $url"
export POLYGON_API_KEY=demo-key

echo
echo "== mdc-capture polygon SPY AAPL --url $url -o channels=T,Q,A,AM --max-events 300 | mdc-validate"
mdc-capture polygon SPY AAPL --url "$url" -o channels=T,Q,A,AM --max-events 300 | mdc-validate > events.ndjson
echo "events by stream, type and interval:"
jq -r '[.stream, .type, .interval // "-"] | @tsv' events.ndjson | sort | uniq -c
echo "a trade and a quote (ts_recv left out): prices as written, ids as text, milliseconds as nanoseconds, no seq:"
grep -m 1 '"price":590.10,' events.ndjson | sed -E 's/,"ts_recv":"[^"]+"//'
grep -m 1 '"bid_price":245.30,' events.ndjson | sed -E 's/,"ts_recv":"[^"]+"//'

echo
echo "== corrections and cancels: none on this stream"
echo "Polygon's stocks WebSocket has no correction or cancel message (the provider makes no"
echo "trade_correction or trade_cancel); what it cannot read becomes a reject line instead:"
start_server garbage --script tests/plugins/polygon/fixtures/session.json --scenario garbage
mdc-capture polygon SPY AAPL --url "$(head -n 1 garbage.url)" --max-events 8 2> capture.log \
    | mdc-validate -q > good.ndjson
echo "$(wc -l < good.ndjson) events still came through; rejects by reason:"
grep -a 'rejected message' capture.log | cut -d : -f 4 | sort | uniq -c

echo
echo "== a key the server refuses: auth_failed, exit status 77"
exit_status env POLYGON_API_KEY=not-the-key mdc-capture polygon SPY --url "$url" --max-events 10

echo
echo "== mdc-capture polygon SPY AAPL --url ws://127.0.0.1:PORT/stocks --max-events 100 | mdc-validate | head -n 3"
mdc-capture polygon SPY AAPL --url "$url" --max-events 100 | mdc-validate | head -n 3
