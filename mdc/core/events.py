"""Market events: a tagged union of frozen attrs classes.

Every event shares the envelope ``v, symbol, ts, ts_recv, provider, stream, seq``
and adds the fields of its kind. On the wire each is one JSON object whose first
key is ``type`` (the tag, see :data:`EVENT_TYPES`); :mod:`mdc.core.codec` does the
encoding. Prices and sizes are :class:`~decimal.Decimal`, never floats, so a price
is written back exactly as it came in. Timestamps are canonical strings (see
:mod:`mdc.core.timestamps`).

The classes trust their fields: structural checks happen when a line is decoded
and the domain rules in :mod:`mdc.core.validate`. Match on the union
exhaustively::

    match event:
        case Trade(): ...
        case Quote() | Depth() | Snapshot() | Bar() | Integrity(): ...
        case TradeCorrection() | TradeCancel() | Status() | Luld(): ...
        case _: assert_never(event)

To add an event type: write its class here, add it to :data:`MarketEvent` and
:data:`EVENT_TYPES`, give it rules in :mod:`mdc.core.validate` and a strategy in
:mod:`mdc.testing.strategies`; the codec and the JSON Schema follow from the fields.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Final

from attrs import frozen

from .timestamps import Timestamp

SCHEMA_VERSION: Final = 1
"""The major version of the event schema this code reads and writes."""

SIDES: Final = ("buy", "sell", "unknown")
"""Aggressor sides of a trade."""
BOOK_SIDES: Final = ("bid", "ask")
"""Sides of an order book."""
POSITION_OPS: Final = ("insert", "update", "delete")
"""Depth operations of the position model (a level is addressed by its index)."""
LEVEL_OPS: Final = ("set", "delete")
"""Depth operations of the price-level model (a level is addressed by its price)."""
DEPTH_OPS: Final = ("insert", "update", "delete", "set")
"""Every depth operation."""
CANCEL_ACTIONS: Final = ("cancel", "error")
"""What a trade cancel says of the trade: cancelled, or an error (it never happened)."""
INTEGRITY_KINDS: Final = (
    "sequence_gap",
    "out_of_order",
    "duplicate",
    "crossed_market",
    "locked_market",
    "depth_invalid",
    "book_frozen",
    "book_reset",
    "dropped",
    "stale",
)
"""Integrity kinds mdc itself emits; the wire accepts any snake_case kind."""


@frozen(kw_only=True)
class Trade:
    """One execution (time and sale).

    Attributes:
        price: execution price.
        size: executed quantity.
        side: the aggressor, ``buy``, ``sell`` or ``unknown``.
        exchange: venue code as the provider writes it.
        conditions: sale-condition codes as the provider writes them.
        trade_id: the venue's or provider's trade identifier.
    """

    TYPE: ClassVar[str] = "trade"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    price: Decimal
    size: Decimal
    side: str = "unknown"
    exchange: str | None = None
    conditions: tuple[str, ...] = ()
    trade_id: str | None = None


@frozen(kw_only=True)
class Quote:
    """Best bid and offer (BBO). An empty side has no price and size 0.

    Attributes:
        bid_price: best bid, or None when there is no bid.
        bid_size: quantity at the best bid.
        ask_price: best ask, or None when there is no ask.
        ask_size: quantity at the best ask.
        bid_exchange: venue of the best bid, when the feed names it.
        ask_exchange: venue of the best ask, when the feed names it.
    """

    TYPE: ClassVar[str] = "quote"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    bid_price: Decimal | None
    bid_size: Decimal
    ask_price: Decimal | None
    ask_size: Decimal
    bid_exchange: str | None = None
    ask_exchange: str | None = None


@frozen(kw_only=True)
class Depth:
    """One change to an L2 (price-aggregated) book.

    Two models, as real feeds send them:

    * position model (Interactive Brokers): ``op`` is ``insert``, ``update`` or
      ``delete`` and ``position`` is the 0-based level index on ``side``;
    * price-level model (most crypto and futures feeds): ``op`` is ``set`` with
      ``price`` and ``size`` (size 0 removes the level) or ``delete`` with ``price``
      and no ``position``.

    Attributes:
        side: ``bid`` or ``ask``.
        op: the operation, see above.
        position: level index (position model only).
        price: level price (required except for a positional delete).
        size: level quantity after the change.
        exchange: market maker or venue of the level, when the feed names it.
    """

    TYPE: ClassVar[str] = "depth"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    side: str
    op: str
    position: int | None = None
    price: Decimal | None = None
    size: Decimal | None = None
    exchange: str | None = None


@frozen(kw_only=True)
class Snapshot:
    """The top levels of a book, best first on each side.

    Attributes:
        bids: ``(price, size)`` pairs, highest price first.
        asks: ``(price, size)`` pairs, lowest price first.
    """

    TYPE: ClassVar[str] = "snapshot"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


@frozen(kw_only=True)
class Bar:
    """An OHLCV bar. ``ts`` is the start of the interval.

    Attributes:
        interval: the bar length, e.g. ``1s``, ``1m``, ``5m``, ``1h``, ``1d``.
        open: first trade price.
        high: highest trade price.
        low: lowest trade price.
        close: last trade price.
        volume: total traded size.
        vwap: volume-weighted average price, when known.
        trade_count: number of trades, when known.
    """

    TYPE: ClassVar[str] = "bar"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    interval: str
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    vwap: Decimal | None = None
    trade_count: int | None = None


@frozen(kw_only=True)
class Integrity:
    """A finding about the data itself: a gap, a crossed market, a frozen book.

    Attributes:
        kind: what was found, e.g. ``sequence_gap`` (see :data:`INTEGRITY_KINDS`).
        expected: what should have been seen (a sequence number, a value).
        received: what was seen instead.
        description: one sentence for people.
    """

    TYPE: ClassVar[str] = "integrity"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    kind: str
    expected: int | str | None = None
    received: int | str | None = None
    description: str = ""


@frozen(kw_only=True)
class TradeCorrection:
    """A venue's correction of an earlier trade: its price, size or conditions were wrong.

    The original trade stays stored as it was; readers who want corrected
    prints apply corrections (and :class:`TradeCancel`) by ``original_id``.

    Attributes:
        original_id: the corrected trade's identifier.
        original_price: its price as first reported.
        original_size: its size as first reported.
        original_conditions: its conditions as first reported.
        corrected_id: the identifier of the trade as corrected.
        corrected_price: the correct price.
        corrected_size: the correct size.
        corrected_conditions: the correct conditions.
        exchange: the venue of the trade.
    """

    TYPE: ClassVar[str] = "trade_correction"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    original_id: str | None = None
    original_price: Decimal
    original_size: Decimal
    original_conditions: tuple[str, ...] = ()
    corrected_id: str | None = None
    corrected_price: Decimal
    corrected_size: Decimal
    corrected_conditions: tuple[str, ...] = ()
    exchange: str | None = None


@frozen(kw_only=True)
class TradeCancel:
    """An earlier trade withdrawn by its venue: cancelled, or declared an error (it never happened).

    Attributes:
        action: ``cancel`` or ``error`` (see :data:`CANCEL_ACTIONS`).
        trade_id: the withdrawn trade's identifier.
        price: its price.
        size: its size.
        exchange: its venue.
    """

    TYPE: ClassVar[str] = "trade_cancel"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    action: str
    trade_id: str | None = None
    price: Decimal | None = None
    size: Decimal | None = None
    exchange: str | None = None


@frozen(kw_only=True)
class Status:
    """A change of a symbol's trading status: halted, resumed, quoting only, and so on.

    Codes are kept as the venue or provider writes them (they differ by tape);
    ``message`` says them in words.

    Attributes:
        status: the status code (e.g. ``H`` halted, ``T`` trading on the CTA/UTP tapes).
        message: the status in words.
        reason: the reason code, when given.
        reason_message: the reason in words.
    """

    TYPE: ClassVar[str] = "status"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    status: str
    message: str = ""
    reason: str | None = None
    reason_message: str = ""


@frozen(kw_only=True)
class Luld:
    """Limit up-limit down price bands: trades outside them are not allowed (US equities).

    Attributes:
        limit_up: the upper band.
        limit_down: the lower band.
        indicator: the band indicator as the tape writes it (``B`` both bands valid ...).
    """

    TYPE: ClassVar[str] = "luld"

    v: int = SCHEMA_VERSION
    symbol: str
    ts: Timestamp
    ts_recv: Timestamp
    provider: str
    stream: str
    seq: int | None = None
    limit_up: Decimal
    limit_down: Decimal
    indicator: str | None = None


MarketEvent = Trade | Quote | Depth | Snapshot | Bar | Integrity | TradeCorrection | TradeCancel | Status | Luld
"""Any market event."""

EVENT_TYPES: Final[dict[str, type[MarketEvent]]] = {
    cls.TYPE: cls for cls in (Trade, Quote, Depth, Snapshot, Bar, Integrity, TradeCorrection, TradeCancel, Status, Luld)
}
"""Wire tag -> event class, in the order the tags are documented."""
