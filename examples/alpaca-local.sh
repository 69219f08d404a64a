#!/usr/bin/env bash
# The Alpaca provider without an Alpaca account: mdc-capture alpaca talks to the local server of
# the tests (tests/servers/alpaca.py), which speaks Alpaca's stock stream protocol (market data
# v2), replays the session fixture (every message type, corrections and cancels included) and
# then sends synthetic trades and quotes. Against Alpaca itself, drop --url and set your own
# APCA_API_KEY_ID and APCA_API_SECRET_KEY.
#
# Usage: examples/alpaca-local.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands (with mdc-provider-alpaca installed), python and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate python jq
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
enter_workdir "$@"

echo "== mdc-capture --list-providers (the alpaca entry)"
mdc-capture --list-providers | sed -n '/^alpaca /,/^[a-z]/p' | sed '$d'

echo
echo "== the local Alpaca server on a free port: the session fixture, then 1000 trades and quotes"
(cd "$repo" && exec python -m tests.servers.alpaca --port 0 \
    --script tests/plugins/alpaca/fixtures/session.json --messages 1000) > server.out 2> server.log &
server=$!
on_exit 'kill "$server" 2> /dev/null || true'
for _ in $(seq 100); do [[ -s server.out ]] && break; sleep 0.05; done
url=$(head -n 1 server.out)
base=${url%/v2/iex}
echo "listening on $url (also $base/v2/sip, /v2/test ...)"
# The credentials the server accepts by default (--key, --secret); the provider reads these variables.
export APCA_API_KEY_ID=mdc-test-key APCA_API_SECRET_KEY=mdc-test-secret

echo
echo "== mdc-capture alpaca SPY AAPL --url $base/v2/iex --max-events 300 | mdc-validate"
mdc-capture alpaca SPY AAPL --url "$url" --max-events 300 | mdc-validate > events.ndjson
echo "events by stream, type and symbol:"
jq -r '[.stream, .type, .symbol] | @tsv' events.ndjson | sort | uniq -c
echo "the fixture's SPY trade (ts_recv left out): the time to the nanosecond, the price as written:"
grep -m 1 '"trade_id":"52983525029461"' events.ndjson | sed -E 's/,"ts_recv":"[^"]+"//'

echo
echo "== the test feed (the feed is read from the URL): FAKEPACA only"
mdc-capture alpaca FAKEPACA --url "$base/v2/test" --max-events 4 2> /dev/null | jq -r '[.stream, .type, .symbol] | @tsv'

echo
echo "== corrections and cancels become trade_correction and trade_cancel events (EEM, GOOGL)"
mdc-capture alpaca EEM GOOGL --url "$url" --max-events 3 2> /dev/null \
    | mdc-validate -q | sed -E 's/,"ts_recv":"[^"]+"//'

echo
echo "== a secret the server refuses: error 402, exit status 77"
exit_status env APCA_API_SECRET_KEY=not-the-secret mdc-capture alpaca SPY --url "$url" --max-events 10

echo
echo "== mdc-capture alpaca SPY AAPL --feed iex --url ws://127.0.0.1:PORT/v2/iex --max-events 1000 | mdc-validate | head"
mdc-capture alpaca SPY AAPL --feed iex --url "$url" --max-events 1000 | mdc-validate | head
