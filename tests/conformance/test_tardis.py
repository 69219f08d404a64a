"""Tardis.dev CSV recordings (BitMEX trades, Deribit L2) replayed through mdc's core."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from pathlib import Path

import pytest

from mdc.core.bars import BarState, Interval, aggregate, flush
from mdc.core.events import Depth, Snapshot
from mdc.core.timestamps import NS_PER_SECOND

from ._adapters import read_csv, tardis_book, tardis_trades, validate, wire_text

TRADES = "trades/tardis_bitmex_trades_XBTUSD.csv"
BOOK = "l2/tardis_deribit_incremental_book_L2_BTC-PERPETUAL.csv"


@pytest.mark.conformance
def test_bitmex_trades_all_pass_validation(required: Callable[[str], Path]) -> None:
    """The 10 real BitMEX trades pass mdc-validate's pipeline untouched: no rejects, no integrity events."""
    trades = tardis_trades(read_csv(required(TRADES)))
    counts, batch = validate(trades)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (10, 10, 0, {})
    assert batch.rejects == []
    assert [trade.side for trade in trades] == ["sell"] * 10
    assert (trades[0].ts, trades[0].ts_recv) == ("2020-03-01T00:00:03.145000000Z", "2020-03-01T00:00:03.307160000Z")


@pytest.mark.conformance
def test_bitmex_trades_encode_the_csv_text_exactly(required: Callable[[str], Path]) -> None:
    """Each encoded trade writes the CSV's price and amount text byte for byte (8531.5, 2152, 1)."""
    rows = read_csv(required(TRADES))
    written = [wire_text(trade) for trade in tardis_trades(rows)]
    assert [(line["price"], line["size"], line["trade_id"]) for line in written] == [
        (row["price"], row["amount"], row["id"]) for row in rows
    ]
    assert written[0]["price"] == "8531.5"


@pytest.mark.conformance
def test_bitmex_trades_aggregate_to_one_second_bars(required: Callable[[str], Path]) -> None:
    """1s bars from the trades hold every trade and all the volume, and pass validation themselves."""
    rows = read_csv(required(TRADES))
    state, closed, late = aggregate(BarState(Interval("1s", NS_PER_SECOND)), tardis_trades(rows))
    bars = closed + flush(state)
    assert late == []
    assert sum(bar.trade_count or 0 for bar in bars) == 10
    assert sum(bar.volume for bar in bars) == sum(Decimal(row["amount"]) for row in rows) == Decimal(2161)
    # Both timestamps (03.145 and 03.276) fall in the same second.
    assert [(bar.ts, bar.open, bar.high, bar.low, bar.close, bar.vwap) for bar in bars] == [
        ("2020-03-01T00:00:03.000000000Z", *[Decimal("8531.5")] * 4, Decimal("8531.5"))
    ]
    counts, _ = validate(bars)
    assert (counts.passed, counts.rejected) == (1, 0)


def _crossed(bids: dict[Decimal, Decimal], asks: dict[Decimal, Decimal]) -> bool:
    return bool(bids) and bool(asks) and max(bids) >= min(asks)


def _replay_book(events: Iterable[Snapshot | Depth]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    """A tiny price-level book; asserts after every event that it is not crossed (or locked)."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for event in events:
        match event:
            case Snapshot():
                bids, asks = dict(event.bids), dict(event.asks)
            case Depth(op="set", price=Decimal() as price, size=Decimal() as size):
                side = bids if event.side == "bid" else asks
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
            case _:
                pytest.fail(f"unexpected book event {event!r}")
        assert not _crossed(bids, asks), event
    return bids, asks


@pytest.mark.conformance
def test_deribit_book_snapshot_passes_and_is_never_crossed(required: Callable[[str], Path]) -> None:
    """The 15 rows are one snapshot of 15 asks (no bids, no incremental rows); it passes and the book is sound."""
    rows = read_csv(required(BOOK))
    assert len(rows) == 15
    # PROVENANCE promises incremental rows after the snapshot; this cut of the
    # Tardis sample has none, and its snapshot holds the ask side only.
    assert {row["is_snapshot"] for row in rows} == {"true"}
    assert {row["side"] for row in rows} == {"ask"}
    events = tardis_book(rows)
    assert [type(event) for event in events] == [Snapshot]
    (snapshot,) = events
    assert isinstance(snapshot, Snapshot)
    assert (len(snapshot.bids), len(snapshot.asks)) == (0, 15)
    assert snapshot.asks[0] == (Decimal("6421.5"), Decimal(18640))
    assert snapshot.asks[-1] == (Decimal("6428.5"), Decimal(39950))
    assert (snapshot.ts, snapshot.ts_recv) == ("2020-04-01T00:00:00.245000000Z", "2020-04-01T00:00:00.355684000Z")
    counts, _ = validate(events)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (1, 1, 0, {})
    bids, asks = _replay_book(events)
    assert (len(bids), len(asks), min(asks)) == (0, 15, Decimal("6421.5"))


@pytest.mark.conformance
def test_deribit_rows_resent_as_incrementals_become_level_sets(required: Callable[[str], Path]) -> None:
    """The incremental path, fed the real rows again as updates: amount 0 is a set to size 0 that empties the level.

    The recording has no incremental rows (see above), so this re-sends its own
    rows 1 ms later with ``is_snapshot=false`` and the best ask's amount set to 0.
    """
    rows = read_csv(required(BOOK))
    later = [
        {**row, "is_snapshot": "false", "timestamp": str(int(row["timestamp"]) + 1000)}
        | ({"amount": "0"} if index == 0 else {})
        for index, row in enumerate(rows)
    ]
    events = tardis_book(rows + later)
    assert [type(event) for event in events] == [Snapshot] + [Depth] * 15
    depths = [event for event in events if isinstance(event, Depth)]
    assert {(depth.op, depth.side) for depth in depths} == {("set", "ask")}
    assert [depth.size for depth in depths if depth.size == 0] == [Decimal(0)]
    counts, _ = validate(events)
    assert (counts.passed, counts.rejected) == (16, 0)
    _, asks = _replay_book(events)
    assert (len(asks), min(asks)) == (14, Decimal(6422))
