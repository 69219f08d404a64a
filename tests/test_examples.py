"""The examples work: every examples/*.sh runs and shows what it is there to show.

Each script runs as a reader would run it, with the virtualenv's mdc commands
on PATH, writing under a directory of the test's own; the assertions pin the
facts the script demonstrates, not merely that it ran.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
BIN = Path(sys.executable).parent
SCRIPTS = sorted(path.name for path in EXAMPLES.glob("*.sh"))

# One worker runs them all under `pytest -n --dist loadgroup`, so each script runs once (see the fixture below).
pytestmark = pytest.mark.xdist_group("examples")

needs_jq = pytest.mark.skipif(shutil.which("jq") is None, reason="the examples use jq")
# The tests that run scripts take about 20 s together on a 2-core machine: slow, so `make test-fast` skips them.
slow = pytest.mark.slow


def environment(**extra: str) -> dict[str, str]:
    """The caller's environment with the virtualenv's bin first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def run(script: str, *args: str, cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run one example script; stdout and stderr together, as a reader sees them in a terminal."""
    return subprocess.run(
        ["bash", str(EXAMPLES / script), *args],
        cwd=cwd,
        env=environment(**extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=False,
    )


# What each script must show: literal text, or a compiled pattern for what varies.
SHOWS: dict[str, list[str | re.Pattern[str]]] = {
    "capture-sim.sh": [
        re.compile(r"^sim +mdc \S+$", re.MULTILINE),
        "capabilities: fault-injection, realtime-depth, realtime-quotes, realtime-trades",
        "--seed: random seed",
        re.compile(r"^ +\d+ trade$", re.MULTILINE),
        '"type":"trade","v":1,"symbol":"SPY","ts":"2026-01-05T14:30:00.',
        "identical: 2000 lines, the same bytes on every run",
        "another seed (--seed 8): a different market",
    ],
    "validate-rejects.sh": [
        "mdc-validate: read 18, passed 13, rejected 5, integrity 4 (crossed_market 1, out_of_order 1, sequence_gap 2)",
        "SPY sequence_gap: 2 messages missing on trades (3..4)",
        "SPY out_of_order: sequence number went back from 5 to 4 on trades",
        "SPY crossed_market: market crossed: bid 451.14 above ask 451.12",
        "BRK/B stale: no trades for 30 s",
        "SPY sequence_gap: 2 messages missing on trades (7..8)",
        "seq 1 at 2026-01-05T14:30:00.100000000Z: buy",
        "seq 2 at 2026-01-05T14:30:00.400000000Z: sell",
        "line 8: out_of_order",
        "line 14: not_json",
        "line 15: price_positive, size_positive",
        "line 16: ts_format, symbol_grammar",
        "line 17: unknown_type",
        '"message": "price must be > 0 (got -451.10)"',
        "mdc-validate: stopped at the first rejected line (--strict)",
        "exit status 65, after writing 8 lines",
    ],
    "store-and-replay.sh": [
        "mdc-validate: read 12000, passed 12000, rejected 0, integrity 0",
        "mdc-store: read 12000, stored 12000, duplicates skipped 0, rejected 0 under store",
        '"layout":"by-date","partition":"hourly","format":"jsonl","float_prices":false,"compression":"zstd","level":3',
        re.compile(r"^ +\d+  store/2026-01-05T23/BRK%2FB/trade\.jsonl\.zst$", re.MULTILINE),
        re.compile(r"^ +\d+  store/2026-01-06T00/BRK%2FB/trade\.jsonl\.zst$", re.MULTILINE),
        re.compile(r"^ +\d+ AAPL quote$", re.MULTILINE),
        re.compile(r"^ +\d+ SPY trade$", re.MULTILINE),
        re.compile(r"^ +\d+ 2026-01-05T23\n +\d+ 2026-01-06T00$", re.MULTILINE),
        "12000 events, in ts order, from 2026-01-05T23:59:00.000000000Z to 2026-01-06T00:",
        re.compile(r"^written in \d+\.\d s of wall time\n\d+ SPY trades from 2026-01-05T23:59:0", re.MULTILINE),
        re.compile(r"^ +\d+ AAPL\n +\d+ SPY$", re.MULTILINE),
    ],
    "crash-recovery.sh": [
        "== source.ndjson: 60000 numbered trades",
        "mdc-store: exit status 137 (killed by SIGKILL)",
        re.compile(r"^acknowledged before the kill: \d{5} of 60000 input lines$", re.MULTILINE),
        re.compile(r"^mdc-store: recovered \d+ events from the write-ahead log$", re.MULTILINE),
        "acknowledged lines missing: 0",
        re.compile(
            r"^mdc-store: read 60000, stored \d+, duplicates skipped \d+, rejected 0 under store$", re.MULTILINE
        ),
        "acknowledged: 60000 of 60000 input lines",
        "60000 events, 60000 distinct, seq 1..60000\nduplicates: 0",
    ],
    "tier.sh": [
        "mdc-store: read 12000, stored 12000, duplicates skipped 0, rejected 0 under store",
        "32 files ending in .jsonl.lz4",
        re.compile(r"^mdc-store tier: SPY/trade/(\S+)\.jsonl\.lz4 -> SPY/trade/\1\.parquet \(cold, parquet\)$", re.M),
        re.compile(r"^mdc-store tier: SPY/trade/(\S+)\.jsonl\.lz4 -> SPY/trade/\1\.jsonl\.zst \(warm, zstd-6\)$", re.M),
        "mdc-store tier: 24 partition files would move",
        "mdc-store tier: 24 partition files moved",
        "8 files ending in .jsonl.lz4\n16 files ending in .jsonl.zst\n8 files ending in .parquet",
        re.compile(r"^  cold  SPY/trade/\S+\.parquet$", re.MULTILINE),
        "before 12000 events, after 12000 events",
        "the same events (type, symbol, stream, seq, ts of each): yes",
        "mdc-store tier: 0 partition files moved",
        "another mdc-store (pid WRITER) is writing this store",
        "mdc-store tier: exit status 74",
    ],
    "bars.sh": [
        "mdc-store: read 24000, stored 24000, duplicates skipped 0, rejected 0 under store",
        re.compile(
            r"^mdc-bars: read 24000, trades \d+, bars 8, late trades 0, other events ignored \d+$", re.MULTILINE
        ),
        re.compile(r"^14:30\tSPY\t339\.\d+\t", re.MULTILINE),
        re.compile(r"^14:33\tAAPL\t", re.MULTILINE),
        '{"ts":"2026-01-05T14:32:00.000000000Z","open":',
        "mdc-bars: read 3, trades 3, bars 2, late trades 1, other events ignored 0",
        "late_trade: late SPY trade (ts 2026-01-05T14:30:55.000000000Z): its 1m bar was already written",
    ],
    "book.sh": [
        '{"type":"quote","seq":1,"bid_price":339.63,"ask_price":null}',
        '{"type":"snapshot","seq":2,"bids":[[339.63,900],[339.61,700]],"asks":[]}',
        '{"op":"set","side":"bid","price":379.16,"size":700}',
        '{"op":"insert","side":"bid","position":9,"price":379.16,"size":700}',
        "level model: 117 of 117 sim snapshots rebuilt identically",
        "position model: 117 of 117 sim snapshots rebuilt identically",
        "SPY seq 500 depth_invalid: delete at bid position 42, but the side has 10 levels",
        "SPY seq 500 book_frozen: SPY book frozen on sim.depth: depth ignored until a snapshot or a reset",
        "SPY seq 521 book_reset: SPY snapshot replaced a frozen book",
        "integrity 3 (book_frozen 1, book_reset 1, depth_invalid 1); depth ignored by frozen books 21",
        "with the reset: 117 of 117 sim snapshots rebuilt identically",
        re.compile(r"^14:30:02\.\d{3} bids 379\.\d+ 379\.\d+ 379\.\d+ \| asks ", re.MULTILINE),
        "quote 453, snapshot 15, added by the book",
        "mdc-book over the stored depth wrote the same 468 events",
    ],
    "ib.sh": [
        re.compile(r"^ib +mdc-provider-ib \S+$", re.MULTILINE),
        "capabilities: realtime-bars, realtime-depth, realtime-quotes, realtime-trades",
        '"symbol":"SPY","ts":"2026-11-24T14:30:00.000000000Z"',
        '"exchange":"NYSE","conditions":["F","T","pastLimit"]',
        "mdc-validate: read 5, passed 5, rejected 0, integrity 0",
        "depth events: 5",
        '"interval":"5s","open":6712.25,"high":6712.75,"low":6712.0,"close":6712.5,"volume":184.0,"vwap":6712.41',
        '"bids":[[6712.25,15.0]],"asks":[[6712.5,9.0]]',
        "mdc-capture: ib: QQQ: no security definition (stock QQQ on SMART in USD)",
        "exit status 2",
    ],
    "schema-check.sh": [
        "https://json-schema.org/draft/2020-12/schema, one definition per type:",
        "bar, depth, integrity, luld, quote, snapshot, status, trade, trade_cancel, trade_correction",
        '["type","v","symbol","ts","ts_recv","provider","stream","price","size"]',
        re.compile(
            r"^\d+ events checked, 0 failed: depth \d+, integrity \d+, quote \d+, snapshot \d+, trade \d+$", re.M
        )
        if importlib.util.find_spec("jsonschema") is not None  # the script uses this virtualenv's python
        else "jsonschema is not installed",
    ],
    "faults.sh": [
        "mdc-validate: read 10000, passed",
        *(re.compile(rf"^ +\d+ {kind}$", re.MULTILINE) for kind in ("crossed_market", "duplicate", "sequence_gap")),
        *(re.compile(rf"^ +\d+ {kind}$", re.MULTILINE) for kind in ("locked_market", "out_of_order")),
        '{"kind":"sequence_gap","expected":',
        *(re.compile(rf"^ +\d+ {rule}$", re.MULTILINE) for rule in ("not_json", "price_positive", "ts_format")),
        re.compile(r"^ +\d+ symbol_grammar$", re.MULTILINE),
        re.compile(r"--faults crossed\n +\d+ crossed_market\n*$"),
    ],
    "alpaca-local.sh": [
        re.compile(r"^alpaca +mdc-provider-alpaca \S+$", re.MULTILINE),
        "credentials: APCA_API_KEY_ID, APCA_API_SECRET_KEY (environment, keyring or config file)",
        "--feed: iex, sip, delayed_sip, test, boats, overnight",
        re.compile(r"^mdc-capture: alpaca: connected \(ws://127\.0\.0\.1:\d+/v2/iex\)$", re.MULTILINE),
        "mdc-validate: read 300, passed 300, rejected 0, integrity 0",
        re.compile(
            r"^ +147 alpaca\.iex\tquote\tSPY\n +2 alpaca\.iex\tstatus\tAAPL\n +150 alpaca\.iex\ttrade\tAAPL$", re.M
        ),
        '"symbol":"SPY","ts":"2024-01-18T15:30:45.123456789Z","provider":"alpaca","stream":"alpaca.iex","price":451.10,',
        "alpaca.test\ttrade\tFAKEPACA\nalpaca.test\tquote\tFAKEPACA",
        '{"type":"trade_correction","v":1,"symbol":"EEM","ts":"2023-04-06T14:25:06.542305024Z"',
        '"original_price":39.1582,"original_size":440000,"original_conditions":[" ","7"],',
        '"corrected_price":39.1809,"corrected_size":440000,"corrected_conditions":[" ","7"],"exchange":"M"}',
        '"action":"cancel","trade_id":"465","price":105.31,"size":300,"exchange":"D"}',
        '"action":"error","trade_id":"466","price":105.32,"size":100,"exchange":"D"}',
        "mdc-capture: alpaca: auth failed: the key id and secret key were refused "
        "(APCA_API_KEY_ID, APCA_API_SECRET_KEY) (code 402)\nexit status 77",
        re.compile(
            r"^mdc-capture: alpaca: authenticated\n"
            r'\{"type":"trade","v":1,"symbol":"AAPL","ts":"2021-02-22T15:51:44\.208000000Z","ts_recv":"\S+Z",'
            r'"provider":"alpaca","stream":"alpaca\.iex","price":126\.55,.*\n(\{"type":.*\n){9}'
            r"mdc-validate: read \d+, passed \d+, rejected 0, integrity 0$",
            re.MULTILINE,
        ),
    ],
    "polygon-local.sh": [
        re.compile(r"^polygon +mdc-provider-polygon \S+$", re.MULTILINE),
        "credentials: POLYGON_API_KEY (environment, keyring or config file)",
        re.compile(r"^mdc-capture: polygon: connected \(ws://127\.0\.0\.1:\d+/stocks\)$", re.MULTILINE),
        "mdc-validate: read 300, passed 300, rejected 0, integrity 0",
        re.compile(
            r"^ +50 polygon\.stocks\tbar\t1m\n +50 polygon\.stocks\tbar\t1s\n"
            r" +75 polygon\.stocks\tquote\t-\n +125 polygon\.stocks\ttrade\t-$",
            re.MULTILINE,
        ),
        '"ts":"2026-01-05T14:30:59.998000000Z","provider":"polygon","stream":"polygon.stocks","price":590.10,',
        '"exchange":"11","trade_id":"52983525029501"}',
        '"bid_price":245.30,"bid_size":1,"ask_price":245.33,"ask_size":4,"bid_exchange":"12","ask_exchange":"12"}',
        "8 events still came through; rejects by reason:",
        re.compile(
            r"^ +1  bad T message\n +4  not a JSON array of Polygon messages\n +1  unknown event type 'XQ'$", re.M
        ),
        "mdc-capture: polygon: the API key was refused (server said auth_failed: authentication failed)\n"
        "exit status 77",
        re.compile(r'^\{"type":"trade","v":1,"symbol":"SPY","ts":"2026-01-05T14:30:00\.012000000Z",', re.MULTILINE),
        re.compile(r"^mdc-validate: read \d+, passed \d+, rejected 0, integrity 0$", re.MULTILINE),
    ],
    "plugin-template.sh": [
        re.compile(r"^example +mdc-provider-example 0\.1\.0$", re.MULTILINE),
        "credentials: EXAMPLE_TOKEN (environment, keyring or config file)",
        "mdc-capture: example: disconnected (closed by the server (code 1011, server going away))",
        re.compile(r"^ +150 example\texample\.live\tquote\n +150 example\texample\.live\ttrade$", re.MULTILINE),
    ],
    "mdc-git-style.sh": [
        re.compile(r"^mdc, version \S+$", re.MULTILINE),
        "mdc-store: read 8000, stored 8000, duplicates skipped 0, rejected 0 under store",
        "2026-01-05T14:30:00.000000000Z SPY close ",
        "2026-01-05T14:31:00.000000000Z AAPL close ",
        '["type","v","symbol","ts","ts_recv","provider","stream","bid_price","bid_size","ask_price","ask_size"]',
        "mdc-hello says hello to: world",
        "mdc nosuch: exit status 2",
    ],
}


Example = Callable[[str], tuple[subprocess.CompletedProcess[str], Path]]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    """Runs an example once per module, in DIR of its own: (result, DIR)."""
    done: dict[str, tuple[subprocess.CompletedProcess[str], Path]] = {}

    def run_once(script: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        if script not in done:
            base = tmp_path_factory.mktemp(script.removesuffix(".sh"))
            done[script] = run(script, str(base / "work"), cwd=base), base / "work"
        return done[script]

    return run_once


def test_every_example_script_has_expectations() -> None:
    """A new examples/*.sh needs its entry in SHOWS."""
    assert sorted(SHOWS) == SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_the_script_is_strict_bash_and_executable(script: str) -> None:
    """`#!/usr/bin/env bash`, `set -euo pipefail` and the executable bit."""
    path = EXAMPLES / script
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in path.read_text(encoding="utf-8")
    assert os.access(path, os.X_OK)


@slow
@needs_jq
@pytest.mark.parametrize("script", SCRIPTS)
def test_the_example_runs_and_shows_what_it_is_for(script: str, example: Example) -> None:
    """Exit 0, no traceback, and every expected line in the output."""
    result, _ = example(script)
    assert result.returncode == 0, result.stdout
    assert "Traceback" not in result.stdout
    assert "Broken pipe" not in result.stdout
    missing = [
        expected.pattern if isinstance(expected, re.Pattern) else expected
        for expected in SHOWS[script]
        if (
            expected.search(result.stdout) is None
            if isinstance(expected, re.Pattern)
            else expected not in result.stdout
        )
    ]
    assert missing == [], result.stdout


@slow
@needs_jq
def test_capture_sim_paces_to_the_rate(example: Example) -> None:
    """`--rate 500 --duration 1` writes about 500 events, never many more."""
    result, _ = example("capture-sim.sh")
    match = re.search(r"^(\d+) events in one second \(about 500\)$", result.stdout, re.MULTILINE)
    assert match is not None, result.stdout
    assert 100 <= int(match.group(1)) <= 600


@slow
@needs_jq
def test_validate_rejects_writes_one_record_per_bad_line(example: Example) -> None:
    """The reject file holds lines 8, 14, 15, 16 and 17 of data/mixed.ndjson, each with its raw text."""
    _, work = example("validate-rejects.sh")
    records = [json.loads(line) for line in (work / "rejects.jsonl").read_text().splitlines()]
    assert [record["line_no"] for record in records] == [8, 14, 15, 16, 17]
    lines = (EXAMPLES / "data" / "mixed.ndjson").read_text().splitlines()
    assert [record["raw"] for record in records] == [lines[number - 1] for number in (8, 14, 15, 16, 17)]


@slow
@needs_jq
def test_store_and_replay_filters_by_symbol_type_and_date(example: Example) -> None:
    """The store is laid out by hour, symbol and type; the filtered replay shows BRK/B trades of the 6th only."""
    result, work = example("store-and-replay.sh")
    assert (work / "store" / "2026-01-06T00" / "BRK%2FB" / "trade.jsonl.zst").is_file()
    assert not list((work / "store").rglob("*.jsonl"))
    shown = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"type":')]
    assert len(shown) == 3
    assert {(event["type"], event["symbol"]) for event in shown} == {("trade", "BRK/B")}
    assert all(event["ts"] >= "2026-01-06" for event in shown)


@slow
@needs_jq
def test_crash_recovery_acknowledged_no_more_than_it_recovered(example: Example) -> None:
    """The count on --ack-fd before the kill is at most what recovery then holds, and below the whole source."""
    result, _ = example("crash-recovery.sh")
    acknowledged = re.search(r"^acknowledged before the kill: (\d+) of 60000", result.stdout, re.MULTILINE)
    recovered = re.search(r"^stored after recovery: (\d+) events$", result.stdout, re.MULTILINE)
    assert acknowledged is not None, result.stdout
    assert recovered is not None, result.stdout
    assert 10_000 <= int(acknowledged.group(1)) <= int(recovered.group(1)) < 60_000


@slow
@needs_jq
def test_an_example_run_from_elsewhere_without_a_directory_leaves_nothing_behind(tmp_path: Path) -> None:
    """Without DIR a script works in its own temporary directory, removes it, and writes nothing in the cwd."""
    cwd, temporary = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    temporary.mkdir()
    result = run("validate-rejects.sh", cwd=cwd, TMPDIR=str(temporary))
    assert result.returncode == 0, result.stdout
    assert "line 17: unknown_type" in result.stdout
    assert list(cwd.iterdir()) == []
    assert list(temporary.iterdir()) == []


def test_mixed_ndjson_has_every_event_type_and_bad_lines() -> None:
    """data/mixed.ndjson holds each event type at least once, and lines that are not JSON."""
    types, bad = set(), 0
    for line in (EXAMPLES / "data" / "mixed.ndjson").read_text().splitlines():
        try:
            types.add(json.loads(line)["type"])
        except json.JSONDecodeError:
            bad += 1
    assert {"trade", "quote", "depth", "snapshot", "bar", "integrity"} <= types
    assert bad >= 1


CRON = EXAMPLES / "cron" / "mdc-capture.cron"


def cron_jobs() -> list[str]:
    """The commands of the crontab's job lines (after the five schedule fields)."""
    jobs = []
    for line in CRON.read_text().splitlines():
        if line.strip() and not line.startswith("#") and not re.match(r"\w+=", line):
            fields = line.split(maxsplit=5)
            assert len(fields) == 6, line
            jobs.append(fields[5])
    return jobs


def test_the_crontab_captures_into_a_store_and_mentions_backfill() -> None:
    """Its capture job runs the whole pipeline; backfill is named as coming later."""
    jobs = cron_jobs()
    assert any(all(name in job for name in ("mdc-capture sim", "mdc-validate", "mdc-store --root")) for job in jobs)
    assert "backfill" in CRON.read_text().lower()


@slow
@needs_jq
@pytest.mark.skipif(shutil.which("flock") is None, reason="the crontab uses flock")
def test_the_crontab_jobs_run(tmp_path: Path) -> None:
    """Each job, as cron would run it through bash (a capture cut to one second), exits 0 and fills store and log."""
    store, log = tmp_path / "store", tmp_path / "log"
    log.mkdir()
    for job in cron_jobs():
        command = job.replace("\\%", "%")
        command = re.sub(r"--duration \d+", "--duration 1", command)
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=environment(MDC_STORE=str(store), MDC_LOG=str(log)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    assert list(store.glob("SPY/trade/*.jsonl"))
    assert "mdc-store: read " in (log / "capture.log").read_text()
    assert datetime.now(UTC).strftime("%Y-%m-%d") in (log / "integrity.log").read_text()
