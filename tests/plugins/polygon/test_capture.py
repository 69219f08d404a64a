"""End to end: the real ``mdc-capture polygon`` against the local Polygon server (tests/servers/polygon.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

Capture = Callable[..., subprocess.CompletedProcess[str]]
Validate = Callable[[str], subprocess.CompletedProcess[str]]
BIN = Path(sys.executable).parent
EVERY_CHANNEL = ("-o", "channels=T,Q,A,AM")


def events(result: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_every_channel_flows_and_passes_validation(
    polygon_server, capture: Capture, validate: Validate, api_key
) -> None:
    """T, Q, A and AM of SPY and AAPL: 5 trades, 3 quotes, 4 bars, every one valid, prices as written."""
    with polygon_server("--key", api_key) as server:
        result = capture(server.url, *EVERY_CHANNEL, "--max-events", "12")
    assert result.returncode == 0, result.stderr
    made = events(result)
    assert Counter(event["type"] for event in made) == {"trade": 5, "quote": 3, "bar": 4}
    assert Counter(event["interval"] for event in made if event["type"] == "bar") == {"1s": 2, "1m": 2}
    assert {(event["provider"], event["stream"], event.get("seq")) for event in made} == {
        ("polygon", "polygon.stocks", None)
    }
    assert '"symbol":"SPY","ts":"2026-01-05T14:30:59.998000000Z"' in result.stdout
    assert '"price":590.10,"size":300,"side":"unknown","exchange":"11","trade_id":"52983525029501"' in result.stdout
    checked = validate(result.stdout)
    assert checked.returncode == 0
    assert "mdc-validate: read 12, passed 12, rejected 0, integrity 0" in checked.stderr
    assert "subscribe T.AAPL,Q.AAPL,A.AAPL,AM.AAPL,T.SPY,Q.SPY,A.SPY,AM.SPY" in server.said()


def test_by_default_trades_and_quotes_are_subscribed(polygon_server, capture: Capture) -> None:
    """Without -o channels: T and Q of each symbol, so the bars of the script never come."""
    with polygon_server() as server:
        result = capture(server.url, "--max-events", "8")
    assert result.returncode == 0, result.stderr
    assert Counter(event["type"] for event in events(result)) == {"trade": 5, "quote": 3}
    assert "subscribe T.AAPL,Q.AAPL,T.SPY,Q.SPY" in server.said()


def test_the_delayed_feed_is_its_own_stream(polygon_server, capture: Capture) -> None:
    """--feed delayed: stream polygon.delayed, trades only."""
    with polygon_server() as server:
        result = capture(server.url, "--feed", "delayed", "--max-events", "5")
    assert result.returncode == 0, result.stderr
    assert {(event["type"], event["stream"]) for event in events(result)} == {("trade", "polygon.delayed")}
    assert "subscribe T.AAPL,T.SPY\n" in server.said()


def test_a_refused_key_exits_77_without_events(polygon_server, capture: Capture) -> None:
    """auth_failed: exit 77, nothing on stdout, the server's words on stderr."""
    with polygon_server("--key", "the-right-key") as server:
        result = capture(server.url, "--max-events", "8")
    assert (result.returncode, result.stdout) == (77, "")
    assert "mdc-capture: polygon: the API key was refused (server said auth_failed: authentication failed)" in (
        result.stderr
    )


def test_a_plan_without_websockets_exits_77(polygon_server, capture: Capture) -> None:
    """auth_failed with Polygon's plan words: not entitled, exit 77."""
    with polygon_server("--scenario", "not-entitled") as server:
        result = capture(server.url, "--max-events", "8")
    assert (result.returncode, result.stdout) == (77, "")
    assert "polygon: the account is not entitled to this feed (server said auth_failed: Your plan" in result.stderr


def test_no_key_exits_77_naming_the_variable(capture: Capture) -> None:
    """POLYGON_API_KEY unset (and no keyring or config entry): exit 77 before connecting."""
    result = capture("ws://127.0.0.1:9/stocks", "--max-events", "1", key=None)
    assert (result.returncode, result.stdout) == (77, "")
    assert "mdc-capture: polygon: no API key: set POLYGON_API_KEY" in result.stderr


def test_max_connections_is_retried_until_the_breaker_opens(polygon_server, capture: Capture) -> None:
    """max_connections drops the connection and retries; two in a row open the breaker: exit 69, no events."""
    with polygon_server("--scenario", "max-connections") as server:
        result = capture(server.url, "--max-events", "8", "--breaker-failures", "2", "--retries", "0")
    assert (result.returncode, result.stdout) == (69, "")
    assert "polygon: down after 2 failed attempts (polygon server error: too many connections" in result.stderr
    assert "connection 2: max_connections, closing" in server.said()


def test_an_abrupt_close_reconnects_and_resubscribes(polygon_server, capture: Capture, validate: Validate) -> None:
    """The first connection is cut after its replay: mdc-capture reconnects, subscribes again, and goes on."""
    with polygon_server("--scenario", "abrupt-close", "--scenario-connections", "1") as server:
        result = capture(server.url, "--max-events", "16")
    assert result.returncode == 0, result.stderr
    assert len(events(result)) == 16
    assert result.stderr.count("polygon: disconnected (closed by the server") == 1
    assert "connection 2: subscribe T.AAPL,Q.AAPL,T.SPY,Q.SPY" in server.said()
    assert "read 16, passed 16, rejected 0" in validate(result.stdout).stderr


def test_garbage_frames_are_rejected_with_their_text_and_the_capture_goes_on(polygon_server, capture: Capture) -> None:
    """Each garbage frame is one reject line on stderr holding the raw message; every good event still comes."""
    with polygon_server("--scenario", "garbage") as server:
        result = capture(server.url, "--max-events", "8")
    assert result.returncode == 0, result.stderr
    assert len(events(result)) == 8
    rejects = [line for line in result.stderr.splitlines() if "polygon: rejected message: " in line]
    assert len(rejects) == 6
    for raw in (
        "this is not JSON",
        '[{"ev":"T","sym":"SPY"',
        '{"ev":"T","sym":"SPY","p":"a lot","s":1,"t":1767623400000}',
        '{"ev":"XQ","sym":"SPY"}',
    ):
        assert any(line.endswith(raw) for line in rejects), raw
    assert any("unknown event type 'XQ'" in line for line in rejects)


def test_a_silent_connection_is_dropped_after_the_idle_timeout(polygon_server, capture: Capture) -> None:
    """No data and no pongs after subscribing: dropped after --idle-timeout, then a new connection delivers."""
    with polygon_server("--scenario", "silent", "--scenario-connections", "1") as server:
        started = time.monotonic()
        result = capture(server.url, "--max-events", "8", "--idle-timeout", "0.5")
        took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert len(events(result)) == 8
    assert "polygon: disconnected (silent connection (no answer to a ping))" in result.stderr
    assert "connection 2: subscribe" in server.said()
    assert took < 15


def test_the_key_never_appears_in_any_output(polygon_server, capture: Capture, tmp_path: Path) -> None:
    """A distinctive key is in no stdout, stderr or status file, whether it is accepted or refused."""
    secret = "pk-SECRET-7f3a9c52e1d04b68"  # noqa: S105 - a made-up key to look for
    status = tmp_path / "status.json"
    with polygon_server("--key", secret) as server:
        accepted = capture(server.url, "--max-events", "8", "--status-file", str(status), key=secret)
    with polygon_server("--key", "another-key") as server:
        refused = capture(server.url, "--max-events", "8", "--status-file", str(tmp_path / "refused.json"), key=secret)
    assert (accepted.returncode, refused.returncode) == (0, 77)
    outputs = [accepted.stdout, accepted.stderr, refused.stdout, refused.stderr]
    outputs += [status.read_text(), (tmp_path / "refused.json").read_text()]
    assert all(secret not in output for output in outputs)
    assert json.loads(status.read_text())["providers"]["polygon"]["state"]


def slow_capture(url: str, backpressure: str, env: dict[str, str]) -> tuple[str, str]:
    """mdc-capture with a small queue whose stdout nobody reads for 3 s; (stdout, stderr)."""
    process = subprocess.Popen(
        [
            *(str(BIN / "mdc-capture"), "polygon", "SPY", "AAPL", "--url", url, "--duration", "6", "--queue", "100"),
            *("--backpressure", backpressure, "--backoff-cap", "0.1"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    return stdout, stderr


@pytest.mark.slow
def test_a_blocked_consumer_is_cut_by_the_server_and_reconnects(polygon_server, clean_environment, api_key) -> None:
    """--backpressure block with a stalled stdout: the server's buffer fills, it cuts us, we reconnect."""
    with polygon_server("--scenario", "slow", "--scenario-connections", "1", "--burst", "20000") as server:
        _, stderr = slow_capture(server.url, "block", clean_environment(POLYGON_API_KEY=api_key))
    assert "connection 1: slow consumer: a frame waited 1.0 s, cutting" in server.said()
    assert "connection 2: subscribe T.AAPL,Q.AAPL,T.SPY,Q.SPY" in server.said()
    assert "polygon: disconnected (closed by the server" in stderr


@pytest.mark.slow
def test_drop_oldest_keeps_reading_so_the_server_never_cuts(polygon_server, clean_environment, api_key) -> None:
    """--backpressure drop-oldest: mdc-capture drains the socket, drops (and counts) instead; no cut."""
    with polygon_server("--scenario", "slow", "--burst", "5000", "--slow-after", "3") as server:
        stdout, stderr = slow_capture(server.url, "drop-oldest", clean_environment(POLYGON_API_KEY=api_key))
    assert "connection 1: sent 25000 frames" in server.said()
    assert "slow consumer" not in server.said()
    assert "disconnected" not in stderr
    assert any(json.loads(line).get("kind") == "dropped" for line in stdout.splitlines())
