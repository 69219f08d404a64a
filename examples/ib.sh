#!/usr/bin/env bash
# The Interactive Brokers provider without an IB account: mdc-capture ib talks to the fake TWS
# of the tests (tests/servers/ib.py), which speaks enough of TWS's API socket protocol for
# ib_async to connect, qualify contracts and subscribe, then replays a scripted session.
# Against a real TWS or IB Gateway, drop --url (or give -o port=4002 ...).
#
# Usage: examples/ib.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands (with mdc-provider-ib installed) and python on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate mdc-book python
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
enter_workdir "$@"

echo "== mdc-capture --list-providers (the ib entry)"
mdc-capture --list-providers | grep -A 7 '^ib '

echo
echo "== a fake TWS on a free port"
(cd "$repo" && exec python -m tests.servers.ib --port 0 --script tests/plugins/ib/fixtures/session.json) \
    > tws.out 2> tws.log &
tws=$!
on_exit 'kill "$tws" 2> /dev/null || true'
for _ in $(seq 100); do [[ -s tws.out ]] && break; sleep 0.05; done
url=$(head -n 1 tws.out)
echo "listening on $url"

echo
echo "== mdc-capture ib SPY: tick-by-tick trades and quotes, validated"
mdc-capture ib SPY --url "$url" --max-events 5 | mdc-validate

echo
echo "== ESZ6 from the contract file: depth and 5-second bars"
mdc-capture ib ESZ6 --url "$url" -o contracts="$repo/examples/ib-contracts.toml" -o data=depth,bars \
    --max-events 7 > es.ndjson
grep -c '"type":"depth"' es.ndjson | sed 's/^/depth events: /'
grep '"type":"bar"' es.ndjson

echo
echo "== the depth rebuilt into a book by mdc-book"
grep -v '"type":"bar"' es.ndjson | mdc-book --levels 5 --on-change | grep '"type":"snapshot"' | tail -n 1

echo
echo "== a symbol TWS does not know: exit 2, naming it"
status=0
mdc-capture ib QQQ --url "$url" 2>&1 || status=$?
echo "exit status $status"
