"""OHLCV bars from trades, closed on event time.

A bar covers one bucket ``[start, start + interval)`` of one key ``(provider,
stream, symbol)``. Buckets are aligned to whole multiples of the interval since
the Unix epoch in UTC, so ``1d`` bars start at UTC midnight and ``1h`` bars on
the hour. Session- and calendar-aware bars (exchange hours, time zones, weeks,
months) come later.

Bars close on *event* time, never the wall clock. The watermark is the newest
trade time seen across all keys, less ``lateness_ns`` (0 unless the state is
given some). A bar closes when

* a trade of its own key arrives at or after the bar's end, or
* the watermark reaches the bar's end, so that a quiet symbol's bar is not held
  back behind busier ones.

A closed bucket is final: a trade for a bucket its key has moved past, or for a
bucket the watermark has passed, is *late*. Late trades are handed back, never
dropped, for the command to report and count. With ``lateness_ns = 0`` every
bar is emitted in ``(start, key)`` order; with more, a key can close its own
bar before an older bar of another key. Buckets without trades yield no bar.

:func:`step` is the pure one-trade step. :func:`aggregate` runs a batch through
:func:`thaw`, :func:`step_in` and :func:`freeze`, as in
:mod:`mdc.core.collectors`: one copy of the maps per batch instead of per trade.
:func:`flush` emits the bars still open at the end of the input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final

from attrs import define, field, frozen
from returns.result import Failure, Result, Success

from .calc import EXACT_CONTEXT, EXTRA_PLACES, fraction_digits, trim_zeros, vwap_from_sums
from .events import Bar, Trade
from .timestamps import NS_PER_MINUTE, NS_PER_SECOND, Timestamp, from_ns, to_ns

BarKey = tuple[str, str, str]
"""(provider, stream, symbol): the trades one bar summarises."""

UNITS: Final = {"s": NS_PER_SECOND, "m": NS_PER_MINUTE, "h": 60 * NS_PER_MINUTE, "d": 1440 * NS_PER_MINUTE}
"""Interval units and their length in nanoseconds."""

_INTERVAL: Final = re.compile(r"(-?)(\d+)([A-Za-z]*)", re.ASCII)
_MAX_COUNT_DIGITS: Final = 6  # as the wire format allows (mdc-format(5))


@frozen
class Interval:
    """A bar length.

    Attributes:
        text: the canonical spelling, e.g. ``5m`` (what ``Bar.interval`` holds).
        ns: the length in nanoseconds.
    """

    text: str
    ns: int


def parse_interval(text: str) -> Result[Interval, str]:
    """Read a bar length: a positive whole count and a unit ``s``, ``m``, ``h`` or ``d``.

    Args:
        text: e.g. ``1s``, ``1m``, ``5m``, ``1h`` or ``1d``.

    Returns:
        ``Success`` with the interval (leading zeros dropped from its text), or
        ``Failure`` with a message that names the text.

    >>> parse_interval("05m")
    <Success: Interval(text='5m', ns=300000000000)>
    >>> parse_interval("1w").failure()
    "interval '1w' has an unknown unit 'w' (use s, m, h or d)"
    """
    match = _INTERVAL.fullmatch(text)
    if match is None:
        return Failure(f"interval {text!r} is not a whole count followed by a unit (s, m, h or d), e.g. 1m or 5m")
    sign, digits, unit = match.groups()
    count = digits.lstrip("0")
    if sign or not count:
        return Failure(f"interval {text!r} must be positive")
    if unit == "":
        return Failure(f"interval {text!r} has no unit (add s, m, h or d)")
    unit_ns = UNITS.get(unit)
    if unit_ns is None:
        return Failure(f"interval {text!r} has an unknown unit {unit!r} (use s, m, h or d)")
    if len(count) > _MAX_COUNT_DIGITS:
        return Failure(f"interval {text!r} is too long (at most {_MAX_COUNT_DIGITS} digits)")
    return Success(Interval(f"{count}{unit}", int(count) * unit_ns))


@frozen
class OpenBar:
    """A bar still taking trades.

    Open and close follow event time: the open is the earliest trade (the first
    to arrive among equals), the close the latest (the last to arrive among equals).

    Attributes:
        start_ns: bucket start, nanoseconds since the epoch.
        open: price of the earliest trade.
        high: highest price (the first one seen at that level).
        low: lowest price (the first one seen at that level).
        close: price of the latest trade.
        open_ns: time of the open trade.
        close_ns: time of the close trade.
        volume: exact sum of sizes.
        notional: exact sum of ``price * size``.
        trade_count: number of trades.
        price_digits: the most fraction digits among the prices (sets the VWAP's places).
        ts_recv: the latest ``ts_recv`` among the trades.
    """

    start_ns: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    open_ns: int
    close_ns: int
    volume: Decimal
    notional: Decimal
    trade_count: int
    price_digits: int
    ts_recv: Timestamp


@frozen
class BarState:
    """Everything the aggregator carries from one batch to the next.

    Attributes:
        interval: the bar length.
        lateness_ns: how far the watermark trails the newest trade (>= 0). 0 closes
            a bar as soon as any trade reaches its end; more waits for keys whose
            trades arrive behind the others (e.g. a slower feed merged in).
        open_bars: the open bar of each key that has one.
        newest_ns: the newest trade time seen, or None before the first trade.
        earliest_end_ns: a lower bound on the end of every open bar (exact after
            each watermark close), or None when no bar has opened since; it spares
            the watermark check a scan of all keys per trade.
    """

    interval: Interval
    lateness_ns: int = 0
    open_bars: Mapping[BarKey, OpenBar] = field(factory=dict)
    newest_ns: int | None = None
    earliest_end_ns: int | None = None


@define
class Transient:
    """Mutable copy of a :class:`BarState`, for one batch. Not to be kept."""

    interval: Interval
    lateness_ns: int
    open_bars: dict[BarKey, OpenBar]
    newest_ns: int | None
    earliest_end_ns: int | None


def thaw(state: BarState) -> Transient:
    """Copy the state's map for in-place updates during one batch."""
    return Transient(state.interval, state.lateness_ns, dict(state.open_bars), state.newest_ns, state.earliest_end_ns)


def freeze(transient: Transient) -> BarState:
    """Turn the batch's copy back into a state value."""
    return BarState(
        transient.interval, transient.lateness_ns, transient.open_bars, transient.newest_ns, transient.earliest_end_ns
    )


def step(state: BarState, trade: Trade) -> tuple[BarState, list[Bar], list[Trade]]:
    """Run one trade through the aggregator.

    Args:
        state: the aggregator before the trade.
        trade: a valid trade.

    Returns:
        The new state, the bars the trade closed (in ``(start, key)`` order) and
        ``[trade]`` when it was late, else ``[]``. ``state`` itself is unchanged.
    """
    transient = thaw(state)
    bars: list[Bar] = []
    late: list[Trade] = []
    step_in(transient, trade, bars, late)
    return freeze(transient), bars, late


def aggregate(state: BarState, trades: Iterable[Trade]) -> tuple[BarState, list[Bar], list[Trade]]:
    """Run a batch of trades through the aggregator.

    Gives the same bars and late trades as :func:`step` on each trade in turn,
    however the input is split into batches.

    Args:
        state: the aggregator before the batch.
        trades: valid trades, in arrival order.

    Returns:
        The new state, the bars closed (each trade's in ``(start, key)`` order) and
        the late trades in arrival order. ``state`` itself is unchanged.
    """
    transient = thaw(state)
    bars: list[Bar] = []
    late: list[Trade] = []
    for trade in trades:
        step_in(transient, trade, bars, late)
    return freeze(transient), bars, late


def flush(state: BarState) -> list[Bar]:
    """The bars still open, at the end of the input.

    Args:
        state: the aggregator after the last trade.

    Returns:
        Every open bar, in ``(start, key)`` order.
    """
    return _bars(sorted(state.open_bars.items(), key=_order), state.interval)


def step_in(transient: Transient, trade: Trade, bars: list[Bar], late: list[Trade]) -> None:
    """:func:`step` on a batch's transient state (updated in place); appends to ``bars`` and ``late``."""
    ts = to_ns(trade.ts)
    length = transient.interval.ns
    start = ts - ts % length
    key = (trade.provider, trade.stream, trade.symbol)
    current = transient.open_bars.get(key)
    newest = transient.newest_ns
    if (current is not None and start < current.start_ns) or (
        newest is not None and start + length <= newest - transient.lateness_ns
    ):
        late.append(trade)
        return
    closed: list[tuple[BarKey, OpenBar]] = []
    if current is None or start > current.start_ns:
        if current is not None:
            closed.append((key, current))
        transient.open_bars[key] = _open(start, ts, trade)
        end = start + length
        if transient.earliest_end_ns is None or end < transient.earliest_end_ns:
            transient.earliest_end_ns = end
    else:
        transient.open_bars[key] = _add(current, ts, trade)
    if newest is None or ts > newest:
        transient.newest_ns = ts
        watermark = ts - transient.lateness_ns
        if transient.earliest_end_ns is not None and transient.earliest_end_ns <= watermark:
            closed.extend(_close_until(transient, watermark))
    if closed:
        closed.sort(key=_order)
        bars.extend(_bars(closed, transient.interval))


def _close_until(transient: Transient, watermark: int) -> list[tuple[BarKey, OpenBar]]:
    """Remove and return the open bars ending at or before ``watermark``; make the earliest end exact."""
    length = transient.interval.ns
    closed = [(key, bar) for key, bar in transient.open_bars.items() if bar.start_ns + length <= watermark]
    for key, _ in closed:
        del transient.open_bars[key]
    transient.earliest_end_ns = min((bar.start_ns for bar in transient.open_bars.values()), default=None)
    if transient.earliest_end_ns is not None:
        transient.earliest_end_ns += length
    return closed


def _open(start: int, ts: int, trade: Trade) -> OpenBar:
    price = trade.price
    return OpenBar(
        start,
        price,
        price,
        price,
        price,
        ts,
        ts,
        trade.size,
        EXACT_CONTEXT.multiply(price, trade.size),
        1,
        fraction_digits(price),
        trade.ts_recv,
    )


def _add(bar: OpenBar, ts: int, trade: Trade) -> OpenBar:
    price = trade.price
    earlier = ts < bar.open_ns
    later = ts >= bar.close_ns
    return OpenBar(
        bar.start_ns,
        price if earlier else bar.open,
        price if price > bar.high else bar.high,
        price if price < bar.low else bar.low,
        price if later else bar.close,
        ts if earlier else bar.open_ns,
        ts if later else bar.close_ns,
        EXACT_CONTEXT.add(bar.volume, trade.size),
        EXACT_CONTEXT.add(bar.notional, EXACT_CONTEXT.multiply(price, trade.size)),
        bar.trade_count + 1,
        max(bar.price_digits, fraction_digits(price)),
        trade.ts_recv if trade.ts_recv > bar.ts_recv else bar.ts_recv,
    )


def _order(item: tuple[BarKey, OpenBar]) -> tuple[int, BarKey]:
    return item[1].start_ns, item[0]


def _bars(closed: Iterable[tuple[BarKey, OpenBar]], interval: Interval) -> list[Bar]:
    return [
        Bar(
            symbol=symbol,
            ts=from_ns(bar.start_ns),
            ts_recv=bar.ts_recv,
            provider=provider,
            stream=stream,
            interval=interval.text,
            open=bar.open,
            high=bar.high,
            low=bar.low,
            close=bar.close,
            volume=bar.volume,
            vwap=_vwap(bar),
            trade_count=bar.trade_count,
        )
        for (provider, stream, symbol), bar in closed
    ]


def _vwap(bar: OpenBar) -> Decimal | None:
    """The bar's VWAP rounded to the prices' scale + 4, without trailing zeros beyond the prices' scale."""
    vwap = vwap_from_sums(bar.notional, bar.volume, bar.price_digits + EXTRA_PLACES)
    return None if vwap is None else trim_zeros(vwap, bar.price_digits)
