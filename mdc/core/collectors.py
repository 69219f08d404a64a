"""Collectors: pure state machines over the event stream, ``state, event -> state, outcome``.

Two run inside ``mdc-validate``:

* **sequence tracking** per ``(provider, stream, symbol)``: a skipped sequence
  number emits ``integrity sequence_gap`` and keeps the event; a number that
  goes backwards emits ``integrity out_of_order`` and rejects the event; a
  repeated number emits ``integrity duplicate`` and rejects it, except for
  ``depth`` and ``snapshot`` events, which may share the number of the provider
  message that carried several level changes.
* **the market cache** per ``(provider, symbol)``: the last BBO, whose crossed
  (bid > ask) and locked (bid = ask) episodes are flagged once each as they
  begin, and the last trade price and tick direction, which infer the
  aggressor of a trade whose side is ``unknown``: at or through the ask it is a
  buy, at or through the bid a sell, otherwise the tick rule decides (an uptick
  buys, a downtick sells, a zero tick repeats the last direction).

:func:`observe` is the pure one-event step. Batch loops use :func:`thaw`, the
``*_in`` functions and :func:`freeze`: they copy the maps once per batch and
update the copies in place, which keeps the step pure from the outside at a
fraction of the cost of copying per event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final, Literal

import attrs
from attrs import field, frozen

from .errors import Violation, violation
from .events import Depth, Integrity, MarketEvent, Quote, Snapshot, Trade
from .timestamps import canonical, is_canonical

StreamKey = tuple[str, str, str]
"""(provider, stream, symbol): the scope of a sequence number."""
MarketKey = tuple[str, str]
"""(provider, symbol): the scope of a BBO and of the tick rule."""
MarketState = Literal["normal", "crossed", "locked"]
QuoteState = tuple[Decimal | None, Decimal | None, MarketState]
"""(bid, ask, state) of the last quote."""
TradeState = tuple[Decimal, int]
"""(last price, last non-zero tick direction: +1 up, -1 down, 0 none yet)."""

NORMAL: Final = "normal"
CROSSED: Final = "crossed"
LOCKED: Final = "locked"


@frozen
class Collectors:
    """The state of both collectors.

    Attributes:
        sequences: last accepted sequence number per stream key.
        quotes: last quote per market key.
        trades: last trade price and tick direction per market key.
    """

    sequences: Mapping[StreamKey, int] = field(factory=dict)
    quotes: Mapping[MarketKey, QuoteState] = field(factory=dict)
    trades: Mapping[MarketKey, TradeState] = field(factory=dict)


@frozen
class Outcome:
    """What one event did to the collectors.

    Attributes:
        event: the event to pass on (its side may have been inferred), or None when rejected.
        integrity: integrity events to emit before it, in order.
        rejection: why the event was rejected, when it was.
    """

    event: MarketEvent | None
    integrity: tuple[Integrity, ...] = ()
    rejection: Violation | None = None


@frozen
class Transient:
    """Mutable copies of the collector maps, for one batch. Not to be kept."""

    sequences: dict[StreamKey, int]
    quotes: dict[MarketKey, QuoteState]
    trades: dict[MarketKey, TradeState]


def thaw(state: Collectors) -> Transient:
    """Copy the state's maps for in-place updates during one batch."""
    return Transient(dict(state.sequences), dict(state.quotes), dict(state.trades))


def freeze(transient: Transient) -> Collectors:
    """Turn the batch's copies back into a state value."""
    return Collectors(transient.sequences, transient.quotes, transient.trades)


def observe(state: Collectors, event: MarketEvent) -> tuple[Collectors, Outcome]:
    """Run one (already validated) event through both collectors.

    Args:
        state: the collectors' state before the event.
        event: a valid event.

    Returns:
        The new state and the outcome; ``state`` itself is left unchanged.
    """
    transient = thaw(state)
    outcome = observe_in(transient, event)
    return freeze(transient), outcome if type(outcome) is Outcome else Outcome(outcome)  # type: ignore[arg-type]


def observe_in(transient: Transient, event: MarketEvent) -> MarketEvent | Outcome:
    """:func:`observe` on a batch's transient state (updated in place).

    Returns:
        The event itself (side possibly inferred) in the common case of nothing
        to report, else an :class:`Outcome`.
    """
    seq = event.seq
    gap = None
    if seq is not None:
        # the common case inline: the next number on a known stream
        sequences = transient.sequences
        key = (event.provider, event.stream, event.symbol)
        if sequences.get(key, -2) == seq - 1:
            sequences[key] = seq
        else:
            gap, rejection = sequence_in(sequences, event)
            if rejection is not None:
                return Outcome(None, (gap,) if gap is not None else (), rejection)
    cls = type(event)
    if cls is not Quote and cls is not Trade:
        return event if gap is None else Outcome(event, (gap,))
    passed, flag = market_in(transient.quotes, transient.trades, event)
    if gap is None and flag is None:
        return passed
    return Outcome(passed, tuple(found for found in (gap, flag) if found is not None))


def sequence_in(last: dict[StreamKey, int], event: MarketEvent) -> tuple[Integrity | None, Violation | None]:
    """Track the event's sequence number; returns (integrity event, rejection)."""
    seq = event.seq
    if seq is None or type(event) is Integrity:
        return None, None
    key = (event.provider, event.stream, event.symbol)
    previous = last.get(key)
    if previous is None or seq == previous + 1:
        last[key] = seq
        return None, None
    if seq > previous + 1:
        last[key] = seq
        missed = seq - previous - 1
        return (
            _integrity(
                event,
                "sequence_gap",
                previous + 1,
                seq,
                f"{missed} message{'s' if missed > 1 else ''} missing on {event.stream} ({previous + 1}..{seq - 1})"
                if missed > 1
                else f"1 message missing on {event.stream} ({previous + 1})",
            ),
            None,
        )
    if seq == previous:
        if type(event) is Depth or type(event) is Snapshot:
            return None, None
        return (
            _integrity(event, "duplicate", previous + 1, seq, f"sequence number {seq} repeated on {event.stream}"),
            violation("duplicate", "$.seq", seq, f"seq {seq} repeats the previous {event.TYPE} on {event.stream}"),
        )
    return (
        _integrity(
            event,
            "out_of_order",
            previous + 1,
            seq,
            f"sequence number went back from {previous} to {seq} on {event.stream}",
        ),
        violation("out_of_order", "$.seq", seq, f"seq {seq} is behind {previous} already seen on {event.stream}"),
    )


_IDENTITY_FIELDS: Final = frozenset({"$.symbol", "$.provider", "$.stream", "$.seq"})
_TIME_FIELDS: Final = frozenset({"$.ts", "$.ts_recv"})


def rejected_in(
    last: dict[StreamKey, int], event: MarketEvent, violations: Sequence[Violation]
) -> tuple[Integrity | None, Violation | None]:
    """Count a rejected event in its stream's sequence: it did arrive, so no false gap must follow.

    Only when the stream it belongs to is known for sure (no violation in its
    symbol, provider, stream or seq); a gap it reveals is reported only when
    its timestamps can stamp the integrity event.

    Args:
        last: the transient sequence map (updated in place).
        event: the decoded event that failed validation.
        violations: why it failed.

    Returns:
        (integrity event, extra rejection reason), either None.
    """
    fields = {found.field for found in violations}
    if event.seq is None or fields & _IDENTITY_FIELDS:
        return None, None
    if fields & _TIME_FIELDS:
        sequence_in(last, event)  # advance the number, but there is no valid time to stamp a finding with
        return None, None
    if not (is_canonical(event.ts) and is_canonical(event.ts_recv)):
        event = attrs.evolve(event, ts=canonical(event.ts).unwrap(), ts_recv=canonical(event.ts_recv).unwrap())
    return sequence_in(last, event)


def market_in(
    quotes: dict[MarketKey, QuoteState], trades: dict[MarketKey, TradeState], event: MarketEvent
) -> tuple[MarketEvent, Integrity | None]:
    """Update the market cache; returns (the event, side possibly inferred; crossed/locked flag)."""
    if type(event) is Quote:
        return event, _quote_in(quotes, event)
    if type(event) is Trade:
        return _trade_in(quotes, trades, event), None
    return event, None


def _quote_in(quotes: dict[MarketKey, QuoteState], quote: Quote) -> Integrity | None:
    bid, ask = quote.bid_price, quote.ask_price
    state: MarketState = NORMAL
    if bid is not None and ask is not None:
        if bid > ask:
            state = CROSSED
        elif bid == ask:
            state = LOCKED
    key = (quote.provider, quote.symbol)
    previous = quotes.get(key)
    quotes[key] = (bid, ask, state)
    if state == NORMAL or (previous is not None and previous[2] == state):
        return None
    if state == CROSSED:
        return _integrity(
            quote, "crossed_market", "bid < ask", f"bid {bid} > ask {ask}", f"market crossed: bid {bid} above ask {ask}"
        )
    return _integrity(quote, "locked_market", "bid < ask", f"bid {bid} = ask {ask}", f"market locked at {bid}")


def _trade_in(quotes: dict[MarketKey, QuoteState], trades: dict[MarketKey, TradeState], trade: Trade) -> Trade:
    key = (trade.provider, trade.symbol)
    price = trade.price
    previous = trades.get(key)
    if previous is None:
        direction = 0
    elif price > previous[0]:
        direction = 1
    elif price < previous[0]:
        direction = -1
    else:
        direction = previous[1]
    trades[key] = (price, direction)
    if trade.side != "unknown":
        return trade
    side = _side_from_quote(quotes.get(key), price)
    if side is None:
        side = "buy" if direction > 0 else "sell" if direction < 0 else None
    return trade if side is None else attrs.evolve(trade, side=side)


def _side_from_quote(quote: QuoteState | None, price: Decimal) -> str | None:
    if quote is None or quote[2] != NORMAL:
        return None
    bid, ask, _ = quote
    if ask is not None and price >= ask:
        return "buy"
    if bid is not None and price <= bid:
        return "sell"
    return None


def _integrity(event: MarketEvent, kind: str, expected: int | str, received: int | str, description: str) -> Integrity:
    return Integrity(
        symbol=event.symbol,
        ts=event.ts,
        ts_recv=event.ts_recv,
        provider=event.provider,
        stream=event.stream,
        kind=kind,
        expected=expected,
        received=received,
        description=description,
    )
