#!/usr/bin/env bash
# mdc-schema: export the JSON Schema of the event format and check captured,
# validated events against it with Python's jsonschema package (skipped
# politely when that package is not installed).
#
# Usage: examples/schema-check.sh [DIR]
# Writes under DIR when given, else under a temporary directory it removes.
# Needs the mdc commands and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-schema mdc-capture mdc-validate jq
enter_workdir "$@"

echo "== mdc-schema > event.schema.json"
mdc-schema > event.schema.json
echo "$(jq -r '."$schema"' event.schema.json), one definition per type:"
jq -r '."$defs" | keys | join(", ")' event.schema.json

echo
echo "== mdc-schema --type trade --compact | jq -c .required"
mdc-schema --type trade --compact | jq -c .required

echo
echo "== capture with faults | mdc-validate: every line that passes fits the schema"
mdc-capture sim SPY AAPL --seed 5 --start 2026-01-05T14:30:00Z --rate max --max-events 3000 --faults gap,crossed,garbage \
    | mdc-validate -q --rejects rejects.jsonl > events.ndjson

# The Python next to the mdc commands (their virtualenv) has jsonschema when mdc
# was installed with its dev extra; any other python3 may have it too.
python="$(dirname "$(command -v mdc-schema)")/python"
[[ -x $python ]] || python=python3
if ! "$python" -c 'import jsonschema' 2> /dev/null; then
    echo "jsonschema is not installed for $python: skipping the check (pip install jsonschema)"
    exit 0
fi
# Numbers are read as decimals so that none is rounded on the way.
"$python" -c '
import collections, decimal, json, sys
import jsonschema

schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema)
types, failed = collections.Counter(), 0
for number, line in enumerate(open(sys.argv[2]), 1):
    event = json.loads(line, parse_float=decimal.Decimal)
    types[event["type"]] += 1
    for error in validator.iter_errors(event):
        failed += 1
        print(f"line {number}: {error.message}")
print(f"{sum(types.values())} events checked, {failed} failed:", ", ".join(f"{t} {n}" for t, n in sorted(types.items())))
sys.exit(1 if failed else 0)
' event.schema.json events.ndjson
