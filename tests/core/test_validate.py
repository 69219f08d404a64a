from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

from mdc.core.events import Bar, Depth, Integrity, Quote, Snapshot, Trade
from mdc.core.timestamps import NS_PER_SECOND
from mdc.core.validate import CrossedQuotes, Policy, check, check_in_detail, validate_event
from mdc.testing.strategies import events

TS = "2026-11-24T14:30:00.000000000Z"
ENVELOPE = {"symbol": "SPY", "ts": TS, "ts_recv": TS, "provider": "sim", "stream": "s", "seq": 1}
TRADE = Trade(**ENVELOPE, price=Decimal("451.10"), size=Decimal(100), side="buy")  # type: ignore[arg-type]
QUOTE = Quote(**ENVELOPE, bid_price=Decimal(10), bid_size=Decimal(1), ask_price=Decimal(11), ask_size=Decimal(2))  # type: ignore[arg-type]
BAR = Bar(
    **ENVELOPE,  # type: ignore[arg-type]
    interval="1m",
    open=Decimal(10),
    high=Decimal(12),
    low=Decimal(9),
    close=Decimal(11),
    volume=Decimal(100),
)


def rules(event: object, policy: Policy | None = None) -> list[str]:
    result = validate_event(event, policy or Policy())  # type: ignore[arg-type]
    return [] if isinstance(result, Success) else [violation.rule for violation in result.failure()]


@given(events())
def test_valid_events_pass_unchanged(event: object) -> None:
    """Everything the strategies make is valid and comes back as it went in."""
    assert validate_event(event, Policy(max_skew_ns=2 * NS_PER_SECOND)) == Success(event)  # type: ignore[arg-type]


def test_a_bad_trade_reports_every_rule_it_breaks() -> None:
    """Errors accumulate: one Failure lists price, size, side, symbol and timestamp problems."""
    bad = attrs.evolve(
        TRADE, symbol="../../etc", ts="2026-11-24T14:30:00", price=Decimal(-1), size=Decimal(0), side="BUY"
    )
    assert rules(bad) == ["ts_format", "symbol_grammar", "price_positive", "size_positive", "known_side"]


def test_violations_are_data_with_rule_field_value_message() -> None:
    """A violation carries the rule code, the JSON path, the value and a sentence."""
    (violation,) = validate_event(attrs.evolve(TRADE, price=Decimal("-1.5")), Policy()).failure()
    assert (violation.rule, violation.field, violation.value) == ("price_positive", "$.price", Decimal("-1.5"))
    assert violation.message == "price must be > 0 (got -1.5)"


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_prices_must_be_finite(value: str) -> None:
    """NaN and infinities are refused, for prices and sizes alike."""
    assert rules(attrs.evolve(TRADE, price=Decimal(value))) == ["finite_number"]
    assert rules(attrs.evolve(TRADE, size=Decimal(value))) == ["finite_number"]


def test_non_canonical_timestamps_are_normalised() -> None:
    """An offset timestamp passes and comes back canonical."""
    result = validate_event(attrs.evolve(TRADE, ts="2026-11-24T09:30:00-05:00"), Policy())
    assert result.unwrap().ts == TS


def test_skew_is_measured_against_ts_recv() -> None:
    """ts may run ahead of ts_recv by at most max_skew."""
    ahead = attrs.evolve(TRADE, ts="2026-11-24T14:30:03.000000000Z")
    assert rules(ahead, Policy(max_skew_ns=5 * NS_PER_SECOND)) == []
    assert rules(ahead, Policy(max_skew_ns=2 * NS_PER_SECOND)) == ["ts_skew"]
    behind = attrs.evolve(TRADE, ts="2026-11-24T14:20:00.000000000Z")
    assert rules(behind, Policy(max_skew_ns=0)) == []


@pytest.mark.parametrize("symbol", ["BRK/B", "BRK.B", "ES=F", "^GSPC", "EUR/USD", "BTC-USD", "ESZ4:XCME", "A" * 32])
def test_real_symbologies_pass(symbol: str) -> None:
    """The grammar admits what real symbologies use."""
    assert rules(attrs.evolve(TRADE, symbol=symbol)) == []


@pytest.mark.parametrize("symbol", ["../../etc", "..", ".", "/", "//", "", "A" * 33, "SPY\n", "SP Y", "SPÝ", "a\\b"])
def test_dangerous_symbols_are_refused(symbol: str) -> None:
    """Path tricks, control characters, spaces and over-long names fail the grammar."""
    assert rules(attrs.evolve(TRADE, symbol=symbol)) == ["symbol_grammar"]


def test_quote_rules() -> None:
    """Sizes >= 0, prices > 0, and an empty side has size 0."""
    assert rules(attrs.evolve(QUOTE, bid_size=Decimal(-1), ask_price=Decimal(0))) == [
        "size_nonnegative",
        "price_positive",
    ]
    assert rules(attrs.evolve(QUOTE, bid_price=None, bid_size=Decimal(0))) == []
    assert rules(attrs.evolve(QUOTE, bid_price=None, bid_size=Decimal(5))) == ["empty_side"]


def test_crossed_quotes_are_kept_unless_asked_to_reject() -> None:
    """A crossed quote passes validation (the collectors flag it) unless --reject-crossed."""
    crossed = attrs.evolve(QUOTE, bid_price=Decimal(12))
    assert rules(crossed) == []
    assert rules(crossed, Policy(crossed=CrossedQuotes.REJECT)) == ["crossed_market"]
    locked = attrs.evolve(QUOTE, bid_price=Decimal(11))
    assert rules(locked, Policy(crossed=CrossedQuotes.REJECT)) == []


def test_bar_rules() -> None:
    """low <= open, close <= high; volume >= 0; a known interval."""
    assert rules(BAR) == []
    assert rules(attrs.evolve(BAR, open=Decimal(13))) == ["bar_ohlc"]
    assert rules(attrs.evolve(BAR, close=Decimal(8))) == ["bar_ohlc"]
    assert rules(attrs.evolve(BAR, volume=Decimal(-1))) == ["volume_nonnegative"]
    assert rules(attrs.evolve(BAR, interval="1x")) == ["bar_interval"]
    assert rules(attrs.evolve(BAR, trade_count=-1)) == ["volume_nonnegative"]


DEPTH = {**ENVELOPE, "side": "bid"}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"op": "insert", "position": 0, "price": Decimal(1), "size": Decimal(1)}, []),
        ({"op": "update", "position": 3, "price": Decimal(1), "size": Decimal(0)}, []),
        ({"op": "delete", "position": 2}, []),
        ({"op": "set", "price": Decimal(1), "size": Decimal(0)}, []),
        ({"op": "delete", "price": Decimal(1)}, []),
        ({"op": "insert", "price": Decimal(1), "size": Decimal(1)}, ["depth_consistent"]),
        ({"op": "set", "position": 1, "price": Decimal(1), "size": Decimal(1)}, ["depth_consistent"]),
        ({"op": "set", "size": Decimal(1)}, ["depth_consistent"]),
        ({"op": "delete"}, ["depth_consistent"]),
        ({"op": "delete", "price": Decimal(1), "size": Decimal(3)}, ["depth_consistent"]),
        ({"op": "insert", "position": -1, "price": Decimal(1), "size": Decimal(1)}, ["depth_consistent"]),
        ({"op": "insert", "position": 0, "price": Decimal(1), "size": Decimal(0)}, ["size_positive"]),
        ({"op": "replace", "price": Decimal(1)}, ["depth_consistent"]),
    ],
)
def test_depth_rules_fit_one_of_the_two_models(fields: dict[str, object], expected: list[str]) -> None:
    """Position ops need a position; level ops address a price; sizes fit the op."""
    assert rules(Depth(**DEPTH, **fields)) == expected  # type: ignore[arg-type]


def test_depth_side_must_be_bid_or_ask() -> None:
    """A depth change names its book side."""
    depth = Depth(**{**DEPTH, "side": "buy"}, op="set", price=Decimal(1), size=Decimal(1))  # type: ignore[arg-type]
    assert rules(depth) == ["known_side"]


def test_snapshot_levels_must_be_best_first() -> None:
    """Bids descend and asks ascend strictly; a repeat or inversion is reported."""
    good = Snapshot(
        **ENVELOPE,  # type: ignore[arg-type]
        bids=((Decimal(10), Decimal(1)), (Decimal(9), Decimal(1))),
        asks=((Decimal(11), Decimal(1)), (Decimal(12), Decimal(1))),
    )
    assert rules(good) == []
    assert rules(attrs.evolve(good, bids=tuple(reversed(good.bids)))) == ["book_order"]
    assert rules(attrs.evolve(good, asks=(good.asks[0], good.asks[0]))) == ["book_order"]


def test_integrity_kind_is_snake_case() -> None:
    """Kinds are words scripts can match on."""
    integrity = Integrity(**ENVELOPE, kind="sequence_gap")  # type: ignore[arg-type]
    assert rules(integrity) == []
    assert rules(attrs.evolve(integrity, kind="Sequence Gap")) == ["integrity_kind"]


def test_result_is_a_failure_tuple() -> None:
    """The failure value is a non-empty tuple of violations."""
    result = validate_event(attrs.evolve(TRADE, provider=""), Policy())
    assert isinstance(result, Failure)
    assert isinstance(result.failure(), tuple)


mutations = st.sampled_from(
    [
        {"price": Decimal(0)},
        {"price": Decimal("NaN")},
        {"size": Decimal(-1)},
        {"size": None},
        {"side": "BUY"},
        {"op": "delete"},
        {"op": "set"},
        {"position": None},
        {"position": -1},
        {"bid_price": None},
        {"ask_size": Decimal("Infinity")},
        {"ts": "2026-11-24T14:30:00+01:00"},
        {"ts_recv": "2026-11-24T14:30:00"},
        {"symbol": "../x"},
        {"provider": ""},
        {"seq": -1},
        {"volume": Decimal(-5)},
        {"bids": ((Decimal(1), Decimal(1)), (Decimal(2), Decimal(1)))},
        {},
    ]
)


@given(events(), mutations, st.sampled_from(list(CrossedQuotes)))
def test_the_quick_check_never_disagrees_with_the_detailed_one(
    event: object, change: dict[str, object], crossed: CrossedQuotes
) -> None:
    """check()'s fast path is only a shortcut: its answer equals check_in_detail()'s for any event."""
    declared = attrs.fields_dict(type(event))
    fields = {
        name: value
        for name, value in change.items()
        if name in declared and (value is not None or "None" in str(declared[name].type))
    }
    mutated = attrs.evolve(event, **fields)  # type: ignore[misc]
    policy = Policy(crossed=crossed)
    assert check(mutated, policy) == check_in_detail(mutated, policy)
