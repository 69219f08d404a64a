"""Hypothesis strategies for mdc events and their wire text.

Grow these with every new event type: the round-trip and schema tests draw
from :func:`events`, so a type missing here is a type left untested.
"""

from __future__ import annotations

import string
from decimal import Decimal

from hypothesis import strategies as st

from mdc.core.events import (
    BOOK_SIDES,
    CANCEL_ACTIONS,
    INTEGRITY_KINDS,
    SIDES,
    Bar,
    Depth,
    Integrity,
    Luld,
    MarketEvent,
    Quote,
    Snapshot,
    Status,
    Trade,
    TradeCancel,
    TradeCorrection,
)
from mdc.core.timestamps import Timestamp, from_ns

# 1970 .. 2100, the range real data lives in (the codec itself handles 0001..9999).
MIN_NS = 0
MAX_NS = 4_102_444_800 * 1_000_000_000 - 1


def decimal_texts(max_integer_digits: int = 9, max_fraction_digits: int = 9) -> st.SearchStrategy[str]:
    """Positive decimal numbers as JSON writes them in positional notation (``0.00000100``, ``451.2``)."""
    integer = st.one_of(
        st.just("0"),
        st.text("123456789", min_size=1, max_size=1).flatmap(
            lambda first: st.text(string.digits, max_size=max_integer_digits - 1).map(lambda rest: first + rest)
        ),
    )
    fraction = st.text(string.digits, min_size=1, max_size=max_fraction_digits)
    return st.tuples(integer, st.none() | fraction).map(lambda parts: parts[0] + ("." + parts[1] if parts[1] else ""))


def positive_decimals(max_integer_digits: int = 9, max_fraction_digits: int = 9) -> st.SearchStrategy[Decimal]:
    """Positive exact decimals, keeping the textual scale they were written with."""
    return decimal_texts(max_integer_digits, max_fraction_digits).map(Decimal).filter(lambda value: value > 0)


def non_negative_decimals() -> st.SearchStrategy[Decimal]:
    """Decimals >= 0."""
    return decimal_texts().map(Decimal)


def timestamps(min_ns: int = MIN_NS, max_ns: int = MAX_NS) -> st.SearchStrategy[Timestamp]:
    """Canonical timestamps."""
    return st.integers(min_ns, max_ns).map(from_ns)


def symbols() -> st.SearchStrategy[str]:
    """Symbols that satisfy the grammar, including the awkward real ones."""
    plain = st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=8)
    return st.one_of(
        plain,
        st.sampled_from(["BRK/B", "BRK.B", "ES=F", "^GSPC", "EUR/USD", "BTC-USD", "ESZ4:XCME", "/ESZ24", "SPY_W"]),
        st.tuples(plain, st.sampled_from(".-/=^_:"), plain).map("".join),
    )


identifiers = st.text(string.ascii_lowercase + string.digits + "._-", min_size=1, max_size=12)
optional_text = st.none() | st.text(min_size=1, max_size=8).filter(lambda text: "\x00" not in text)


@st.composite
def _envelope(draw: st.DrawFn) -> dict[str, object]:
    ts_ns = draw(st.integers(MIN_NS, MAX_NS - 10**9))
    return {
        "symbol": draw(symbols()),
        "ts": from_ns(ts_ns),
        "ts_recv": from_ns(ts_ns + draw(st.integers(0, 10**9))),
        "provider": draw(identifiers),
        "stream": draw(identifiers),
        "seq": draw(st.none() | st.integers(0, 2**63 - 1)),
    }


@st.composite
def trades(draw: st.DrawFn) -> Trade:
    """Valid trades."""
    return Trade(
        **draw(_envelope()),  # type: ignore[arg-type]
        price=draw(positive_decimals()),
        size=draw(positive_decimals()),
        side=draw(st.sampled_from(SIDES)),
        exchange=draw(optional_text),
        conditions=tuple(draw(st.lists(st.text(min_size=1, max_size=3), max_size=3))),
        trade_id=draw(optional_text),
    )


@st.composite
def quotes(draw: st.DrawFn) -> Quote:
    """Valid quotes, one side possibly empty, crossed and locked ones included."""
    bid = draw(st.none() | positive_decimals())
    ask = draw(st.none() | positive_decimals())
    return Quote(
        **draw(_envelope()),  # type: ignore[arg-type]
        bid_price=bid,
        bid_size=Decimal(0) if bid is None else draw(non_negative_decimals()),
        ask_price=ask,
        ask_size=Decimal(0) if ask is None else draw(non_negative_decimals()),
        bid_exchange=draw(optional_text),
        ask_exchange=draw(optional_text),
    )


@st.composite
def depths(draw: st.DrawFn) -> Depth:
    """Valid depth changes of both models."""
    envelope = draw(_envelope())
    side = draw(st.sampled_from(BOOK_SIDES))
    model = draw(st.sampled_from(["insert", "update", "delete-position", "set", "delete-level"]))
    position = draw(st.integers(0, 50))
    price = draw(positive_decimals())
    match model:
        case "insert":
            fields = {"op": "insert", "position": position, "price": price, "size": draw(positive_decimals())}
        case "update":
            fields = {"op": "update", "position": position, "price": price, "size": draw(non_negative_decimals())}
        case "delete-position":
            fields = {"op": "delete", "position": position}
        case "set":
            fields = {"op": "set", "price": price, "size": draw(non_negative_decimals())}
        case _:
            fields = {"op": "delete", "price": price}
    return Depth(**envelope, side=side, **fields)  # type: ignore[arg-type]


def _levels(*, descending: bool) -> st.SearchStrategy[tuple[tuple[Decimal, Decimal], ...]]:
    return st.lists(
        st.tuples(positive_decimals(), positive_decimals()), max_size=10, unique_by=lambda level: level[0]
    ).map(lambda levels: tuple(sorted(levels, key=lambda level: level[0], reverse=descending)))


@st.composite
def snapshots(draw: st.DrawFn) -> Snapshot:
    """Valid book snapshots (sides ordered best first)."""
    return Snapshot(**draw(_envelope()), bids=draw(_levels(descending=True)), asks=draw(_levels(descending=False)))  # type: ignore[arg-type]


@st.composite
def bars(draw: st.DrawFn) -> Bar:
    """Valid bars (low <= open, close <= high)."""
    prices = sorted(draw(st.lists(positive_decimals(), min_size=4, max_size=4)))
    low, high = prices[0], prices[3]
    open_, close = draw(st.permutations([prices[1], prices[2]]))
    return Bar(
        **draw(_envelope()),  # type: ignore[arg-type]
        interval=draw(st.sampled_from(["1s", "1m", "5m", "1h", "1d", "1w", "1mo"])),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=draw(non_negative_decimals()),
        vwap=draw(st.none() | st.just(prices[1])),
        trade_count=draw(st.none() | st.integers(0, 10**9)),
    )


@st.composite
def integrities(draw: st.DrawFn) -> Integrity:
    """Valid integrity events."""
    return Integrity(
        **draw(_envelope()),  # type: ignore[arg-type]
        kind=draw(st.sampled_from(INTEGRITY_KINDS)),
        expected=draw(st.none() | st.integers(0, 10**12) | st.text(max_size=20)),
        received=draw(st.none() | st.integers(0, 10**12) | st.text(max_size=20)),
        description=draw(st.text(max_size=40)),
    )


_conditions = st.lists(st.text(min_size=1, max_size=3), max_size=3).map(tuple)


@st.composite
def trade_corrections(draw: st.DrawFn) -> TradeCorrection:
    """Valid trade corrections."""
    return TradeCorrection(
        **draw(_envelope()),  # type: ignore[arg-type]
        original_id=draw(optional_text),
        original_price=draw(positive_decimals()),
        original_size=draw(positive_decimals()),
        original_conditions=draw(_conditions),
        corrected_id=draw(optional_text),
        corrected_price=draw(positive_decimals()),
        corrected_size=draw(positive_decimals()),
        corrected_conditions=draw(_conditions),
        exchange=draw(optional_text),
    )


@st.composite
def trade_cancels(draw: st.DrawFn) -> TradeCancel:
    """Valid trade cancels and errors."""
    return TradeCancel(
        **draw(_envelope()),  # type: ignore[arg-type]
        action=draw(st.sampled_from(CANCEL_ACTIONS)),
        trade_id=draw(optional_text),
        price=draw(st.none() | positive_decimals()),
        size=draw(st.none() | positive_decimals()),
        exchange=draw(optional_text),
    )


@st.composite
def statuses(draw: st.DrawFn) -> Status:
    """Valid trading-status changes."""
    return Status(
        **draw(_envelope()),  # type: ignore[arg-type]
        status=draw(st.text(string.ascii_uppercase + string.digits, min_size=1, max_size=2)),
        message=draw(st.text(max_size=30)),
        reason=draw(optional_text),
        reason_message=draw(st.text(max_size=30)),
    )


@st.composite
def lulds(draw: st.DrawFn) -> Luld:
    """Valid limit up-limit down bands (lower band not above the upper)."""
    low, high = sorted(draw(st.lists(positive_decimals(), min_size=2, max_size=2)))
    return Luld(
        **draw(_envelope()),  # type: ignore[arg-type]
        limit_up=high,
        limit_down=low,
        indicator=draw(st.none() | st.sampled_from("ABC")),
    )


def events() -> st.SearchStrategy[MarketEvent]:
    """Valid events of every type."""
    return st.one_of(
        trades(),
        quotes(),
        depths(),
        snapshots(),
        bars(),
        integrities(),
        trade_corrections(),
        trade_cancels(),
        statuses(),
        lulds(),
    )
