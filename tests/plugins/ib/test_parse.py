"""IB's data objects -> mdc events: each tick type, exact prices, empty sides, bad input rejected."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from ib_async import (
    BarData,
    HistoricalTickBidAsk,
    HistoricalTickLast,
    MktDepthData,
    RealTimeBar,
    TickAttribBidAsk,
    TickAttribLast,
    TickByTickAllLast,
    TickByTickBidAsk,
)
from mdc_provider_ib import parse

from mdc.core.events import Bar, Depth, Quote, Snapshot, Trade
from mdc.core.provider import ProviderReject

T0 = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)
RECEIVED = 1_795_530_600_123_456_789
ENVELOPE = {"symbol": "SPY", "stream": "ib.live", "received_ns": RECEIVED}
TS = "2026-11-24T14:30:00.000000000Z"
TS_RECV = "2026-11-24T14:30:00.123456789Z"


def test_all_last_tick_is_a_trade() -> None:
    """AllLast: price, size, venue and IB's special conditions, IB's time as ts, the receive time as ts_recv."""
    tick = TickByTickAllLast(2, T0, 668.1, 100.0, TickAttribLast(), "ARCA", " F T ")
    assert parse.trade(tick, **ENVELOPE) == Trade(
        symbol="SPY",
        ts=TS,
        ts_recv=TS_RECV,
        provider="ib",
        stream="ib.live",
        price=Decimal("668.1"),
        size=Decimal("100.0"),
        exchange="ARCA",
        conditions=("F", "T"),
    )


def test_trade_attributes_become_conditions() -> None:
    """pastLimit and unreported are kept, by IB's names, after the special conditions; no venue is None."""
    tick = TickByTickAllLast(2, T0, 668.11, 25.0, TickAttribLast(pastLimit=True, unreported=True), "", "I")
    event = parse.trade(tick, **ENVELOPE)
    assert isinstance(event, Trade)
    assert (event.conditions, event.exchange) == (("I", "pastLimit", "unreported"), None)


def test_historical_last_tick_goes_the_same_way() -> None:
    """A recorded HistoricalTickLast makes the same trade as the live tick with the same fields."""
    live = TickByTickAllLast(1, T0, 6.2, 30.0, TickAttribLast(), "", "")
    recorded = HistoricalTickLast(T0, TickAttribLast(), 6.2, 30.0, "", "")
    assert parse.trade(live, **ENVELOPE) == parse.trade(recorded, **ENVELOPE)


def test_trade_without_a_price_is_rejected() -> None:
    """A NaN price (ib_async's unset value) is a reject carrying the tick, not an event."""
    tick = TickByTickAllLast(2, T0, float("nan"), 1.0, TickAttribLast(), "", "")
    event = parse.trade(tick, **ENVELOPE)
    assert isinstance(event, ProviderReject)
    assert event.raw.startswith("TickByTickAllLast(")


def test_bid_ask_tick_is_a_quote() -> None:
    """BidAsk: both sides with sizes, exact."""
    tick = TickByTickBidAsk(T0, 668.09, 668.11, 500.0, 300.0, TickAttribBidAsk())
    assert parse.quote(tick, **ENVELOPE) == Quote(
        symbol="SPY",
        ts=TS,
        ts_recv=TS_RECV,
        provider="ib",
        stream="ib.live",
        bid_price=Decimal("668.09"),
        bid_size=Decimal("500.0"),
        ask_price=Decimal("668.11"),
        ask_size=Decimal("300.0"),
    )


def test_empty_side_has_no_price_and_size_zero() -> None:
    """IB's -1 / 0 for a side with nothing on it become no price and size 0."""
    tick = HistoricalTickBidAsk(T0, TickAttribBidAsk(), -1.0, 15.3, 0.0, 1.0)
    event = parse.quote(tick, **ENVELOPE)
    assert (event.bid_price, event.bid_size, event.ask_price, event.ask_size) == (
        None,
        Decimal(0),
        Decimal("15.3"),
        Decimal("1.0"),
    )


def test_depth_insert_update_delete() -> None:
    """Operations 0/1/2 are insert/update/delete at the position; side 1 is bid, 0 ask; ts is the receive time."""
    insert = parse.depth(MktDepthData(T0, 0, "", 0, 1, 6712.25, 12.0), **ENVELOPE)
    update = parse.depth(MktDepthData(T0, 2, "NSDQ", 1, 0, 6712.5, 9.0), **ENVELOPE)
    delete = parse.depth(MktDepthData(T0, 1, "", 2, 1, 6712.0, 0.0), **ENVELOPE)
    assert insert == Depth(
        symbol="SPY",
        ts=TS_RECV,
        ts_recv=TS_RECV,
        provider="ib",
        stream="ib.live",
        side="bid",
        op="insert",
        position=0,
        price=Decimal("6712.25"),
        size=Decimal("12.0"),
    )
    assert isinstance(update, Depth)
    assert (update.side, update.op, update.position, update.exchange) == ("ask", "update", 2, "NSDQ")
    assert isinstance(delete, Depth)
    assert (delete.op, delete.position, delete.price, delete.size) == ("delete", 1, Decimal("6712.0"), None)


def test_depth_delete_without_a_price_keeps_none() -> None:
    """A delete whose price is 0 carries no price: the position says which level goes."""
    delete = parse.depth(MktDepthData(T0, 3, "", 2, 0, 0.0, 0.0), **ENVELOPE)
    assert isinstance(delete, Depth)
    assert (delete.price, delete.position) == (None, 3)


def test_unknown_depth_operation_is_rejected() -> None:
    """An operation IB does not define (3) is a reject, not a guess."""
    assert isinstance(parse.depth(MktDepthData(T0, 0, "", 3, 1, 1.0, 1.0), **ENVELOPE), ProviderReject)


def test_empty_book_snapshot() -> None:
    """The subscription start (and 317) is an empty snapshot stamped with the receive time."""
    assert parse.empty_book(**ENVELOPE) == Snapshot(
        symbol="SPY", ts=TS_RECV, ts_recv=TS_RECV, provider="ib", stream="ib.live", bids=(), asks=()
    )


def test_realtime_bar_is_a_5s_bar() -> None:
    """reqRealTimeBars: a 5 s bar starting at IB's time, with IB's VWAP (wap) and trade count."""
    bar = RealTimeBar(T0, -1, 6712.25, 6712.75, 6712.0, 6712.5, 184.0, 6712.41, 57)
    assert parse.realtime_bar(bar, **ENVELOPE) == Bar(
        symbol="SPY",
        ts=TS,
        ts_recv=TS_RECV,
        provider="ib",
        stream="ib.live",
        interval="5s",
        open=Decimal("6712.25"),
        high=Decimal("6712.75"),
        low=Decimal("6712.0"),
        close=Decimal("6712.5"),
        volume=Decimal("184.0"),
        vwap=Decimal("6712.41"),
        trade_count=57,
    )


def test_bar_without_trades_has_no_vwap() -> None:
    """A wap of 0 (no trades; MIDPOINT bars) and a count of -1 are unknown, not zero."""
    event = parse.realtime_bar(RealTimeBar(T0, -1, 1.1, 1.1, 1.1, 1.1, 0.0, 0.0, -1), **ENVELOPE)
    assert isinstance(event, Bar)
    assert (event.vwap, event.trade_count) == (None, None)


def test_daily_historical_bar_starts_at_midnight_utc() -> None:
    """A daily BarData's date (a date, no time) is its midnight UTC."""
    bar = BarData(date(2026, 11, 24), 1.0, 2.0, 0.5, 1.5, 10.0, 1.2, 3)
    event = parse.historical_bar(bar, interval="1d", **ENVELOPE)
    assert isinstance(event, Bar)
    assert event.ts == "2026-11-24T00:00:00.000000000Z"


def test_naive_bar_time_is_rejected() -> None:
    """A bar time without a zone could be any zone (IB's formatDate=1): it is rejected, not guessed."""
    bar = BarData(datetime(2026, 11, 24, 9, 30), 1.0, 2.0, 0.5, 1.5, 10.0, 1.2, 3)  # noqa: DTZ001
    assert isinstance(parse.historical_bar(bar, interval="1m", **ENVELOPE), ProviderReject)


def test_exact_writes_out_exponents() -> None:
    """Doubles repr'd with an exponent come out as plain decimals."""
    assert [parse.exact(value) for value in (1e-05, 1e16, 0.1 + 0.2, 451.1)] == [
        Decimal("0.00001"),
        Decimal("10000000000000000"),
        Decimal("0.30000000000000004"),
        Decimal("451.1"),
    ]


@given(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(10**9), places=4, allow_nan=False))
def test_exact_gives_back_the_decimal_ib_wrote(written: Decimal) -> None:
    """Any price of up to 15 significant digits survives the double IB's API turns it into."""
    assert parse.exact(float(str(written))) == written


def test_nanoseconds_of_a_datetime_are_exact() -> None:
    """Microseconds of a datetime become nanoseconds by integer arithmetic."""
    assert parse.ns_of(datetime(2026, 11, 24, 14, 30, 0, 123456, tzinfo=UTC)) == 1_795_530_600_123_456_000
