#!/usr/bin/env bash
# A third-party provider plugin: install the template (examples/plugin-template), see it
# listed, and capture from its reference server through a reconnect, all in a pipe.
#
# Usage: examples/plugin-template.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands, the python that has mdc (with pip and setuptools), and jq.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-validate python jq
template=$(cd "$(dirname "${BASH_SOURCE[0]}")/plugin-template" && pwd)
enter_workdir "$@"

echo "== pip install the template (into ./site here, so nothing else changes; normally: pip install DIR)"
cp -r "$template" source && rm -rf source/build source/*.egg-info
python -m pip install --quiet --no-deps --no-build-isolation --target site ./source
export PYTHONPATH=$PWD/site

echo
echo "== mdc-capture --list-providers"
mdc-capture --list-providers | sed -n '/^example/,/^[a-z]/p' | sed '$d'

echo
echo "== its reference server, which hangs up after 100 messages"
python -m mdc_provider_example.server --token demo-token --rate 500 --close-after 100 > url.txt &
server=$!
on_exit 'kill $server 2> /dev/null || true'
while [[ ! -s url.txt ]]; do sleep 0.05; done
url=$(head -n 1 url.txt)

echo
echo "== EXAMPLE_TOKEN=... mdc-capture example SPY AAPL --url $url --max-events 300 | mdc-validate"
EXAMPLE_TOKEN=demo-token mdc-capture example SPY AAPL --url "$url" --max-events 300 --backoff-cap 0.2 2> capture.log \
    | mdc-validate -q > events.ndjson
grep -E 'disconnected|authenticated' capture.log | head -n 3
echo
echo "events by provider, stream and type:"
jq -r '[.provider, .stream, .type] | @tsv' events.ndjson | sort | uniq -c
