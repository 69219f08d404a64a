#!/usr/bin/env bash
# mdc-store killed with SIGKILL mid-way: every line it acknowledged on --ack-fd
# survives, and run again on the same source it stores every event exactly once.
#
# Usage: examples/crash-recovery.sh [DIR]
# Writes under DIR when given (DIR/store is the store), else under a temporary
# directory it removes. Needs the mdc commands, python3 and jq on PATH.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.bash"
need mdc-store mdc-replay python3 jq
enter_workdir "$@"
rm -rf store source.ndjson acks.txt acks-again.txt

# 60000 numbered trades: event N has seq N, size N and trade id N, so what the
# store holds can be checked number by number.
python3 -c '
import sys
for n in range(1, 60001):
    second, ns = divmod(n * 1_000_000, 10**9)
    ts = f"2026-01-05T14:{30 + second // 60:02d}:{second % 60:02d}.{ns:09d}Z"
    sys.stdout.write(
        f"{{\"type\":\"trade\",\"v\":1,\"symbol\":\"SPY\",\"ts\":\"{ts}\",\"ts_recv\":\"{ts}\",\"provider\":\"gen\","
        f"\"stream\":\"numbers\",\"seq\":{n},\"price\":10,\"size\":{n},\"side\":\"buy\",\"trade_id\":\"{n}\"}}\n"
    )
' > source.ndjson
echo "== source.ndjson: $(wc -l < source.ndjson) numbered trades"
head -n 1 source.ndjson

# --sync every: a line is acknowledged once its record is fsynced in the write-ahead
# log. Descriptor 3 goes to acks.txt: one cumulative count per line. --commit-seconds 30
# keeps the commits rare, so the kill leaves work for recovery to show.
echo
echo "== mdc-store --root store --sync every --ack-fd 3 3>acks.txt < source.ndjson, killed with SIGKILL mid-way"
mdc-store --root store --sync every --commit-seconds 30 --ack-fd 3 < source.ndjson 3> acks.txt &
pid=$!
until [[ -s acks.txt ]] && (($(tail -n 1 acks.txt) >= 10000)); do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.01
done
kill -KILL "$pid" 2> /dev/null || true
status=0
{ wait "$pid"; } 2> /dev/null || status=$?
echo "mdc-store: exit status $status (killed by SIGKILL)"
acknowledged=$(tail -n 1 acks.txt)
echo "acks.txt: $(wc -l < acks.txt) counts, the last: $acknowledged"
echo "acknowledged before the kill: $acknowledged of 60000 input lines"

# Any start recovers: the log records after the commit point are replayed into
# the files, each exactly once. Empty input stores nothing new.
echo
echo "== mdc-store --root store < /dev/null: recovery"
mdc-store --root store < /dev/null
mdc-replay store | jq -r -s --argjson acknowledged "$acknowledged" '
    (map(.seq) | unique) as $seqs
    | "stored after recovery: \(length) events",
      "acknowledged lines missing: \(if $seqs[:$acknowledged] == [range(1; $acknowledged + 1)] then 0 else "some" end)"'

# The whole source again: what the store holds is skipped as duplicates, the rest stored.
echo
echo "== mdc-store --root store --ack-fd 3 3>acks-again.txt < source.ndjson: the same source again"
mdc-store --root store --ack-fd 3 < source.ndjson 3> acks-again.txt
echo "acknowledged: $(tail -n 1 acks-again.txt) of 60000 input lines"

echo
echo "== mdc-replay store: every event exactly once?"
mdc-replay store | jq -r -s '
    map(.seq)
    | "\(length) events, \(unique | length) distinct, seq \(min)..\(max)",
      "duplicates: \(group_by(.) | map(select(length > 1)) | length)"'
