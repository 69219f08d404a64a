"""Polygon's own WebSocket mock server frames (polygon-py test_websocket/mock_server.py) through the polygon provider.

The six server-to-client frames: the ``connected`` greeting, ``auth_success``,
two subscription answers whose text the mock templates (kept here as
``"<templated>"``), and the AAPL and AMZN trades of 2022-05-04. They are fed,
in order and byte for byte, to :class:`~mdc_provider_polygon.protocol.PolygonProtocol`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from mdc_provider_polygon.protocol import PolygonProtocol

from mdc.core.events import Trade
from mdc.core.provider import Reaction

from ._adapters import validate

FRAMES = "polygon/ws/mock_server_frames.json"
RECEIVED_NS = 1_651_684_193_000_000_000


class _Recording(msgspec.Struct):
    server_to_client_frames: list[msgspec.Raw]


def _reactions(path: Path) -> list[Reaction]:
    frames = msgspec.json.decode(path.read_bytes(), type=_Recording).server_to_client_frames
    machine = PolygonProtocol(api_key="conformance-key", stream="polygon.stocks", channels=("T",))
    return [machine.received(bytes(frame), RECEIVED_NS) for frame in frames]


@pytest.mark.conformance
def test_the_mock_servers_handshake_drives_the_protocol(required: Callable[[str], Path]) -> None:
    """Greeting -> auth sent with the key; auth_success -> authenticated; the templated answers change nothing."""
    connected, authenticated, first_answer, _, _, last_answer = _reactions(required(FRAMES))
    assert [json.loads(message) for message in connected.send] == [{"action": "auth", "params": "conformance-key"}]
    assert (connected.authenticated, connected.events, connected.error) == (False, (), None)
    assert authenticated == Reaction(authenticated=True)
    assert first_answer == last_answer == Reaction()


@pytest.mark.conformance
def test_the_recorded_trades_keep_every_value(required: Callable[[str], Path]) -> None:
    """AAPL and AMZN trades: price text, size, exchange and condition ids, trade ids, millisecond times, no seq."""
    reactions = _reactions(required(FRAMES))
    trades = [event for reaction in reactions for event in reaction.events]
    assert all(isinstance(trade, Trade) for trade in trades)
    assert [
        (
            trade.symbol,
            trade.ts,
            str(trade.price),
            trade.size,
            trade.exchange,
            trade.conditions,
            trade.trade_id,
            trade.seq,
        )
        for trade in trades
        if isinstance(trade, Trade)
    ] == [
        ("AAPL", "2022-05-04T17:09:52.462000000Z", "161.87", Decimal(300), "10", ("14", "41"), "5096", None),
        ("AMZN", "2022-05-04T17:09:52.536000000Z", "161.87", Decimal(1), "12", ("14", "37", "41"), "72815", None),
        ("AMZN", "2022-05-04T17:09:52.717000000Z", "161.87", Decimal(100), "4", (), "799", None),
    ]
    assert {(trade.provider, trade.stream, trade.ts_recv) for trade in trades} == {
        ("polygon", "polygon.stocks", "2022-05-04T17:09:53.000000000Z")
    }
    assert [reaction.rejects for reaction in reactions] == [()] * 6


@pytest.mark.conformance
def test_the_recorded_trades_pass_validation(required: Callable[[str], Path]) -> None:
    """mdc-validate's rules accept all three trades, with no integrity finding (no seq, so no false gap)."""
    trades = [event for reaction in _reactions(required(FRAMES)) for event in reaction.events]
    counts, batch = validate(trades)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (3, 3, 0, {})
    assert batch.rejects == []
