"""Tests for mdc.core.bars: a naive reference, invariants, batch splits, watermark and late trades."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from mdc.core.bars import BarKey, BarState, Interval, aggregate, flush, parse_interval, step
from mdc.core.calc import fraction_digits
from mdc.core.events import Bar, Trade
from mdc.core.timestamps import NS_PER_MINUTE, NS_PER_SECOND, Timestamp, from_ns, to_ns
from mdc.testing.strategies import positive_decimals

MINUTE = Interval("1m", NS_PER_MINUTE)
BASE_NS = to_ns("2026-11-24T14:30:00.000000000Z")
KEYS: list[BarKey] = [("sim", "trades", "AAPL"), ("sim", "trades", "MSFT"), ("other", "trades", "AAPL")]


def trade(key: BarKey, ts_ns: int, price: str, size: str = "1", recv_delay_ns: int = 0) -> Trade:
    provider, stream, symbol = key
    return Trade(
        symbol=symbol,
        ts=from_ns(ts_ns),
        ts_recv=from_ns(ts_ns + recv_delay_ns),
        provider=provider,
        stream=stream,
        price=Decimal(price),
        size=Decimal(size),
    )


@st.composite
def trade_lists(draw: st.DrawFn, max_size: int = 30) -> list[Trade]:
    """Trades of a few keys within a few minutes, in arbitrary order."""
    drawn = draw(
        st.lists(
            st.tuples(
                st.sampled_from(KEYS),
                st.integers(0, 5 * NS_PER_MINUTE),
                positive_decimals(4, 3),
                positive_decimals(4, 2),
                st.integers(0, 10**9),
            ),
            max_size=max_size,
        )
    )
    return [
        Trade(
            symbol=symbol,
            ts=from_ns(BASE_NS + offset),
            ts_recv=from_ns(BASE_NS + offset + delay),
            provider=provider,
            stream=stream,
            price=price,
            size=size,
        )
        for (provider, stream, symbol), offset, price, size, delay in drawn
    ]


@st.composite
def lagging_trade_lists(draw: st.DrawFn) -> list[Trade]:
    """Trades that arrive in time order give or take a lag of up to two minutes each, as merged feeds do."""
    trades = draw(trade_lists())
    lags = draw(st.lists(st.integers(0, 2 * NS_PER_MINUTE), min_size=len(trades), max_size=len(trades)))
    arrivals = sorted(zip(trades, lags, strict=True), key=lambda pair: to_ns(pair[0].ts) + pair[1])
    return [each for each, _ in arrivals]


def key_of(item: Trade | Bar) -> BarKey:
    return item.provider, item.stream, item.symbol


def run(trades: list[Trade], state: BarState | None = None) -> tuple[list[Bar], list[Trade]]:
    """All the bars (closed, then flushed) and late trades of one batch."""
    final, bars, late = aggregate(state or BarState(MINUTE), trades)
    return bars + flush(final), late


def summarise(start: int, key: BarKey, group: list[Trade]) -> Bar:
    """One bar from its trades, computed directly: open and close are the first and last by time, stably."""
    by_time = sorted(group, key=lambda item: to_ns(item.ts))
    notional = sum((Fraction(each.price) * Fraction(each.size) for each in group), Fraction(0))
    volume = sum((Fraction(each.size) for each in group), Fraction(0))
    places = max(fraction_digits(each.price) for each in group) + 4
    vwap = Fraction(round(notional / volume, places))
    provider, stream, symbol = key
    return Bar(
        symbol=symbol,
        ts=from_ns(start),
        ts_recv=max(each.ts_recv for each in group),
        provider=provider,
        stream=stream,
        interval=MINUTE.text,
        open=by_time[0].price,
        high=max(each.price for each in group),
        low=min(each.price for each in group),
        close=by_time[-1].price,
        volume=Decimal(volume.numerator) / Decimal(volume.denominator),
        vwap=Decimal(vwap.numerator) / Decimal(vwap.denominator),
        trade_count=len(group),
    )


def reference(trades: list[Trade], interval_ns: int) -> list[Bar]:
    """Bars computed naively: sort by time, group by (floor(ts / interval), key), summarise each group."""
    groups: dict[tuple[int, BarKey], list[Trade]] = {}
    for each in sorted(trades, key=lambda item: to_ns(item.ts)):
        start = to_ns(each.ts) // interval_ns * interval_ns
        groups.setdefault((start, key_of(each)), []).append(each)
    return [summarise(start, key, group) for (start, key), group in sorted(groups.items())]


def model(trades: list[Trade], interval_ns: int, lateness_ns: int) -> tuple[list[Bar], list[Trade]]:
    """The closing rules written plainly: after every trade, scan every open bar against the watermark."""
    open_bars: dict[BarKey, tuple[int, list[Trade]]] = {}
    newest: int | None = None
    bars: list[Bar] = []
    late: list[Trade] = []
    for each in trades:
        ts, key = to_ns(each.ts), key_of(each)
        start = ts // interval_ns * interval_ns
        current = open_bars.get(key)
        behind_key = current is not None and start < current[0]
        behind_watermark = newest is not None and start + interval_ns <= newest - lateness_ns
        if behind_key or behind_watermark:
            late.append(each)
            continue
        closed = []
        if current is not None and start > current[0]:
            closed.append((current[0], key, current[1]))
            del open_bars[key]
        open_bars.setdefault(key, (start, []))[1].append(each)
        newest = ts if newest is None else max(newest, ts)
        for other, (other_start, group) in list(open_bars.items()):
            if other_start + interval_ns <= newest - lateness_ns:
                closed.append((other_start, other, group))
                del open_bars[other]
        bars += [summarise(*bar) for bar in sorted(closed, key=lambda bar: (bar[0], bar[1]))]
    bars += [
        summarise(start, key, group)
        for key, (start, group) in sorted(open_bars.items(), key=lambda item: (item[1][0], item[0]))
    ]
    return bars, late


# ---------------------------------------------------------------- parse_interval


@pytest.mark.parametrize(
    ("text", "canonical", "ns"),
    [
        ("1s", "1s", NS_PER_SECOND),
        ("1m", "1m", NS_PER_MINUTE),
        ("5m", "5m", 5 * NS_PER_MINUTE),
        ("1h", "1h", 60 * NS_PER_MINUTE),
        ("1d", "1d", 86_400 * NS_PER_SECOND),
        ("15s", "15s", 15 * NS_PER_SECOND),
        ("90m", "90m", 90 * NS_PER_MINUTE),
        ("007h", "7h", 7 * 60 * NS_PER_MINUTE),
    ],
)
def test_parse_interval_accepts_a_count_and_a_unit(text: str, canonical: str, ns: int) -> None:
    """A positive count and s, m, h or d parse, to the canonical text and the length in ns."""
    assert parse_interval(text) == Success(Interval(canonical, ns))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0m", "interval '0m' must be positive"),
        ("000s", "interval '000s' must be positive"),
        ("-5m", "interval '-5m' must be positive"),
        ("1w", "interval '1w' has an unknown unit 'w' (use s, m, h or d)"),
        ("1M", "interval '1M' has an unknown unit 'M' (use s, m, h or d)"),
        ("1mo", "interval '1mo' has an unknown unit 'mo' (use s, m, h or d)"),
        ("15", "interval '15' has no unit (add s, m, h or d)"),
        ("m", "interval 'm' is not a whole count followed by a unit (s, m, h or d), e.g. 1m or 5m"),
        ("", "interval '' is not a whole count followed by a unit (s, m, h or d), e.g. 1m or 5m"),
        ("1.5m", "interval '1.5m' is not a whole count followed by a unit (s, m, h or d), e.g. 1m or 5m"),
        (" 1m", "interval ' 1m' is not a whole count followed by a unit (s, m, h or d), e.g. 1m or 5m"),
        ("1000000s", "interval '1000000s' is too long (at most 6 digits)"),
    ],
)
def test_parse_interval_refuses_with_a_clear_message(text: str, message: str) -> None:
    """Zero, negative, unitless, unknown-unit and malformed intervals are refused, naming the text."""
    assert parse_interval(text) == Failure(message)


@given(st.text(max_size=8))
def test_parse_interval_never_raises(text: str) -> None:
    """Any text gives a Result: a valid interval is positive and reads back to itself."""
    match parse_interval(text):
        case Success(interval):
            assert interval.ns > 0
            assert parse_interval(interval.text) == Success(interval)
        case Failure(message):
            assert repr(text) in message


# ---------------------------------------------------------------- against the reference


@given(trade_lists())
def test_in_order_trades_give_the_reference_bars(trades: list[Trade]) -> None:
    """For trades in time order, the bars equal the naive grouping by floor(ts / interval), in (start, key) order."""
    ordered = sorted(trades, key=lambda item: to_ns(item.ts))
    bars, late = run(ordered)
    assert late == []
    assert bars == reference(ordered, MINUTE.ns)


@given(
    trade_lists() | lagging_trade_lists(), st.sampled_from([0, 20 * NS_PER_SECOND, NS_PER_MINUTE, 150 * NS_PER_SECOND])
)
def test_any_order_and_lateness_give_the_models_bars(trades: list[Trade], lateness_ns: int) -> None:
    """In any arrival order and with any lateness, the bars and late trades are those of the plain model."""
    assert run(trades, BarState(MINUTE, lateness_ns)) == model(trades, MINUTE.ns, lateness_ns)


@given(trade_lists())
def test_bars_account_for_every_trade(trades: list[Trade]) -> None:
    """In any order: OHLC is consistent, and bars plus late trades hold every trade's size exactly once."""
    bars, late = run(trades)
    for bar in bars:
        assert bar.low <= bar.open <= bar.high
        assert bar.low <= bar.close <= bar.high
        assert bar.vwap is not None
        assert bar.low <= bar.vwap <= bar.high
        assert bar.interval == "1m"
        assert to_ns(bar.ts) % MINUTE.ns == 0
    assert sum(bar.trade_count or 0 for bar in bars) + len(late) == len(trades)
    total = sum((Fraction(bar.volume) for bar in bars), Fraction(0))
    total += sum((Fraction(each.size) for each in late), Fraction(0))
    assert total == sum((Fraction(each.size) for each in trades), Fraction(0))
    assert len({(bar.ts, key_of(bar)) for bar in bars}) == len(bars), "one bar per (bucket, key)"


@given(trade_lists(), st.lists(st.integers(0, 30), max_size=6), st.sampled_from([0, 20 * NS_PER_SECOND, NS_PER_MINUTE]))
def test_batch_splits_do_not_change_the_result(trades: list[Trade], cuts: list[int], lateness_ns: int) -> None:
    """Any split into batches, or trade by trade, gives the bars and late trades of one batch."""
    whole_state, whole_bars, whole_late = aggregate(BarState(MINUTE, lateness_ns), trades)
    state, bars, late = BarState(MINUTE, lateness_ns), [], []
    bounds = [0, *sorted(cut for cut in cuts if cut <= len(trades)), len(trades)]
    for low, high in pairwise(bounds):
        state, closed, behind = aggregate(state, trades[low:high])
        bars += closed
        late += behind
    assert (state, bars, late) == (whole_state, whole_bars, whole_late)
    state, bars, late = BarState(MINUTE, lateness_ns), [], []
    for each in trades:
        state, closed, behind = step(state, each)
        bars += closed
        late += behind
    assert (state, bars, late) == (whole_state, whole_bars, whole_late)


@given(trade_lists())
def test_with_no_lateness_bars_come_out_in_start_and_key_order(trades: list[Trade]) -> None:
    """Whatever the input order, with lateness 0 the bars are emitted in (start, key) order."""
    bars, _ = run(trades)
    order = [(bar.ts, key_of(bar)) for bar in bars]
    assert order == sorted(order)


# ---------------------------------------------------------------- worked examples

AAPL, MSFT, OTHER = KEYS


def test_a_bar_by_hand() -> None:
    """Three trades in one minute: OHLC, volume, count, VWAP (10.10 * 2 + 10.30 + 10.05 * 1) / 4, ts and ts_recv."""
    trades = [
        trade(AAPL, BASE_NS + 1 * NS_PER_SECOND, "10.10", "2", recv_delay_ns=5),
        trade(AAPL, BASE_NS + 7 * NS_PER_SECOND, "10.30", "1", recv_delay_ns=9),
        trade(AAPL, BASE_NS + 59 * NS_PER_SECOND, "10.05", "1", recv_delay_ns=1),
    ]
    bars, late = run(trades)
    assert late == []
    assert bars == [
        Bar(
            symbol="AAPL",
            ts=Timestamp("2026-11-24T14:30:00.000000000Z"),
            ts_recv=from_ns(BASE_NS + 59 * NS_PER_SECOND + 1),
            provider="sim",
            stream="trades",
            interval="1m",
            open=Decimal("10.10"),
            high=Decimal("10.30"),
            low=Decimal("10.05"),
            close=Decimal("10.05"),
            volume=Decimal(4),
            vwap=Decimal("10.1375"),  # 40.55 / 4
            trade_count=3,
        )
    ]
    assert str(bars[0].vwap) == "10.1375"  # rounded to 6 places, trailing zeros beyond the prices' 2 dropped


def test_a_trade_at_or_after_the_end_closes_its_keys_bar() -> None:
    """The bar [14:30, 14:31) closes when a trade at exactly 14:31 arrives; the new bar stays open."""
    state, bars, _ = aggregate(BarState(MINUTE), [trade(AAPL, BASE_NS, "10")])
    assert bars == []
    state, bars, _ = step(state, trade(AAPL, BASE_NS + NS_PER_MINUTE, "11"))
    assert [(bar.ts, bar.close) for bar in bars] == [("2026-11-24T14:30:00.000000000Z", Decimal(10))]
    assert [(bar.ts, bar.close) for bar in flush(state)] == [("2026-11-24T14:31:00.000000000Z", Decimal(11))]


def test_the_watermark_closes_an_idle_symbols_bar() -> None:
    """MSFT trades once; its bar closes when AAPL's trades carry the watermark past its end."""
    state, bars, _ = aggregate(BarState(MINUTE), [trade(MSFT, BASE_NS + 10, "300"), trade(AAPL, BASE_NS + 20, "10")])
    assert bars == []
    state, bars, _ = step(state, trade(AAPL, BASE_NS + NS_PER_MINUTE + 5, "11"))
    assert [(bar.symbol, bar.ts) for bar in bars] == [
        ("AAPL", "2026-11-24T14:30:00.000000000Z"),
        ("MSFT", "2026-11-24T14:30:00.000000000Z"),
    ]
    assert [bar.symbol for bar in flush(state)] == ["AAPL"]


def test_bars_closed_together_are_in_start_and_key_order() -> None:
    """One trade can close several keys' bars; they come out sorted by (start, provider, stream, symbol)."""
    trades = [trade(OTHER, BASE_NS, "1"), trade(MSFT, BASE_NS, "2"), trade(AAPL, BASE_NS, "3")]
    _, bars, _ = aggregate(BarState(MINUTE), [*trades, trade(MSFT, BASE_NS + 2 * NS_PER_MINUTE, "4")])
    assert [key_of(bar) for bar in bars] == [OTHER, AAPL, MSFT]


def test_empty_intervals_give_no_bar() -> None:
    """Trades at 14:30 and 14:35 give two bars, none for the quiet minutes between."""
    bars, _ = run([trade(AAPL, BASE_NS, "10"), trade(AAPL, BASE_NS + 5 * NS_PER_MINUTE, "11")])
    assert [bar.ts for bar in bars] == ["2026-11-24T14:30:00.000000000Z", "2026-11-24T14:35:00.000000000Z"]


def test_a_trade_behind_its_keys_bar_is_late() -> None:
    """A trade older than the start of its key's current bar is handed back, and changes nothing."""
    state, _, _ = aggregate(BarState(MINUTE), [trade(AAPL, BASE_NS, "10"), trade(AAPL, BASE_NS + NS_PER_MINUTE, "11")])
    behind = trade(AAPL, BASE_NS + 30 * NS_PER_SECOND, "99")
    after, bars, late = step(state, behind)
    assert (after, bars, late) == (state, [], [behind])


def test_a_trade_for_a_bucket_the_watermark_passed_is_late() -> None:
    """Once the watermark passes a bucket's end the bucket is final, even for a key with no bar in it."""
    early = trade(MSFT, BASE_NS + 30 * NS_PER_SECOND, "300")
    state, _, _ = aggregate(BarState(MINUTE), [trade(AAPL, BASE_NS, "10"), trade(AAPL, BASE_NS + NS_PER_MINUTE, "11")])
    _, bars, late = step(state, early)
    assert (bars, late) == ([], [early])


def test_a_trade_out_of_order_within_its_bucket_is_not_late() -> None:
    """Open and close follow event time, not arrival: an earlier trade in the same bucket becomes the open."""
    bars, late = run([trade(AAPL, BASE_NS + 10, "10"), trade(AAPL, BASE_NS + 5, "9"), trade(AAPL, BASE_NS + 7, "12")])
    assert late == []
    assert [(bar.open, bar.high, bar.low, bar.close) for bar in bars] == [
        (Decimal(9), Decimal(12), Decimal(9), Decimal(10))
    ]


def test_lateness_lets_a_lagging_key_catch_up() -> None:
    """With 30 s of lateness a key trailing by 10 s still gets its bar, closed when the watermark passes it."""
    state = BarState(MINUTE, lateness_ns=30 * NS_PER_SECOND)
    state, bars, late = aggregate(
        state,
        [
            trade(AAPL, BASE_NS + 55 * NS_PER_SECOND, "10"),
            trade(AAPL, BASE_NS + NS_PER_MINUTE + 5 * NS_PER_SECOND, "11"),
            trade(MSFT, BASE_NS + 58 * NS_PER_SECOND, "300"),
        ],
    )
    assert [(bar.symbol, bar.ts) for bar in bars] == [("AAPL", "2026-11-24T14:30:00.000000000Z")]
    assert late == []
    state, bars, late = step(state, trade(AAPL, BASE_NS + NS_PER_MINUTE + 31 * NS_PER_SECOND, "12"))
    assert [(bar.symbol, bar.ts) for bar in bars] == [("MSFT", "2026-11-24T14:30:00.000000000Z")]
    too_late = trade(MSFT, BASE_NS + 59 * NS_PER_SECOND, "301")
    assert step(state, too_late)[2] == [too_late]


def test_the_watermark_closes_bars_of_several_buckets_in_turn() -> None:
    """With lateness, bars of different buckets are open at once; each closes when the watermark passes its end."""
    second = NS_PER_SECOND
    state = BarState(MINUTE, lateness_ns=150 * second)
    closed_by_step = []
    for each in [
        trade(AAPL, BASE_NS + 130 * second, "1"),  # AAPL [14:32, 14:33)
        trade(MSFT, BASE_NS + 70 * second, "2"),  # MSFT [14:31, 14:32), older than any open bar
        trade(OTHER, BASE_NS + 10 * second, "3"),  # OTHER [14:30, 14:31)
        trade(AAPL, BASE_NS + 220 * second, "4"),  # AAPL moves to 14:33; watermark 14:31:10 closes OTHER
        trade(AAPL, BASE_NS + 275 * second, "5"),  # AAPL moves to 14:34; watermark 14:32:05 closes MSFT
        trade(AAPL, BASE_NS + 300 * second, "6"),  # AAPL moves to 14:35; watermark 14:32:30 closes nothing
    ]:
        state, bars, late = step(state, each)
        assert late == []
        closed_by_step.append([(bar.symbol, bar.provider, bar.ts[11:16]) for bar in bars])
    assert closed_by_step == [
        [],
        [],
        [],
        [("AAPL", "other", "14:30"), ("AAPL", "sim", "14:32")],
        [("MSFT", "sim", "14:31"), ("AAPL", "sim", "14:33")],
        [("AAPL", "sim", "14:34")],
    ]


def test_daily_bars_start_at_utc_midnight() -> None:
    """1d buckets are UTC days, whatever the time of the trade."""
    day = parse_interval("1d").unwrap()
    bars, _ = run(
        [
            trade(AAPL, to_ns("2026-11-24T23:59:59.999999999Z"), "1"),
            trade(AAPL, to_ns("2026-11-25T00:00:00.000000000Z"), "2"),
        ],
        BarState(day),
    )
    assert [(bar.ts, bar.interval, bar.close) for bar in bars] == [
        ("2026-11-24T00:00:00.000000000Z", "1d", Decimal(1)),
        ("2026-11-25T00:00:00.000000000Z", "1d", Decimal(2)),
    ]


def test_step_leaves_its_input_state_unchanged() -> None:
    """The state is a value: stepping returns a new one and leaves the old one as it was."""
    state, _, _ = aggregate(BarState(MINUTE), [trade(AAPL, BASE_NS, "10")])
    before = (dict(state.open_bars), state.newest_ns, state.earliest_end_ns)
    step(state, trade(MSFT, BASE_NS + 2 * NS_PER_MINUTE, "300"))
    assert (dict(state.open_bars), state.newest_ns, state.earliest_end_ns) == before


def test_flush_of_a_fresh_state_is_empty() -> None:
    """No trades, no bars."""
    assert flush(BarState(MINUTE)) == []
    assert aggregate(BarState(MINUTE), []) == (BarState(MINUTE), [], [])
