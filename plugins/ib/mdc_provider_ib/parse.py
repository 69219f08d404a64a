"""IB's data objects -> mdc events (pure: no I/O, no clock; the receive time comes in).

The objects are ib_async's own (:class:`~ib_async.objects.TickByTickAllLast`,
``TickByTickBidAsk``, ``MktDepthData``, ``RealTimeBar``, and for recorded
history ``HistoricalTickLast``, ``HistoricalTickBidAsk``, ``BarData``), so live
ticks and recorded ones go through the same functions.

Numbers. IB's API delivers prices and sizes as doubles (the TWS wire carries
decimal text, which ib_async's decoder turns into ``float``). A price becomes
``Decimal(repr(value))``: ``repr`` is the shortest text that reads back as the
same double, which is the text IB wrote whenever IB wrote at most 15
significant digits (every real price). ``Decimal(value)`` would instead spell
out the binary fraction (``451.1`` -> ``451.10000000000002273...``). Nothing is
rounded to the contract's tick size: a price IB computed in binary
(``0.30000000000000004``) is kept as IB sent it, for validation to judge.

>>> exact(451.1), exact(30.0), exact(1e-05)
(Decimal('451.1'), Decimal('30.0'), Decimal('0.00001'))
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Final

from ib_async import (
    BarData,
    HistoricalTickBidAsk,
    HistoricalTickLast,
    MktDepthData,
    RealTimeBar,
    TickByTickAllLast,
    TickByTickBidAsk,
)

from mdc.core.events import Bar, Depth, Quote, Snapshot, Trade
from mdc.core.provider import ProviderReject
from mdc.core.timestamps import Timestamp, from_ns

PROVIDER: Final = "ib"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)
_OPS: Final = {0: "insert", 1: "update", 2: "delete"}
_SIDES: Final = {0: "ask", 1: "bid"}


def exact(value: float) -> Decimal:
    """The decimal IB wrote for a double: ``Decimal(repr(value))`` (see the module docstring).

    Args:
        value: a finite double.

    Returns:
        The shortest decimal that reads back as ``value``, without an exponent.
    """
    text = repr(value)
    number = Decimal(text)
    if "e" in text or "E" in text:  # 1e-05: write it out, as IB's own text would be
        number = Decimal(format(number, "f"))
    return number


def ns_of(moment: datetime | date) -> int:
    """Nanoseconds since the epoch of an aware datetime (exact: integer arithmetic, no float seconds).

    A plain date (IB's daily bars) is its midnight UTC.
    """
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return ((moment - _EPOCH) // _MICROSECOND) * 1000


def _price(value: float) -> Decimal | None:
    """A price, or None when IB says there is none (-1, 0, NaN or infinite)."""
    if not math.isfinite(value) or value <= 0:
        return None
    return exact(value)


def _size(value: float) -> Decimal:
    return exact(value) if math.isfinite(value) and value > 0 else Decimal(0)


def trade(
    tick: TickByTickAllLast | HistoricalTickLast, *, symbol: str, stream: str, received_ns: int
) -> Trade | ProviderReject:
    """A time-and-sales tick as a trade.

    ``exchange`` is IB's venue code; ``conditions`` are IB's special conditions
    (split on spaces) followed by the tick attributes that are set, by IB's
    names: ``pastLimit`` (traded outside the price limits) and ``unreported``
    (not reported to the tape: IB counts it in no volume). IB gives no
    aggressor side and no trade id.
    """
    price = tick.price
    if not math.isfinite(price) or not math.isfinite(tick.size) or tick.size < 0:
        return ProviderReject(repr(tick), "a trade needs a finite price and a size >= 0")
    attributes = tick.tickAttribLast
    flags = tuple(name for name in ("pastLimit", "unreported") if getattr(attributes, name, False))
    return Trade(
        symbol=symbol,
        ts=from_ns(ns_of(tick.time)),
        ts_recv=from_ns(received_ns),
        provider=PROVIDER,
        stream=stream,
        price=exact(price),
        size=exact(tick.size),
        exchange=tick.exchange or None,
        conditions=(*tick.specialConditions.split(), *flags),
    )


def quote(tick: TickByTickBidAsk | HistoricalTickBidAsk, *, symbol: str, stream: str, received_ns: int) -> Quote:
    """A bid/ask tick as a quote; a side IB shows empty (price <= 0) has no price and size 0.

    IB's ``bidPastLow``/``askPastHigh`` attributes have no place in a quote and are dropped.
    """
    if isinstance(tick, TickByTickBidAsk):
        bid, ask, bid_size, ask_size = tick.bidPrice, tick.askPrice, tick.bidSize, tick.askSize
    else:
        bid, ask, bid_size, ask_size = tick.priceBid, tick.priceAsk, tick.sizeBid, tick.sizeAsk
    return top_quote(
        bid, bid_size, ask, ask_size, ts_ns=ns_of(tick.time), symbol=symbol, stream=stream, received_ns=received_ns
    )


def top_quote(
    bid: float,
    bid_size: float,
    ask: float,
    ask_size: float,
    *,
    ts_ns: int,
    symbol: str,
    stream: str,
    received_ns: int,
) -> Quote:
    """A quote from four numbers (tick-by-tick, recorded, or a ``reqMktData`` ticker's top of book)."""
    bid_price, ask_price = _price(bid), _price(ask)
    return Quote(
        symbol=symbol,
        ts=from_ns(ts_ns),
        ts_recv=from_ns(received_ns),
        provider=PROVIDER,
        stream=stream,
        bid_price=bid_price,
        bid_size=_size(bid_size) if bid_price is not None else Decimal(0),
        ask_price=ask_price,
        ask_size=_size(ask_size) if ask_price is not None else Decimal(0),
    )


def depth(update: MktDepthData, *, symbol: str, stream: str, received_ns: int) -> Depth | ProviderReject:
    """One ``updateMktDepth``/``updateMktDepthL2`` as a position-model depth event.

    IB: operation 0 insert, 1 update, 2 delete at ``position`` (0 = best) on side
    1 bid, 0 ask; the market maker (L2) becomes ``exchange``. A delete keeps the
    price IB sent when it is a price (it names the level removed) and no size.
    IB stamps no time on depth: ``ts`` is the receive time. Positions are passed
    on as given: an impossible one is for mdc-book / mdc-validate to flag.
    """
    op, side = _OPS.get(update.operation), _SIDES.get(update.side)
    if op is None or side is None or update.position < 0:
        return ProviderReject(repr(update), "unknown depth operation, side or position")
    price = _price(update.price)
    if op != "delete" and price is None:
        return ProviderReject(repr(update), f"a depth {op} needs a price > 0")
    received = from_ns(received_ns)
    return Depth(
        symbol=symbol,
        ts=received,
        ts_recv=received,
        provider=PROVIDER,
        stream=stream,
        side=side,
        op=op,
        position=update.position,
        price=price,
        size=None if op == "delete" else _size(update.size),
        exchange=update.marketMaker or None,
    )


def empty_book(*, symbol: str, stream: str, received_ns: int) -> Snapshot:
    """An empty snapshot: IB starts (or restarts, error 317) a depth subscription from an empty book.

    mdc-book replaces the symbol's book with it, so a resubscription or a
    reset never mixes the old levels with the inserts that rebuild the book.
    """
    received = from_ns(received_ns)
    return Snapshot(symbol=symbol, ts=received, ts_recv=received, provider=PROVIDER, stream=stream, bids=(), asks=())


def realtime_bar(bar: RealTimeBar, *, symbol: str, stream: str, received_ns: int) -> Bar | ProviderReject:
    """A ``reqRealTimeBars`` bar (5 seconds, labelled with its start by IB) as a ``5s`` bar."""
    return _bar(
        bar,
        (bar.open_, bar.high, bar.low, bar.close, bar.volume, bar.wap, bar.count),
        bar.time,
        interval="5s",
        symbol=symbol,
        stream=stream,
        received_ns=received_ns,
    )


def historical_bar(bar: BarData, *, interval: str, symbol: str, stream: str, received_ns: int) -> Bar | ProviderReject:
    """A ``reqHistoricalData`` bar (its ``date`` an aware datetime, or a date for daily bars)."""
    return _bar(
        bar,
        (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.average, bar.barCount),
        bar.date,
        interval=interval,
        symbol=symbol,
        stream=stream,
        received_ns=received_ns,
    )


def _bar(
    raw: object,
    numbers: tuple[float, float, float, float, float, float, int],
    start: datetime | date,
    *,
    interval: str,
    symbol: str,
    stream: str,
    received_ns: int,
) -> Bar | ProviderReject:
    open_, high, low, close, volume, vwap, count = numbers
    if not all(math.isfinite(value) for value in (open_, high, low, close, volume)):
        return ProviderReject(repr(raw), "a bar needs finite open, high, low, close and volume")
    if isinstance(start, datetime) and start.tzinfo is None:
        return ProviderReject(repr(raw), "a bar's time has no time zone")
    return Bar(
        symbol=symbol,
        ts=from_ns(ns_of(start)),
        ts_recv=from_ns(received_ns),
        provider=PROVIDER,
        stream=stream,
        interval=interval,
        open=exact(open_),
        high=exact(high),
        low=exact(low),
        close=exact(close),
        volume=exact(volume),
        vwap=exact(vwap) if math.isfinite(vwap) and vwap > 0 else None,
        trade_count=count if count >= 0 else None,
    )


def timestamp_of(moment: datetime) -> Timestamp:
    """The canonical timestamp of an aware datetime."""
    return from_ns(ns_of(moment))
