"""Pure market calculations: mid, spread, microprice, imbalance, VWAP, TWAP, order flow.

Every function is total: an undefined result (a missing side, zero total size,
empty input) is ``None``, never an exception.

Arithmetic is exact until the one division a result needs. Sums and products
run in :data:`EXACT_CONTEXT`, which never rounds; the division runs in a
private 60-digit context, and the quotient is then rounded half-even to
``places`` decimal places, so the result always has exactly ``places`` fraction
digits. The 60-digit step rounds with ``ROUND_05UP``, which keeps the final
half-even rounding correct (no double rounding) for any result with fewer
than 58 significant digits. Nothing here reads or changes the thread's decimal
context, so the ``+``, ``-``, ``*`` and ``/`` operators (which use it) appear
only in comparisons and index arithmetic.

Price-like results (mid, microprice, VWAP, TWAP) default to the largest number
of fraction digits among the input prices plus :data:`EXTRA_PLACES`; ratios
(relative spreads, imbalances) default to :data:`RATIO_PLACES`.

>>> from decimal import Decimal
>>> vwap([(Decimal("451.23"), Decimal(100)), (Decimal("451.26"), Decimal(300))])
Decimal('451.252500')
>>> vwap([]) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_05UP,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)
from typing import Final

from attrs import frozen

from .events import Trade

PRECISION: Final = 60
"""Significant digits of a quotient before it is rounded to ``places``."""
EXTRA_PLACES: Final = 4
"""Fraction digits a price-like result carries beyond its most precise input price."""
RATIO_PLACES: Final = 10
"""Default fraction digits of ratios: relative spreads and imbalances."""


def _context(prec: int, rounding: str, *traps: type[DecimalException]) -> Context:
    # Every field set, so that no process-wide DefaultContext setting leaks in.
    return Context(prec, rounding, MIN_EMIN, MAX_EMAX, 1, 0, [], [InvalidOperation, DivisionByZero, Overflow, *traps])


EXACT_CONTEXT: Final = _context(MAX_PREC, ROUND_HALF_EVEN, Inexact)
"""For ``add``, ``subtract`` and ``multiply`` only: never rounds (``Inexact`` is trapped).

Never divide in it: an unending quotient would need unbounded digits.
"""

# The contexts' sticky flags get set as they work; nothing reads them, so sharing
# one context per module is safe and saves building one per call.
_DIVIDE: Final = _context(PRECISION, ROUND_05UP)
_ROUND: Final = _context(MAX_PREC, ROUND_HALF_EVEN)
_ZERO: Final = Decimal(0)
_TWO: Final = Decimal(2)
_PERCENT: Final = Decimal(200)  # 100 * 2, dividing by the sum of the prices rather than the mid
_BASIS_POINTS: Final = Decimal(20_000)


def fraction_digits(value: Decimal) -> int:
    """The number of digits after the decimal point, as written.

    Args:
        value: a finite decimal.

    Returns:
        The count, trailing zeros included; 0 for whole numbers.

    >>> fraction_digits(Decimal("451.230")), fraction_digits(Decimal("12")), fraction_digits(Decimal("1E+2"))
    (3, 0, 0)
    """
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def round_places(value: Decimal, places: int) -> Decimal:
    """Round half-even to exactly ``places`` fraction digits.

    Args:
        value: a finite decimal.
        places: fraction digits to keep (>= 0).

    Returns:
        The rounded value.

    >>> round_places(Decimal("1.00005"), 4), round_places(Decimal("1.00015"), 4), round_places(Decimal(2), 2)
    (Decimal('1.0000'), Decimal('1.0002'), Decimal('2.00'))
    """
    return value.quantize(Decimal((0, (1,), -places)), context=_ROUND)


def trim_zeros(value: Decimal, keep_places: int) -> Decimal:
    """Drop trailing fraction zeros, but keep at least ``keep_places`` fraction digits.

    A VWAP rounded to the prices' scale + 4 reads better as ``10.025`` than
    ``10.02500``, and as ``10.0`` (the prices' own scale) than ``10``.

    Args:
        value: a finite decimal.
        keep_places: the fewest fraction digits to keep.

    Returns:
        The same number with fewer trailing zeros.

    >>> trim_zeros(Decimal("10.02500"), 1), trim_zeros(Decimal("10.00000"), 1), trim_zeros(Decimal("7.50"), 0)
    (Decimal('10.025'), Decimal('10.0'), Decimal('7.5'))
    """
    places = fraction_digits(value)
    while places > keep_places and value == round_places(value, places - 1):
        places -= 1
    return round_places(value, places)


def _divide(numerator: Decimal, denominator: Decimal, places: int) -> Decimal | None:
    if denominator == 0:
        return None
    return round_places(_DIVIDE.divide(numerator, denominator), places)


def _price_places(prices: Iterable[Decimal]) -> int:
    return max((fraction_digits(price) for price in prices), default=0) + EXTRA_PLACES


def mid(bid: Decimal | None, ask: Decimal | None, places: int | None = None) -> Decimal | None:
    """The mid price, halfway between bid and ask.

    Args:
        bid: best bid, or None when there is none.
        ask: best ask, or None when there is none.
        places: fraction digits of the result; default: the inputs' most plus :data:`EXTRA_PLACES`.

    Returns:
        ``(bid + ask) / 2``, or None when a side is missing.

    >>> mid(Decimal("451.23"), Decimal("451.26"))
    Decimal('451.245000')
    """
    if bid is None or ask is None:
        return None
    return _divide(EXACT_CONTEXT.add(bid, ask), _TWO, _price_places((bid, ask)) if places is None else places)


def spread(bid: Decimal | None, ask: Decimal | None) -> Decimal | None:
    """The absolute spread ``ask - bid``, exact (negative when the market is crossed).

    Args:
        bid: best bid, or None when there is none.
        ask: best ask, or None when there is none.

    Returns:
        The difference, or None when a side is missing.
    """
    if bid is None or ask is None:
        return None
    return EXACT_CONTEXT.subtract(ask, bid)


def spread_pct(bid: Decimal | None, ask: Decimal | None, places: int = RATIO_PLACES) -> Decimal | None:
    """The spread as a percentage of the mid price.

    Args:
        bid: best bid, or None when there is none.
        ask: best ask, or None when there is none.
        places: fraction digits of the result.

    Returns:
        ``100 * (ask - bid) / mid``, or None when a side is missing or the mid is not positive.

    >>> spread_pct(Decimal("99.99"), Decimal("100.01"), places=4)
    Decimal('0.0200')
    """
    return _relative_spread(bid, ask, _PERCENT, places)


def spread_bps(bid: Decimal | None, ask: Decimal | None, places: int = RATIO_PLACES) -> Decimal | None:
    """The spread in basis points (hundredths of a percent) of the mid price.

    Args:
        bid: best bid, or None when there is none.
        ask: best ask, or None when there is none.
        places: fraction digits of the result.

    Returns:
        ``10000 * (ask - bid) / mid``, or None when a side is missing or the mid is not positive.

    >>> spread_bps(Decimal("99.99"), Decimal("100.01"), places=2)
    Decimal('2.00')
    """
    return _relative_spread(bid, ask, _BASIS_POINTS, places)


def _relative_spread(bid: Decimal | None, ask: Decimal | None, scale: Decimal, places: int) -> Decimal | None:
    if bid is None or ask is None:
        return None
    total = EXACT_CONTEXT.add(bid, ask)
    if total <= 0:
        return None
    return _divide(EXACT_CONTEXT.multiply(scale, EXACT_CONTEXT.subtract(ask, bid)), total, places)


def microprice(
    bid: Decimal | None, bid_size: Decimal, ask: Decimal | None, ask_size: Decimal, places: int | None = None
) -> Decimal | None:
    """The size-weighted mid: each price weighted by the size on the *other* side.

    A heavy bid pushes the microprice toward the ask, where the next trade is
    more likely to happen.

    Args:
        bid: best bid, or None when there is none.
        bid_size: quantity at the best bid (>= 0).
        ask: best ask, or None when there is none.
        ask_size: quantity at the best ask (>= 0).
        places: fraction digits of the result; default: the prices' most plus :data:`EXTRA_PLACES`.

    Returns:
        ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``, or None when a
        side is missing, a size is negative or both sizes are zero.

    >>> microprice(Decimal(100), Decimal(300), Decimal(101), Decimal(100))
    Decimal('100.7500')
    """
    if bid is None or ask is None or bid_size < 0 or ask_size < 0:
        return None
    weighted = EXACT_CONTEXT.add(EXACT_CONTEXT.multiply(bid, ask_size), EXACT_CONTEXT.multiply(ask, bid_size))
    return _divide(
        weighted, EXACT_CONTEXT.add(bid_size, ask_size), _price_places((bid, ask)) if places is None else places
    )


def imbalance(bid_size: Decimal, ask_size: Decimal, places: int = RATIO_PLACES) -> Decimal | None:
    """Top-of-book imbalance, from -1 (all ask) to +1 (all bid).

    Args:
        bid_size: quantity at the best bid (>= 0).
        ask_size: quantity at the best ask (>= 0).
        places: fraction digits of the result.

    Returns:
        ``(bid_size - ask_size) / (bid_size + ask_size)``, or None when a size is
        negative or both are zero.

    >>> imbalance(Decimal(300), Decimal(100), places=2)
    Decimal('0.50')
    """
    if bid_size < 0 or ask_size < 0:
        return None
    return _divide(EXACT_CONTEXT.subtract(bid_size, ask_size), EXACT_CONTEXT.add(bid_size, ask_size), places)


def harmonic_weights(levels: int) -> tuple[Decimal, ...]:
    """Weights ``1, 1/2, 1/3, ...`` for the best ``levels`` levels (to 60 significant digits).

    Args:
        levels: how many levels to weigh.

    Returns:
        One weight per level, best level first.

    >>> harmonic_weights(2)
    (Decimal('1'), Decimal('0.5'))
    """
    one = Decimal(1)
    return tuple(_DIVIDE.divide(one, Decimal(level + 1)) for level in range(levels))


DEFAULT_DEPTH_WEIGHTS: Final = harmonic_weights(5)
"""The weights :func:`depth_imbalance` uses unless told otherwise: the best five levels, ``1/(i+1)``."""


def depth_imbalance(
    bids: Sequence[tuple[Decimal, Decimal]],
    asks: Sequence[tuple[Decimal, Decimal]],
    weights: Sequence[Decimal] = DEFAULT_DEPTH_WEIGHTS,
    places: int = RATIO_PLACES,
) -> Decimal | None:
    """Imbalance over several book levels, each level's size weighted by its rank.

    The weighted bid size is ``sum(weights[i] * size of bids[i])`` over the first
    ``len(weights)`` levels (a level the book does not have counts as size 0), and
    likewise for the asks. Weighting is by rank from the best level, not by price
    distance, so books with different tick sizes compare.

    Args:
        bids: ``(price, size)`` pairs, best (highest) first, as in ``Snapshot.bids``.
        asks: ``(price, size)`` pairs, best (lowest) first, as in ``Snapshot.asks``.
        weights: weight per level, best first (>= 0); its length is the depth used.
            Default :data:`DEFAULT_DEPTH_WEIGHTS`; see :func:`harmonic_weights`.
        places: fraction digits of the result.

    Returns:
        ``(weighted bid - weighted ask) / (weighted bid + weighted ask)``, from -1 to 1,
        or None when both weighted sizes are zero or a size or weight is negative.

    >>> bids = [(Decimal(100), Decimal(10)), (Decimal(99), Decimal(20))]
    >>> asks = [(Decimal(101), Decimal(30)), (Decimal(102), Decimal(40))]
    >>> depth_imbalance(bids, asks, places=4)  # (10 + 20/2 - 30 - 40/2) / (10 + 20/2 + 30 + 40/2)
    Decimal('-0.4286')
    """
    if any(weight < 0 for weight in weights):
        return None
    bid_total = _weighted_size(bids, weights)
    ask_total = _weighted_size(asks, weights)
    if bid_total is None or ask_total is None:
        return None
    return _divide(EXACT_CONTEXT.subtract(bid_total, ask_total), EXACT_CONTEXT.add(bid_total, ask_total), places)


def _weighted_size(levels: Sequence[tuple[Decimal, Decimal]], weights: Sequence[Decimal]) -> Decimal | None:
    total = _ZERO
    for weight, (_, size) in zip(weights, levels, strict=False):
        if size < 0:
            return None
        total = EXACT_CONTEXT.add(total, EXACT_CONTEXT.multiply(weight, size))
    return total


def vwap(fills: Iterable[tuple[Decimal, Decimal]], places: int | None = None) -> Decimal | None:
    """The volume-weighted average price of ``(price, size)`` pairs.

    Args:
        fills: ``(price, size)`` pairs, sizes >= 0.
        places: fraction digits of the result; default: the prices' most plus :data:`EXTRA_PLACES`.

    Returns:
        ``sum(price * size) / sum(size)``, or None when the total size is not positive.

    >>> vwap([(Decimal("10.01"), Decimal(1)), (Decimal("10.02"), Decimal(2))])  # 30.05 / 3
    Decimal('10.016667')
    """
    notional = _ZERO
    volume = _ZERO
    digits = 0
    for price, size in fills:
        notional = EXACT_CONTEXT.add(notional, EXACT_CONTEXT.multiply(price, size))
        volume = EXACT_CONTEXT.add(volume, size)
        digits = max(digits, fraction_digits(price))
    return vwap_from_sums(notional, volume, digits + EXTRA_PLACES if places is None else places)


def vwap_from_sums(notional: Decimal, volume: Decimal, places: int) -> Decimal | None:
    """The VWAP from running sums, as bars keep them.

    Accumulate the sums in :data:`EXACT_CONTEXT` so that they never round.

    Args:
        notional: ``sum(price * size)``.
        volume: ``sum(size)``.
        places: fraction digits of the result (:func:`vwap` uses the prices' most
            plus :data:`EXTRA_PLACES`; the sums no longer know the prices).

    Returns:
        ``notional / volume`` rounded half-even, or None when ``volume`` is not positive.

    >>> vwap_from_sums(Decimal("180498"), Decimal(400), 6)
    Decimal('451.245000')
    """
    if volume <= 0:
        return None
    return _divide(notional, volume, places)


def twap(samples: Iterable[tuple[int, Decimal]], end_ns: int, places: int | None = None) -> Decimal | None:
    """The time-weighted average price: each price weighted by how long it stood.

    A sample's price stands from its time until the next sample's time, the last
    one until ``end_ns``. The average starts at the earliest sample; samples at or
    after ``end_ns`` carry no weight. Samples may come in any order; of two at the
    same time the later one in the input stands (the earlier one gets no weight).

    Args:
        samples: ``(ts_ns, price)`` pairs, times in nanoseconds since the epoch.
        end_ns: when the last price stops standing.
        places: fraction digits of the result; default: the prices' most plus :data:`EXTRA_PLACES`.

    Returns:
        The average, or None when no time passes between the first sample and ``end_ns``.

    >>> twap([(0, Decimal(10)), (3_000, Decimal(20))], end_ns=4_000)  # (10 * 3 + 20 * 1) / 4
    Decimal('12.5000')
    """
    ordered = sorted(samples, key=lambda sample: sample[0])
    if not ordered or ordered[0][0] >= end_ns:
        return None
    weighted = _ZERO
    digits = 0
    for (ts_ns, price), (next_ns, _) in zip(ordered, [*ordered[1:], (end_ns, _ZERO)], strict=True):
        digits = max(digits, fraction_digits(price))
        if ts_ns < end_ns:
            stood = min(next_ns, end_ns) - ts_ns
            weighted = EXACT_CONTEXT.add(weighted, EXACT_CONTEXT.multiply(price, Decimal(stood)))
    elapsed = Decimal(end_ns - ordered[0][0])
    return _divide(weighted, elapsed, digits + EXTRA_PLACES if places is None else places)


@frozen
class OrderFlow:
    """Volume and trade counts by aggressor side; a monoid under :meth:`combine`.

    ``OrderFlow.empty()`` is the identity and :meth:`combine` is associative, so a
    stream may be summarised in chunks and the chunk summaries combined in order
    (or in any grouping) to the summary of the whole.

    Attributes:
        buy_volume: total size of trades whose aggressor bought.
        sell_volume: total size of trades whose aggressor sold.
        unknown_volume: total size of trades of unknown (or unrecognised) side.
        buy_count: number of buyer-initiated trades.
        sell_count: number of seller-initiated trades.
        unknown_count: number of trades of unknown side.
    """

    buy_volume: Decimal = _ZERO
    sell_volume: Decimal = _ZERO
    unknown_volume: Decimal = _ZERO
    buy_count: int = 0
    sell_count: int = 0
    unknown_count: int = 0

    @staticmethod
    def empty() -> OrderFlow:
        """The summary of no trades: the identity of :meth:`combine`."""
        return _EMPTY_FLOW

    def combine(self, other: OrderFlow) -> OrderFlow:
        """The summary of this chunk followed by ``other``.

        Args:
            other: the summary of the following trades.

        Returns:
            The summary of both; sums are exact.
        """
        return OrderFlow(
            EXACT_CONTEXT.add(self.buy_volume, other.buy_volume),
            EXACT_CONTEXT.add(self.sell_volume, other.sell_volume),
            EXACT_CONTEXT.add(self.unknown_volume, other.unknown_volume),
            self.buy_count + other.buy_count,
            self.sell_count + other.sell_count,
            self.unknown_count + other.unknown_count,
        )

    @property
    def volume(self) -> Decimal:
        """Total size of all trades."""
        return EXACT_CONTEXT.add(EXACT_CONTEXT.add(self.buy_volume, self.sell_volume), self.unknown_volume)

    @property
    def delta(self) -> Decimal:
        """Buy volume minus sell volume (trades of unknown side do not count)."""
        return EXACT_CONTEXT.subtract(self.buy_volume, self.sell_volume)

    @property
    def trade_count(self) -> int:
        """Number of trades."""
        return self.buy_count + self.sell_count + self.unknown_count


_EMPTY_FLOW: Final = OrderFlow()


def order_flow(trades: Iterable[Trade]) -> OrderFlow:
    """Summarise trades by aggressor side.

    Args:
        trades: trades in any order; a side other than ``buy`` or ``sell`` counts as unknown.

    Returns:
        Their :class:`OrderFlow`.

    >>> def trade(side: str, size: str) -> Trade:
    ...     ts = "2026-11-24T14:30:00.000000000Z"
    ...     return Trade(symbol="X", ts=ts, ts_recv=ts, provider="p", stream="s",
    ...                  price=Decimal(1), size=Decimal(size), side=side)
    >>> flow = order_flow([trade("buy", "5"), trade("sell", "2"), trade("unknown", "1.5")])
    >>> flow.delta, flow.volume, flow.trade_count
    (Decimal('3'), Decimal('8.5'), 3)
    """
    buy, sell, unknown = _ZERO, _ZERO, _ZERO
    buy_count, sell_count, unknown_count = 0, 0, 0
    for trade in trades:
        if trade.side == "buy":
            buy = EXACT_CONTEXT.add(buy, trade.size)
            buy_count += 1
        elif trade.side == "sell":
            sell = EXACT_CONTEXT.add(sell, trade.size)
            sell_count += 1
        else:
            unknown = EXACT_CONTEXT.add(unknown, trade.size)
            unknown_count += 1
    return OrderFlow(buy, sell, unknown, buy_count, sell_count, unknown_count)
