"""The tap, driven at ib_async's API boundary: a real IB, not connected, fed TWS messages by its own decoder.

No socket: the test hands TWS message fields to ``ib.client.decoder.interpret``,
so ib_async's decoder builds its objects (``TickAttribLast`` from the mask ...)
and calls its wrapper, whose callbacks the connection has tapped; what comes
out is what trio receives.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import trio
from ib_async import IB, Contract
from mdc_provider_ib.bridge import LoopThread, Outbox
from mdc_provider_ib.options import plan_from
from mdc_provider_ib.session import Batch, Connection, Message

from mdc.core.events import Depth, Integrity, Quote, Snapshot, Trade
from tests.plugins.ib._support import trio_test

pytestmark = pytest.mark.timeout(30)
SPY = Contract(conId=756733, secType="STK", symbol="SPY", exchange="SMART", currency="USD")
ES = Contract(conId=649180695, secType="FUT", symbol="ES", exchange="CME", currency="USD")


async def fire(packets: list[list[list[str]]], tracked: dict[int, tuple[str, str, Contract]]) -> list[Batch]:
    """Feed each packet's messages to a tapped, unconnected IB on the loop thread; the batches trio receives."""
    thread = LoopThread()
    send, receive = trio.open_memory_channel[Message](100)
    connection = Connection(
        plan_from({}, {}, 30.0, {}).unwrap(),
        IB,
        Outbox(send, trio.lowlevel.current_trio_token()),
        lambda: 1_795_530_600_500_000_000,
        frozenset(),
        {},
    )

    def start() -> None:
        ib = IB()
        connection.tap(ib)
        for request_id, (symbol, kind, contract) in tracked.items():
            ib.wrapper.startTicker(
                request_id, contract, {"trades": "AllLast", "quotes": "BidAsk"}.get(kind, "mktDepth")
            )
            connection.track(request_id, symbol, kind, contract)
        ib.client.decoder.serverVersion = 178

    def packet(messages: list[list[str]]) -> None:
        assert connection.ib is not None
        for fields in messages:
            connection.ib.client.decoder.interpret(fields)

    batches: list[Batch] = []
    try:
        thread.call(start)
        for messages in packets:
            thread.call(packet, messages)
            with trio.fail_after(5):
                message = await receive.receive()
            assert isinstance(message, Batch)
            batches.append(message)
    finally:
        receive.close()
        await thread.close()
    return batches


@trio_test
async def test_one_packet_is_one_batch_in_arrival_order() -> None:
    """Ticks of two symbols and two kinds in one packet come out as one batch, in the order TWS sent them."""
    (batch,) = await fire(
        [
            [
                ["99", "1", "2", "1795530600", "668.1", "100", "0", "ARCA", ""],
                ["99", "3", "3", "1795530601", "6712.25", "6712.5", "12", "9", "0"],
                ["99", "2", "3", "1795530600", "668.09", "668.11", "500", "300", "0"],
                ["99", "1", "2", "1795530602", "668.11", "5", "3", "", "I"],
            ]
        ],
        {1: ("SPY", "trades", SPY), 2: ("SPY", "quotes", SPY), 3: ("ES", "quotes", ES)},
    )
    summary = [
        (type(event).__name__, event.symbol, event.ts)  # type: ignore[union-attr]
        for event in batch.items
    ]
    assert summary == [
        ("Trade", "SPY", "2026-11-24T14:30:00.000000000Z"),
        ("Quote", "ES", "2026-11-24T14:30:01.000000000Z"),
        ("Quote", "SPY", "2026-11-24T14:30:00.000000000Z"),
        ("Trade", "SPY", "2026-11-24T14:30:02.000000000Z"),
    ]
    last = batch.items[3]
    assert isinstance(last, Trade)
    assert (last.price, last.conditions, last.ts_recv) == (
        Decimal("668.11"),
        ("I", "pastLimit", "unreported"),  # mask 3: both attribute bits, decoded by ib_async
        "2026-11-24T14:30:00.500000000Z",
    )


@trio_test
async def test_depth_messages_are_tapped_once() -> None:
    """updateMktDepth (12) goes through updateMktDepthL2 in ib_async: one depth event each, not two."""
    (batch,) = await fire(
        [
            [
                ["12", "1", "4", "0", "0", "1", "6712.25", "12"],
                ["13", "1", "4", "0", "CME", "0", "0", "6712.5", "9", "0"],
                ["12", "1", "4", "0", "2", "1", "6712.25", "0"],
            ]
        ],
        {4: ("ES", "depth", ES)},
    )
    assert [
        (event.side, event.op, event.position, event.price, event.size, event.exchange)
        for event in batch.items
        if isinstance(event, Depth)
    ] == [
        ("bid", "insert", 0, Decimal("6712.25"), Decimal("12.0"), None),
        ("ask", "insert", 0, Decimal("6712.5"), Decimal("9.0"), "CME"),
        ("bid", "delete", 0, Decimal("6712.25"), None, None),
    ]


@trio_test
async def test_317_is_a_book_reset_and_an_empty_snapshot() -> None:
    """Error 317 on depth: integrity book_reset, then an empty snapshot (not ib_async's synthetic deletes)."""
    (batch,) = await fire(
        [
            [
                ["12", "1", "4", "0", "0", "1", "6712.25", "12"],
                ["4", "2", "4", "317", "Market depth data has been RESET.", ""],
            ]
        ],
        {4: ("ES", "depth", ES)},
    )
    depth, reset, empty = batch.items
    assert isinstance(depth, Depth)
    assert isinstance(reset, Integrity)
    assert isinstance(empty, Snapshot)
    assert (reset.kind, empty.bids, empty.asks) == ("book_reset", (), ())


@trio_test
async def test_messages_for_other_requests_are_not_ours() -> None:
    """A tick for a request the connection did not make is left to ib_async; a batch holds only ours."""
    (batch,) = await fire(
        [
            [
                ["99", "9", "2", "1795530600", "1.0", "1", "0", "", ""],
                ["99", "1", "2", "1795530600", "2.0", "1", "0", "", ""],
            ]
        ],
        {1: ("SPY", "trades", SPY)},
    )
    assert [event.price for event in batch.items if isinstance(event, Trade | Quote) and isinstance(event, Trade)] == [
        Decimal("2.0")
    ]
