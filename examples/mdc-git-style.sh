#!/usr/bin/env bash
# The git-style front end: `mdc NAME` runs mdc-NAME, built in or found on PATH.
#
# Usage: examples/mdc-git-style.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc jq
enter_workdir "$@"
rm -rf store

echo "== mdc --version"
mdc --version

echo
echo "== mdc capture | mdc validate | mdc store"
mdc capture sim SPY AAPL --seed 1 --start 2026-01-05T14:30:00Z --rate max --max-events 8000 \
    | mdc validate -q | mdc store --root store

echo
echo "== mdc replay store --type trade | mdc bars --interval 1m"
mdc replay store --type trade | mdc bars -q --interval 1m | jq -r '"\(.ts) \(.symbol) close \(.close)"'

echo
echo "== mdc schema --type quote --compact | jq -c .required"
mdc schema --type quote --compact | jq -c .required

# Any program called mdc-NAME on PATH is `mdc NAME`, with its arguments passed on.
echo
echo "== an external command: mdc hello world runs mdc-hello"
mkdir -p bin
printf '#!/bin/sh\necho "mdc-hello says hello to: $*"\n' > bin/mdc-hello
chmod +x bin/mdc-hello
PATH="$PWD/bin:$PATH" mdc hello world

echo
echo "== an unknown command is a usage error"
status=0
mdc nosuch 2> /dev/null || status=$?
echo "mdc nosuch: exit status $status"
