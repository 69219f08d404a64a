"""Tests of the example provider: parser, protocol, and mdc-capture against the reference server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from mdc_provider_example.parse import parse_data
from mdc_provider_example.protocol import ExampleProtocol

from mdc.core.events import Trade
from mdc.core.provider import FeedFailure, ProviderReject

BIN = Path(sys.executable).parent


def test_a_trade_keeps_its_price_text_and_nanoseconds() -> None:
    """451.10 stays 451.10 and the timestamp keeps all nine digits."""
    event = parse_data('{"ev":"trade","sym":"SPY","seq":3,"px":451.10,"qty":100,"t":1764080000123456789}', "s", 0)
    assert isinstance(event, Trade)
    assert (str(event.price), event.ts, event.seq) == ("451.10", "2025-11-25T14:13:20.123456789Z", 3)


def test_garbage_is_rejected_with_the_raw_message() -> None:
    """A message that is not JSON is a reject carrying the message, not an exception."""
    reaction = ExampleProtocol("t", "example.live").received("<html>502</html>", 0)
    assert reaction.events == ()
    assert reaction.rejects[0].raw == "<html>502</html>"


def test_the_greeting_is_answered_with_the_token_and_authorized_authenticates() -> None:
    """The welcome is answered with the token, and "authorized" means authenticated."""
    protocol = ExampleProtocol("tok", "example.live")
    assert json.loads(protocol.received('{"ev":"welcome"}', 0).send[0]) == {"op": "auth", "token": "tok"}
    assert protocol.received('{"ev":"authorized"}', 0).authenticated


def test_auth_failure_is_a_fatal_auth_error() -> None:
    """auth_failed maps to FeedFailure.AUTH (exit 77)."""
    error = ExampleProtocol("t", "s").received('{"ev":"error","code":"auth_failed","msg":"no"}', 0).error
    assert error is not None
    assert (error.failure, error.failure.exit_code) == (FeedFailure.AUTH, 77)


def test_a_negative_timestamp_is_rejected() -> None:
    """A trade time must be nanoseconds since the epoch."""
    assert isinstance(parse_data('{"ev":"trade","sym":"S","seq":1,"px":1,"qty":1,"t":-5}', "s", 0), ProviderReject)


def test_mdc_capture_streams_from_the_reference_server() -> None:
    """mdc-capture example SPY, against the server, writes valid trades and quotes of SPY."""
    with subprocess.Popen(
        [sys.executable, "-m", "mdc_provider_example.server", "--token", "tok", "--rate", "0"],
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            result = subprocess.run(
                [BIN / "mdc-capture", "example", "SPY", "--url", url, "--max-events", "20"],
                capture_output=True,
                text=True,
                timeout=60,
                env={**os.environ, "EXAMPLE_TOKEN": "tok"},
                check=False,
            )
        finally:
            server.kill()
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    assert len(events) == 20
    assert {event["type"] for event in events} == {"trade", "quote"}
    assert {(event["symbol"], event["provider"], event["stream"]) for event in events} == {
        ("SPY", "example", "example.live")
    }
    assert all(Decimal(str(event.get("price", 1))) > 0 for event in events)
