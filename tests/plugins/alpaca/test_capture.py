"""The real ``mdc-capture alpaca`` against the local Alpaca server: handshake, errors, faults, secrets.

Every run goes through the ``capture`` fixture, which also checks that the
secret key never shows in stdout, stderr or the status file.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins.alpaca._support import (
    BIN,
    SECRET,
    SESSION,
    SESSION_EVENTS,
    SESSION_SYMBOLS,
    Server,
    environment,
    events,
)

Capture = Callable[..., subprocess.CompletedProcess[str]]
Start = Callable[..., Server]
ALL = ["-o", "channels=all"]


def session_capture(capture: Capture, server: Server, count: int, *extra: str) -> subprocess.CompletedProcess[str]:
    """Capture the session fixture's symbols on every channel, ``count`` events."""
    return capture(*SESSION_SYMBOLS, "--url", server.url, *ALL, "--max-events", str(count), *extra)


def types(found: list[dict[str, Any]]) -> Counter[str]:
    """Events by type."""
    return Counter(event["type"] for event in found)


def test_events_flow_and_pass_validation(alpaca_server: Start, capture: Capture) -> None:
    """Every message type of the session comes out as an event, and mdc-validate passes them all."""
    server = alpaca_server("--script", str(SESSION))
    result = session_capture(capture, server, SESSION_EVENTS)
    assert result.returncode == 0, result.stderr
    found = events(result.stdout)
    assert types(found) == {
        "trade": 5,
        "quote": 4,
        "bar": 3,
        "status": 2,
        "luld": 1,
        "trade_correction": 1,
        "trade_cancel": 2,
    }
    assert {event["stream"] for event in found} == {"alpaca.iex", "alpaca.iex.updated_bars"}
    validated = subprocess.run(
        [str(BIN / "mdc-validate")], input=result.stdout, capture_output=True, text=True, check=False
    )
    assert validated.returncode == 0, validated.stderr
    assert f"read {SESSION_EVENTS}, passed {SESSION_EVENTS}, rejected 0" in validated.stderr


def test_the_handshake_authenticates_before_it_subscribes(alpaca_server: Start, capture: Capture) -> None:
    """The server sees one accepted auth, then one subscribe with every symbol on every asked channel."""
    server = alpaca_server("--script", str(SESSION))
    session_capture(capture, server, 3)
    assert [entry["event"] for entry in server.log()][:3] == ["connect", "auth", "subscribe"]
    assert server.log("auth") == [{"connection": 1, "event": "auth", "accepted": True}]
    (subscribe,) = server.log("subscribe")
    assert subscribe["channels"]["trades"] == sorted(SESSION_SYMBOLS)
    assert set(subscribe["channels"]) == {"trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds"}


def test_default_channels_are_trades_quotes_statuses_and_lulds(alpaca_server: Start, capture: Capture) -> None:
    """Without -o channels the subscribe asks for trades, quotes, statuses and LULDs."""
    server = alpaca_server("--script", str(SESSION))
    capture("SPY", "--url", server.url, "--max-events", "2")
    (subscribe,) = server.log("subscribe")
    assert subscribe["channels"] == {"trades": ["SPY"], "quotes": ["SPY"], "statuses": ["SPY"], "lulds": ["SPY"]}


def test_auth_failure_exits_77_with_no_events(alpaca_server: Start, capture: Capture) -> None:
    """A refused secret ends the run with 77, names the variables, and writes nothing to stdout."""
    server = alpaca_server("--script", str(SESSION))
    result = capture("SPY", "--url", server.url, secret="sec-wrong-one", timeout=20)  # noqa: S106 - not ours
    assert result.returncode == 77
    assert result.stdout == ""
    assert "auth failed" in result.stderr
    assert "code 402" in result.stderr
    assert "APCA_API_KEY_ID" in result.stderr
    assert server.log("subscribe") == []


@pytest.mark.parametrize(
    ("code", "status", "words"),
    [
        (405, 2, "symbol limit exceeded"),
        (409, 77, "insufficient subscription"),
        (408, 77, "v2 not enabled"),
    ],
)
def test_fatal_server_errors_end_the_run_with_their_exit_status(
    alpaca_server: Start, capture: Capture, code: int, status: int, words: str
) -> None:
    """405 (too many symbols) exits 2; 409 and 408 (not entitled) exit 77; no events either way."""
    server = alpaca_server("--script", str(SESSION), "--error", str(code))
    result = capture("SPY", "--url", server.url, timeout=20)
    assert result.returncode == status, result.stderr
    assert result.stdout == ""
    assert words in result.stderr
    assert f"code {code}" in result.stderr


def test_missing_credentials_exit_77_naming_the_variables() -> None:
    """No key id or secret in the environment: exit 77 before connecting, naming both variables."""
    env = {key: value for key, value in environment().items() if not key.startswith("APCA_")}
    env["HOME"] = "/nonexistent"  # no keyring entries either
    result = subprocess.run(
        [str(BIN / "mdc-capture"), "alpaca", "SPY", "--url", "ws://127.0.0.1:9/v2/iex"],
        env=env,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 77
    assert "APCA_API_KEY_ID" in result.stderr
    assert "APCA_API_SECRET_KEY" in result.stderr


def test_an_abrupt_close_is_followed_by_a_reconnect_and_a_resubscribe(alpaca_server: Start, capture: Capture) -> None:
    """The server cuts the first connection after 2 frames; the client authenticates and subscribes again."""
    server = alpaca_server(
        "--script", str(SESSION), "--scenario", "abrupt-close", "--scenario-connections", "1", "--close-after", "2"
    )
    result = session_capture(capture, server, 2 + SESSION_EVENTS)
    assert result.returncode == 0, result.stderr
    assert [entry["connection"] for entry in server.log("auth")] == [1, 2]
    assert [entry["connection"] for entry in server.log("subscribe")] == [1, 2]
    assert types(events(result.stdout))["trade_correction"] == 1
    assert "alpaca: disconnected" in result.stderr
    assert result.status["providers"]["alpaca"]["reconnects"] >= 1  # type: ignore[attr-defined]


def test_garbage_frames_are_rejected_with_their_text_and_capture_goes_on(
    alpaca_server: Start, capture: Capture
) -> None:
    """Each bad frame or element is one reject line with its raw text; the good trade among them and the rest pass."""
    server = alpaca_server("--script", str(SESSION), "--scenario", "garbage")
    result = session_capture(capture, server, SESSION_EVENTS + 1)
    assert result.returncode == 0, result.stderr
    rejects = [line for line in result.stderr.splitlines() if "rejected message" in line]
    assert "mdc-capture: alpaca: rejected message: not JSON: <html>502 Bad Gateway</html>" in rejects
    assert any("not JSON: [{" in line for line in rejects)
    assert any('not a JSON array of messages (got an object): {"T":"t"' in line for line in rejects)
    assert any("unknown message type T='zz'" in line for line in rejects)
    assert any("bad trade (t): Invalid decimal string - at `$.p`" in line and '"p":"a lot"' in line for line in rejects)
    assert any("bad quote (q): t is not an ISO-8601 timestamp" in line for line in rejects)
    assert any("crypto order book (T=o)" in line for line in rejects)
    assert any("not a JSON object (got a number): 42" in line for line in rejects)
    assert len(rejects) == 9
    assert result.status["rejects"] == 9  # type: ignore[attr-defined]
    assert events(result.stdout)[0]["trade_id"] == "3"


def test_a_silent_connection_is_dropped_after_the_idle_timeout_and_reconnected(
    alpaca_server: Start, capture: Capture
) -> None:
    """The first connection stops sending and answering pings; the client drops it and gets the session again."""
    server = alpaca_server(
        "--script", str(SESSION), "--scenario", "silent", "--scenario-connections", "1", "--close-after", "2"
    )
    result = session_capture(capture, server, 2 + SESSION_EVENTS, "--idle-timeout", "0.5")
    assert result.returncode == 0, result.stderr
    assert "silent connection" in result.stderr
    assert [entry["connection"] for entry in server.log("auth")] == [1, 2]


def test_a_slow_client_error_is_retried(alpaca_server: Start, capture: Capture) -> None:
    """407 (slow client) after 2 frames drops the connection; the next one delivers the session."""
    server = alpaca_server(
        "--script", str(SESSION), "--error", "407", "--error-after", "2", "--scenario-connections", "1"
    )
    result = session_capture(capture, server, 2 + SESSION_EVENTS)
    assert result.returncode == 0, result.stderr
    assert "slow client" in result.stderr
    assert [entry["connection"] for entry in server.log("subscribe")] == [1, 2]


def test_the_connection_limit_is_retried_until_the_breaker_gives_up(alpaca_server: Start, capture: Capture) -> None:
    """406 on every connection: retried with backoff, then exit 69 saying why."""
    server = alpaca_server("--max-connections", "0")
    result = capture("SPY", "--url", server.url, "--breaker-failures", "2", "--retries", "0", timeout=20)
    assert result.returncode == 69, result.stderr
    assert "connection limit exceeded" in result.stderr
    assert result.stdout == ""
    assert len(server.log("connect")) >= 2


def test_the_test_feed_streams_fakepaca(alpaca_server: Start, capture: Capture) -> None:
    """On /v2/test only FAKEPACA ticks; the feed (and stream id) comes from the URL."""
    server = alpaca_server("--messages", "40", "--batch", "10")
    result = capture("FAKEPACA", "AAPL", "--url", f"{server.base}/v2/test", "--max-events", "40")
    assert result.returncode == 0, result.stderr
    found = events(result.stdout)
    assert len(found) == 40
    assert {(event["symbol"], event["stream"]) for event in found} == {("FAKEPACA", "alpaca.test")}
    (subscribe,) = server.log("subscribe")
    assert set(subscribe["channels"]) == {"trades", "quotes", "bars"}


def test_large_batches_as_fast_as_possible_arrive_whole_under_block(alpaca_server: Start, capture: Capture) -> None:
    """20,000 messages in frames of 1,000 sent flat out: every one is written, none dropped."""
    server = alpaca_server("--messages", "20000", "--batch", "1000")
    result = capture("SPY", "AAPL", "--url", server.url, "--max-events", "20000", "--backpressure", "block")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 20000
    assert result.status["dropped"] == 0  # type: ignore[attr-defined]


def test_the_acceptance_pipeline_validates_and_stops_quietly_at_head(alpaca_server: Start) -> None:
    """mdc-capture alpaca SPY AAPL --feed iex --url ... --max-events 1000 | mdc-validate | head: 10 valid lines."""
    server = alpaca_server("--messages", "-1")
    pipeline = f"mdc-capture alpaca SPY AAPL --feed iex --url {server.url} --max-events 1000 | mdc-validate | head"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline],
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = events(result.stdout)
    assert len(lines) == 10
    assert {line["symbol"] for line in lines} == {"SPY", "AAPL"}
    assert "Traceback" not in result.stderr
    assert "Broken pipe" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
