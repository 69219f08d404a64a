#!/usr/bin/env bash
# mdc-store tier: four days of simulated market, stored hot (lz4), then moved to
# warm (zstd-6) and cold (Parquet) by age; every event is still there, once.
#
# Usage: examples/tier.sh [DIR]
# Writes under DIR when given (DIR/store is the store), else under a temporary
# directory it removes. Needs the mdc commands, python3 and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-capture mdc-store mdc-replay python3 jq
enter_workdir "$@"
rm -rf store input refused.txt

# The four days before today (UTC): a day that ended more than 1 day ago goes
# warm, more than 3 days ago cold, whatever the time of day the script runs.
days=$(python3 -c '
import datetime
today = datetime.datetime.now(datetime.UTC).date()
print(*(today - datetime.timedelta(days=back) for back in (4, 3, 2, 1)))
')

# The simulator numbers each run's messages from 1, as a feed numbers each
# session; the store sees each later day as a new session of the stream
# (mdc-store(1), IDEMPOTENCY) and keeps it all.
echo "== four days of SPY and AAPL, one capture a day, into a store with --profile realtime (lz4)"
seed=0
for day in $days; do
    seed=$((seed + 1))
    mdc-capture sim SPY AAPL --seed "$seed" --start "${day}T14:30:00Z" --rate max --max-events 3000
done | mdc-store --root store --profile realtime

show_files() {
    find store -path store/.mdc -prune -o -type f -path 'store/SPY/trade/*' -print | sort | while read -r file; do
        printf '%8d bytes  %s\n' "$(wc -c < "$file")" "$file"
    done
    find store -path store/.mdc -prune -o -type f -print | sed -E 's/^[^.]*//' | sort | uniq -c \
        | while read -r count ending; do echo "$count files ending in $ending"; done
}

# What the events are, sorted, so that the check below does not depend on file
# formats (Parquet gives decimals back in their shortest form) or order.
fingerprint() {
    mdc-replay store | jq -r '[.type, .symbol, .stream, .seq, .ts] | @tsv' | sort | cksum
}

echo
echo "== before: SPY's trade files, and every file by ending"
show_files
before_count=$(mdc-replay store | wc -l)
before_fingerprint=$(fingerprint)
echo "mdc-replay store: $before_count events"

echo
echo "== mdc-store tier --root store --warm-after 1d --cold-after 3d --cold-format parquet --dry-run (SPY trades)"
mdc-store tier --root store --warm-after 1d --cold-after 3d --cold-format parquet --dry-run 2>&1 \
    | grep -E 'SPY/trade|partition files'

echo
echo "== mdc-store tier --root store --warm-after 1d --cold-after 3d --cold-format parquet (SPY trades)"
mdc-store tier --root store --warm-after 1d --cold-after 3d --cold-format parquet 2>&1 \
    | grep -E 'SPY/trade|partition files'

echo
echo "== after: SPY's trade files, and every file by ending"
show_files
echo "store/.mdc/tiers.json, SPY trades:"
jq -r 'to_entries[] | select(.key | startswith("SPY/trade/")) | "  \(.value)  \(.key)"' store/.mdc/tiers.json

echo
echo "== mdc-replay store: the same events"
after_count=$(mdc-replay store | wc -l)
echo "before $before_count events, after $after_count events"
if [[ $(fingerprint) == "$before_fingerprint" ]]; then
    echo "the same events (type, symbol, stream, seq, ts of each): yes"
else
    echo "the same events (type, symbol, stream, seq, ts of each): NO"
fi

echo
echo "== a second run moves nothing: each file's tier is kept in store/.mdc/tiers.json"
mdc-store tier --root store --warm-after 1d --cold-after 3d --cold-format parquet

# tier takes the store's lock, as mdc-store does: while a writer holds it, tier
# refuses and names the writer's pid. The writer reads a FIFO held open here.
echo
echo "== tier while an mdc-store writes the store"
mkfifo input
mdc-store --root store --profile realtime -q < input &
writer=$!
exec 4> input
until [[ $(cat store/.mdc/lock 2> /dev/null) == "$writer" ]]; do
    kill -0 "$writer" || exit 1
    sleep 0.05
done
status=0
mdc-store tier --root store --warm-after 1d 2> refused.txt || status=$?
sed "s/pid $writer/pid WRITER/" refused.txt
echo "mdc-store tier: exit status $status"
exec 4>&-
wait "$writer"
