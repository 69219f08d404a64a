"""Alpaca stream messages from alpaca-py's own tests, replayed through the alpaca plugin's wire protocol.

``alpaca/ws/alpaca_py_test_websockets_messages.json`` holds the seven messages of
alpaca-py's ``tests/data/test_websockets.py::test_cast`` (see PROVENANCE.md). In
that test ``t`` was a msgpack Timestamp object, written in the recording as the
string ``"<timestamp>"``; on the JSON wire ``t`` is an RFC 3339 string with
nanoseconds, so the replay puts :data:`WIRE_TIME` in its place, a time whose nine
fraction digits make truncation to microseconds visible. Every other byte is
replayed as recorded, so numbers keep their text (``178.005``, ``177.987562``).

The messages go, as one frame the way the server batches them, through the
protocol after the handshake. The crypto order book (``T`` = ``o``) is rejected
with its reason: order books are served by the crypto stream, not the stock
stream this provider reads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from mdc_provider_alpaca.protocol import AlpacaProtocol
from mdc_provider_alpaca.wire import NOT_MAPPED

from mdc.core.codec import encode_event
from mdc.core.events import Bar, Quote, Status, Trade, TradeCancel
from mdc.core.timestamps import Timestamp, from_ns, to_ns

from ._adapters import validate

RECORDING = "alpaca/ws/alpaca_py_test_websockets_messages.json"
WIRE_TIME = "2024-03-14T15:09:26.535897932Z"
RECEIVED_NS = to_ns("2024-03-14T15:09:26.600000001Z")


class _Recorded(msgspec.Struct):
    message: msgspec.Raw


def _frame(path: Path) -> bytes:
    """The recorded messages as one wire frame, ``"<timestamp>"`` replaced by an RFC 3339 time."""
    messages = msgspec.json.decode(path.read_bytes(), type=list[_Recorded])
    raws = [bytes(recorded.message).replace(b'"<timestamp>"', f'"{WIRE_TIME}"'.encode()) for recorded in messages]
    return b"[" + b",".join(raws) + b"]"


def _replay(path: Path) -> tuple[list[object], list[tuple[str, str]]]:
    protocol = AlpacaProtocol(feed="sip", channels=("trades",), key_id="k", secret_key="s")  # noqa: S106 - unused
    assert protocol.received('[{"T":"success","msg":"authenticated"}]', 0).authenticated
    reaction = protocol.received(_frame(path), RECEIVED_NS)
    assert reaction.error is None
    return list(reaction.events), [(reject.raw, reject.reason) for reject in reaction.rejects]


ENVELOPE = {
    "ts": Timestamp(WIRE_TIME),
    "ts_recv": from_ns(RECEIVED_NS),
    "provider": "alpaca",
    "stream": "alpaca.sip",
}
BAR = Bar(
    symbol="AAPL",
    interval="1m",
    open=Decimal("177.94"),
    high=Decimal("178.005"),
    low=Decimal("177.94"),
    close=Decimal("178.005"),
    volume=Decimal(8547),
    vwap=Decimal("177.987562"),
    trade_count=66,
    **ENVELOPE,
)


@pytest.mark.conformance
def test_every_stock_message_becomes_its_event_with_exact_values(required: Callable[[str], Path]) -> None:
    """Bar, trade, quote, status and cancel with their values as written and all nine digits of ``t``."""
    found, _ = _replay(required(RECORDING))
    assert found == [
        BAR,
        Trade(
            symbol="AAPL",
            price=Decimal("177.79"),
            size=Decimal(90),
            exchange="V",
            conditions=("@", "I"),
            trade_id="6142",
            **ENVELOPE,
        ),
        Quote(
            symbol="SPIP",
            bid_price=Decimal("25.41"),
            bid_size=Decimal(35),
            ask_price=Decimal("25.43"),
            ask_size=Decimal(35),
            bid_exchange="V",
            ask_exchange="V",
            **ENVELOPE,
        ),
        Status(
            symbol="STRR",
            status="T",
            message="Trading Resumption",
            reason="C11",
            reason_message="",
            **ENVELOPE,
        ),
        TradeCancel(
            symbol="DJT",
            action="cancel",
            trade_id="4868",
            price=Decimal("36.18"),
            size=Decimal(31800),
            exchange="D",
            **ENVELOPE,
        ),
        BAR,
    ]


@pytest.mark.conformance
def test_the_crypto_order_book_is_rejected_with_its_reason(required: Callable[[str], Path]) -> None:
    """The one ``o`` message is the only reject, raw text kept, saying where order books come from."""
    _, rejects = _replay(required(RECORDING))
    assert len(rejects) == 1
    raw, reason = rejects[0]
    assert msgspec.json.decode(raw) == {
        "T": "o",
        "S": "BTC/USD",
        "t": WIRE_TIME,
        "b": [{"p": 65128.1, "s": 1.6542}],
        "a": [{"p": 65128.1, "s": 1.6542}],
    }
    assert reason == NOT_MAPPED["o"]


@pytest.mark.conformance
def test_the_events_pass_validation(required: Callable[[str], Path]) -> None:
    """All six events pass mdc's validation with no integrity findings."""
    found, _ = _replay(required(RECORDING))
    counts, _ = validate(found)  # type: ignore[arg-type]
    assert (counts.passed, counts.rejected, dict(counts.integrity)) == (6, 0, {})


@pytest.mark.conformance
@pytest.mark.slow
def test_the_recording_served_by_the_local_server_comes_out_of_mdc_capture(
    required: Callable[[str], Path], tmp_path: Path
) -> None:
    """The recorded frame, sent as is by tests/servers/alpaca.py, comes out of ``mdc-capture alpaca`` as
    the same six events (only ts_recv differs) and one reject line for the crypto order book."""
    frame = _frame(required(RECORDING))
    script = tmp_path / "script.json"
    script.write_bytes(msgspec.json.encode({"frames": [{"raw": frame.decode()}]}))
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.alpaca", "--port", "0", "--script", str(script)],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().decode().strip().replace("/v2/iex", "/v2/sip")
        options = ["--url", url, "--feed", "sip", "-o", "channels=all", "--max-events", "6"]
        result = subprocess.run(
            [str(Path(sys.executable).parent / "mdc-capture"), "alpaca", "AAPL", "SPIP", "STRR", *options],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env=os.environ | {"APCA_API_KEY_ID": "mdc-test-key", "APCA_API_SECRET_KEY": "mdc-test-secret"},
        )
    finally:
        server.kill()
        server.communicate()
    assert result.returncode == 0, result.stderr
    expected, _ = _replay(required(RECORDING))
    captured = [msgspec.json.decode(line) for line in result.stdout.splitlines()]
    replayed = [msgspec.json.decode(encode_event(event)) for event in expected]  # type: ignore[arg-type]
    for event in captured + replayed:
        del event["ts_recv"]
    assert captured == replayed
    assert result.stderr.count("rejected message:") == 1
    assert '"BTC/USD"' in result.stderr
    assert NOT_MAPPED["o"] in result.stderr
