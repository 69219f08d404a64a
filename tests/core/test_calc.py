"""Tests for mdc.core.calc: properties against exact rational arithmetic, and worked examples."""

from __future__ import annotations

from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction
from functools import reduce

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.calc import (
    DEFAULT_DEPTH_WEIGHTS,
    OrderFlow,
    depth_imbalance,
    fraction_digits,
    harmonic_weights,
    imbalance,
    microprice,
    mid,
    order_flow,
    round_places,
    spread,
    spread_bps,
    spread_pct,
    twap,
    vwap,
    vwap_from_sums,
)
from mdc.core.events import SIDES, Trade
from mdc.core.timestamps import Timestamp
from mdc.testing.strategies import non_negative_decimals, positive_decimals

prices = positive_decimals(max_integer_digits=6, max_fraction_digits=4)
sizes = positive_decimals(max_integer_digits=6, max_fraction_digits=3)
fills = st.lists(st.tuples(prices, sizes), min_size=1, max_size=20)
levels = st.lists(st.tuples(prices, non_negative_decimals()), max_size=8)


def rounded(value: Fraction, places: int) -> Fraction:
    """The exact value rounded half-even, computed without decimal contexts."""
    return Fraction(round(value, places))


def default_places(*values: Decimal) -> int:
    return max(fraction_digits(value) for value in values) + 4


# ---------------------------------------------------------------- mid and spread


@given(prices, prices)
def test_mid_lies_between_bid_and_ask(first: Decimal, second: Decimal) -> None:
    """The mid is within [bid, ask], and is the exact half-sum (it needs one extra digit at most)."""
    bid, ask = min(first, second), max(first, second)
    result = mid(bid, ask)
    assert result is not None
    assert bid <= result <= ask
    assert Fraction(result) == (Fraction(bid) + Fraction(ask)) / 2


@given(prices, prices)
def test_spread_is_exact_and_not_negative_when_bid_is_at_most_ask(first: Decimal, second: Decimal) -> None:
    """spread = ask - bid exactly, so >= 0 when bid <= ask."""
    bid, ask = min(first, second), max(first, second)
    result = spread(bid, ask)
    assert result is not None
    assert result >= 0
    assert Fraction(result) == Fraction(ask) - Fraction(bid)


@given(prices, prices)
def test_relative_spreads_are_the_spread_over_the_mid(bid: Decimal, ask: Decimal) -> None:
    """spread_pct and spread_bps are 100 and 10000 times spread / mid, rounded half-even."""
    exact = (Fraction(ask) - Fraction(bid)) / ((Fraction(bid) + Fraction(ask)) / 2)
    pct, bps = spread_pct(bid, ask), spread_bps(bid, ask, places=3)
    assert pct is not None
    assert bps is not None
    assert Fraction(pct) == rounded(100 * exact, 10)
    assert Fraction(bps) == rounded(10_000 * exact, 3)


def test_mid_and_spreads_by_hand() -> None:
    """Worked example: bid 99.99, ask 100.01."""
    bid, ask = Decimal("99.99"), Decimal("100.01")
    assert mid(bid, ask) == Decimal(100)
    assert str(mid(bid, ask)) == "100.000000"
    assert spread(bid, ask) == Decimal("0.02")
    assert spread_pct(bid, ask) == Decimal("0.02")
    assert spread_bps(bid, ask) == Decimal(2)
    assert spread(ask, bid) == Decimal("-0.02")


def test_mid_rounds_half_even_when_asked_for_fewer_places() -> None:
    """451.245 has a tie at two places: half-even keeps the 4."""
    assert mid(Decimal("451.23"), Decimal("451.26"), places=2) == Decimal("451.24")
    assert mid(Decimal("451.23"), Decimal("451.28"), places=2) == Decimal("451.26")


@pytest.mark.parametrize(
    ("bid", "ask"), [(None, Decimal(1)), (Decimal(1), None), (None, None)], ids=["no-bid", "no-ask", "neither"]
)
def test_a_missing_side_gives_none(bid: Decimal | None, ask: Decimal | None) -> None:
    """Mid, spreads and microprice are undefined without both sides."""
    assert mid(bid, ask) is None
    assert spread(bid, ask) is None
    assert spread_pct(bid, ask) is None
    assert spread_bps(bid, ask) is None
    assert microprice(bid, Decimal(1), ask, Decimal(1)) is None


def test_relative_spread_of_a_zero_mid_is_none() -> None:
    """A zero mid leaves the relative spread undefined."""
    assert spread_pct(Decimal(0), Decimal(0)) is None
    assert spread_bps(Decimal(-1), Decimal(1)) is None


# ---------------------------------------------------------------- microprice and imbalance


@given(prices, sizes, prices, sizes)
def test_microprice_lies_within_bid_and_ask(
    first: Decimal, bid_size: Decimal, second: Decimal, ask_size: Decimal
) -> None:
    """The microprice is within [bid, ask] and is the exact weighted mid, rounded half-even."""
    bid, ask = min(first, second), max(first, second)
    result = microprice(bid, bid_size, ask, ask_size)
    assert result is not None
    assert bid <= result <= ask
    exact = (Fraction(bid) * Fraction(ask_size) + Fraction(ask) * Fraction(bid_size)) / (
        Fraction(bid_size) + Fraction(ask_size)
    )
    assert Fraction(result) == rounded(exact, default_places(bid, ask))


def test_microprice_by_hand() -> None:
    """(100 * 100 + 101 * 300) / 400 = 100.75, leaning to the ask when the bid is heavy."""
    assert microprice(Decimal(100), Decimal(300), Decimal(101), Decimal(100)) == Decimal("100.75")
    assert microprice(Decimal(100), Decimal(0), Decimal(101), Decimal(0)) is None
    assert microprice(Decimal(100), Decimal(-1), Decimal(101), Decimal(2)) is None


@given(non_negative_decimals(), non_negative_decimals())
def test_imbalance_is_within_minus_one_and_one_and_antisymmetric(bid_size: Decimal, ask_size: Decimal) -> None:
    """Imbalance is in [-1, 1], flips sign when the sides swap, and is None only for an empty top."""
    result = imbalance(bid_size, ask_size)
    if bid_size == ask_size == 0:
        assert result is None
        return
    assert result is not None
    assert -1 <= result <= 1
    assert imbalance(ask_size, bid_size) == -result


def test_imbalance_by_hand() -> None:
    """(300 - 100) / 400 = 0.5; all on one side is +-1."""
    assert imbalance(Decimal(300), Decimal(100)) == Decimal("0.5")
    assert imbalance(Decimal(5), Decimal(0)) == Decimal(1)
    assert imbalance(Decimal(0), Decimal(5)) == Decimal(-1)
    assert imbalance(Decimal(-1), Decimal(5)) is None


@given(levels, levels, st.none() | st.lists(non_negative_decimals(), min_size=1, max_size=6))
def test_depth_imbalance_is_within_minus_one_and_one_and_antisymmetric(
    bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]], weights: list[Decimal] | None
) -> None:
    """Depth imbalance is in [-1, 1] and flips sign when the books swap."""
    chosen = DEFAULT_DEPTH_WEIGHTS if weights is None else weights
    result = depth_imbalance(bids, asks, chosen)
    if result is None:
        return
    assert -1 <= result <= 1
    assert depth_imbalance(asks, bids, chosen) == -result


def test_depth_imbalance_by_hand() -> None:
    """Default weights 1, 1/2, ...: (10 + 20/2 - 30 - 40/2) / 70 = -3/7; flat weights: (30 - 70) / 100."""
    bids = [(Decimal(100), Decimal(10)), (Decimal(99), Decimal(20))]
    asks = [(Decimal(101), Decimal(30)), (Decimal(102), Decimal(40))]
    assert depth_imbalance(bids, asks) == Decimal("-0.4285714286")
    assert depth_imbalance(bids, asks, [Decimal(1), Decimal(1)]) == Decimal("-0.4")
    assert depth_imbalance(bids, asks, [Decimal(1)]) == Decimal("-0.5")


def test_depth_imbalance_counts_missing_levels_as_empty() -> None:
    """A one-sided book is +-1; an empty one is undefined; a negative weight is refused."""
    bids = [(Decimal(100), Decimal(10))]
    assert depth_imbalance(bids, []) == Decimal(1)
    assert depth_imbalance([], bids) == Decimal(-1)
    assert depth_imbalance([], []) is None
    assert depth_imbalance(bids, [], [Decimal(1), Decimal(-1)]) is None


def test_harmonic_weights() -> None:
    """Weights are 1/(i+1), best level first."""
    assert harmonic_weights(3)[:2] == (Decimal(1), Decimal("0.5"))
    assert Decimal("0.333333") < harmonic_weights(3)[2] < Decimal("0.333334")
    assert len(DEFAULT_DEPTH_WEIGHTS) == 5


# ---------------------------------------------------------------- VWAP and TWAP


@given(fills)
def test_vwap_lies_within_the_prices_and_is_correctly_rounded(pairs: list[tuple[Decimal, Decimal]]) -> None:
    """VWAP is in [min price, max price] and equals the exact ratio rounded half-even."""
    result = vwap(pairs)
    assert result is not None
    assert min(price for price, _ in pairs) <= result <= max(price for price, _ in pairs)
    exact = sum((Fraction(price) * Fraction(size) for price, size in pairs), Fraction(0)) / sum(
        (Fraction(size) for _, size in pairs), Fraction(0)
    )
    assert Fraction(result) == rounded(exact, default_places(*(price for price, _ in pairs)))


@given(prices, st.lists(sizes, min_size=1, max_size=10))
def test_vwap_of_one_price_is_that_price(price: Decimal, amounts: list[Decimal]) -> None:
    """When every trade has the same price, the VWAP is that price."""
    assert vwap([(price, size) for size in amounts]) == price


@given(fills, st.integers(0, 12))
def test_vwap_from_sums_equals_vwap_of_the_list(pairs: list[tuple[Decimal, Decimal]], places: int) -> None:
    """Running sums give the same VWAP as the list, at any number of places."""
    # A context of the test's own, wide enough that these sums cannot round (Inexact would raise).
    with localcontext(Context(prec=100, traps=[Inexact])):
        notional = sum((price * size for price, size in pairs), Decimal(0))
        volume = sum((size for _, size in pairs), Decimal(0))
    assert vwap_from_sums(notional, volume, places) == vwap(pairs, places)


def test_vwap_by_hand() -> None:
    """(451.23 * 100 + 451.26 * 300) / 400 = 451.2525, given two prices' 2 + 4 places."""
    result = vwap([(Decimal("451.23"), Decimal(100)), (Decimal("451.26"), Decimal(300))])
    assert result == Decimal("451.2525")
    assert str(result) == "451.252500"
    assert vwap([(Decimal("10.01"), Decimal(1)), (Decimal("10.02"), Decimal(2))]) == Decimal("10.016667")


def test_vwap_is_undefined_without_volume() -> None:
    """No fills, or only zero sizes, give None."""
    assert vwap([]) is None
    assert vwap([(Decimal(10), Decimal(0))]) is None
    assert vwap_from_sums(Decimal(0), Decimal(0), 4) is None


def test_rounding_is_half_even_and_not_double() -> None:
    """Ties go to even; a quotient just above a tie beyond 60 digits still rounds up."""
    assert vwap_from_sums(Decimal("2.5"), Decimal(2), 1) == Decimal("1.2")
    assert vwap_from_sums(Decimal("3.5"), Decimal(2), 1) == Decimal("1.8")
    assert round_places(Decimal("1.00005"), 4) == Decimal("1.0000")
    assert round_places(Decimal("1.00015"), 4) == Decimal("1.0002")
    just_above_a_tie = Decimal("0.12345" + "0" * 64 + "1")
    assert vwap_from_sums(just_above_a_tie, Decimal(1), 4) == Decimal("0.1235")


@given(st.lists(st.tuples(st.integers(0, 10**6), prices), min_size=1, max_size=20), st.integers(1, 10**6))
def test_twap_lies_within_the_prices(samples: list[tuple[int, Decimal]], after_last: int) -> None:
    """TWAP is in [min, max] of the prices and is the exact time-weighted mean, rounded."""
    end_ns = max(ts for ts, _ in samples) + after_last
    result = twap(samples, end_ns)
    assert result is not None
    assert min(price for _, price in samples) <= result <= max(price for _, price in samples)
    ordered = sorted(samples, key=lambda sample: sample[0])
    times = [ts for ts, _ in ordered[1:]] + [end_ns]
    weighted = sum(
        (Fraction(price) * (until - ts) for (ts, price), until in zip(ordered, times, strict=True)), Fraction(0)
    )
    exact = weighted / (end_ns - ordered[0][0])
    assert Fraction(result) == rounded(exact, default_places(*(price for _, price in samples)))


def test_twap_by_hand() -> None:
    """10 for 3 us then 20 for 1 us: 50 / 4 = 12.5; samples past the end and input order do not matter."""
    assert twap([(0, Decimal(10)), (3_000, Decimal(20))], 4_000) == Decimal("12.5")
    assert twap([(5_000, Decimal(99)), (3_000, Decimal(20)), (0, Decimal(10))], 4_000) == Decimal("12.5")
    assert twap([(0, Decimal("1.5"))], 7) == Decimal("1.5")


def test_twap_of_samples_at_the_same_time_keeps_the_last() -> None:
    """Of two samples at one instant the later in the input stands."""
    assert twap([(0, Decimal(10)), (0, Decimal(30))], 10) == Decimal(30)


def test_twap_is_undefined_without_elapsed_time() -> None:
    """No samples, or none before the end, give None."""
    assert twap([], 10) is None
    assert twap([(10, Decimal(1))], 10) is None
    assert twap([(11, Decimal(1))], 10) is None


# ---------------------------------------------------------------- order flow

# Only side and size matter here; fixed envelopes keep the strategy fast.
trades = st.builds(
    Trade,
    symbol=st.just("X"),
    ts=st.just(Timestamp("2026-11-24T14:30:00.000000000Z")),
    ts_recv=st.just(Timestamp("2026-11-24T14:30:00.000000000Z")),
    provider=st.just("p"),
    stream=st.just("s"),
    price=prices,
    size=positive_decimals(),
    side=st.sampled_from([*SIDES, "other"]),
)
chunked_trades = st.lists(st.lists(trades, max_size=5), max_size=5)


@given(st.lists(trades, max_size=20))
def test_order_flow_volumes_add_up(stream: list[Trade]) -> None:
    """buy + sell + unknown = total volume, delta = buy - sell, counts add up to the trades."""
    flow = order_flow(stream)
    assert Fraction(flow.volume) == sum(Fraction(trade.size) for trade in stream)
    assert flow.buy_volume + flow.sell_volume + flow.unknown_volume == flow.volume
    assert flow.delta == flow.buy_volume - flow.sell_volume
    assert Fraction(flow.buy_volume) == sum(Fraction(trade.size) for trade in stream if trade.side == "buy")
    assert flow.trade_count == len(stream)
    assert flow.buy_count == sum(trade.side == "buy" for trade in stream)
    assert flow.sell_count == sum(trade.side == "sell" for trade in stream)


@given(chunked_trades)
def test_combining_chunk_summaries_equals_summarising_the_whole(chunks: list[list[Trade]]) -> None:
    """Summaries of chunks combine, left to right, to the summary of the whole stream."""
    combined = reduce(OrderFlow.combine, (order_flow(chunk) for chunk in chunks), OrderFlow.empty())
    assert combined == order_flow(trade for chunk in chunks for trade in chunk)


@given(st.lists(trades, max_size=5), st.lists(trades, max_size=5), st.lists(trades, max_size=5))
def test_combine_is_associative_with_an_identity(first: list[Trade], second: list[Trade], third: list[Trade]) -> None:
    """(a + b) + c = a + (b + c), and empty + a = a = a + empty."""
    a, b, c = order_flow(first), order_flow(second), order_flow(third)
    assert a.combine(b).combine(c) == a.combine(b.combine(c))
    assert OrderFlow.empty().combine(a) == a == a.combine(OrderFlow.empty())


def test_order_flow_by_hand() -> None:
    """Buys 5 + 2.5, a sell of 3, an unknown 1: delta 4.5 of 11.5 traded."""
    ts = Timestamp("2026-11-24T14:30:00.000000000Z")

    def trade(side: str, size: str) -> Trade:
        return Trade(
            symbol="X", ts=ts, ts_recv=ts, provider="p", stream="s", price=Decimal(1), size=Decimal(size), side=side
        )

    flow = order_flow([trade("buy", "5"), trade("sell", "3"), trade("buy", "2.5"), trade("unknown", "1")])
    assert flow == OrderFlow(Decimal("7.5"), Decimal(3), Decimal(1), 2, 1, 1)
    assert flow.delta == Decimal("4.5")
    assert flow.volume == Decimal("11.5")
    assert flow.trade_count == 4
    assert order_flow([]) == OrderFlow.empty()
