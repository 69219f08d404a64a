from __future__ import annotations

from decimal import Decimal

import attrs
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.collectors import Collectors, observe
from mdc.core.events import Depth, MarketEvent, Quote, Snapshot, Trade

TS = "2026-11-24T14:30:00.000000000Z"
ENVELOPE = {"symbol": "SPY", "ts": TS, "ts_recv": TS, "provider": "sim"}


def trade(seq: int | None, price: str = "10", side: str = "buy", stream: str = "t", **extra: object) -> Trade:
    return Trade(**{**ENVELOPE, **extra}, stream=stream, seq=seq, price=Decimal(price), size=Decimal(1), side=side)  # type: ignore[arg-type]


def quote(bid: str | None, ask: str | None, seq: int | None = None) -> Quote:
    return Quote(
        **ENVELOPE,  # type: ignore[arg-type]
        stream="q",
        seq=seq,
        bid_price=None if bid is None else Decimal(bid),
        bid_size=Decimal(0 if bid is None else 1),
        ask_price=None if ask is None else Decimal(ask),
        ask_size=Decimal(0 if ask is None else 1),
    )


def run(events: list[MarketEvent]) -> list[tuple[MarketEvent | None, list[str], str | None]]:
    state = Collectors()
    results = []
    for event in events:
        state, outcome = observe(state, event)
        rejection = outcome.rejection.rule if outcome.rejection else None
        results.append((outcome.event, [found.kind for found in outcome.integrity], rejection))
    return results


def test_contiguous_sequence_passes_silently() -> None:
    """1, 2, 3 on one stream: no integrity events."""
    assert [kinds for _, kinds, _ in run([trade(1), trade(2), trade(3)])] == [[], [], []]


def test_a_skip_emits_a_gap_and_keeps_the_event() -> None:
    """1 then 4: sequence_gap expecting 2, received 4; the event passes."""
    state, _ = observe(Collectors(), trade(1))
    state, outcome = observe(state, trade(4))
    (gap,) = outcome.integrity
    assert (gap.kind, gap.expected, gap.received) == ("sequence_gap", 2, 4)
    assert outcome.event == trade(4)


def test_a_regression_emits_out_of_order_and_rejects_the_event() -> None:
    """5 then 3: out_of_order and the trade is rejected; the state keeps 5."""
    results = run([trade(5), trade(3), trade(6)])
    assert results[1] == (None, ["out_of_order"], "out_of_order")
    assert results[2][1] == []


def test_a_repeated_trade_sequence_is_a_duplicate() -> None:
    """The same trade seq twice: integrity duplicate and the repeat is rejected."""
    assert run([trade(1), trade(1)])[1] == (None, ["duplicate"], "duplicate")


def test_depth_and_snapshot_may_share_a_sequence_number() -> None:
    """Several level changes from one message, and the snapshot taken at it, share its seq."""
    depth = Depth(**ENVELOPE, stream="d", seq=7, side="bid", op="set", price=Decimal(1), size=Decimal(1))  # type: ignore[arg-type]
    snapshot = Snapshot(**ENVELOPE, stream="d", seq=7, bids=(), asks=())  # type: ignore[arg-type]
    assert [kinds for _, kinds, _ in run([depth, depth, snapshot])] == [[], [], []]


def test_streams_and_symbols_are_tracked_separately() -> None:
    """Each (provider, stream, symbol) has its own sequence."""
    events: list[MarketEvent] = [trade(1), trade(1, stream="other"), trade(1, symbol="AAPL"), trade(2)]
    assert [kinds for _, kinds, _ in run(events)] == [[], [], [], []]


def test_crossed_and_locked_markets_are_flagged_once_per_episode() -> None:
    """Entering a crossed or locked state emits one integrity event; staying there emits none."""
    results = run([quote("10", "11"), quote("12", "11"), quote("12.5", "11"), quote("11", "11"), quote("10", "11")])
    assert [kinds for _, kinds, _ in results] == [[], ["crossed_market"], [], ["locked_market"], []]
    assert all(event is not None for event, _, _ in results)


def test_unknown_side_is_inferred_from_the_quote() -> None:
    """At or through the ask is a buy, at or through the bid a sell."""
    results = run([quote("10", "11"), trade(1, "11", "unknown"), trade(2, "11.5", "unknown"), trade(3, "9", "unknown")])
    assert [event.side for event, _, _ in results[1:]] == ["buy", "buy", "sell"]  # type: ignore[union-attr]


def test_inside_the_spread_the_tick_rule_decides() -> None:
    """Uptick buys, downtick sells, a zero tick repeats the last direction."""
    events: list[MarketEvent] = [
        quote("10", "12"),
        trade(1, "11", "buy"),
        trade(2, "11.5", "unknown"),
        trade(3, "11.5", "unknown"),
        trade(4, "11.2", "unknown"),
        trade(5, "11.2", "unknown"),
    ]
    assert [event.side for event, _, _ in run(events)[2:]] == ["buy", "buy", "sell", "sell"]  # type: ignore[union-attr]


def test_without_quote_or_history_the_side_stays_unknown() -> None:
    """The first trade with no quote cannot be classified."""
    assert run([trade(1, "10", "unknown")])[0][0] == trade(1, "10", "unknown")


def test_a_crossed_quote_is_not_used_for_inference() -> None:
    """While the market is crossed, the tick rule decides instead of the quote."""
    results = run([trade(1, "10", "sell"), quote("12", "11"), trade(2, "11", "unknown")])
    assert results[2][0].side == "buy"  # type: ignore[union-attr]


def test_known_sides_are_never_changed() -> None:
    """A reported aggressor is kept even when the quote disagrees."""
    assert run([quote("10", "11"), trade(1, "11", "sell")])[1][0].side == "sell"  # type: ignore[union-attr]


@given(st.lists(st.integers(0, 20), max_size=30))
def test_observe_leaves_the_old_state_alone(seqs: list[int]) -> None:
    """The step is pure: replaying from a kept state gives the same outcome."""
    state = Collectors()
    for seq in seqs:
        kept = state
        state, outcome = observe(state, trade(seq))
        assert observe(kept, trade(seq)) == (state, outcome)


@given(st.lists(st.integers(0, 20), max_size=30))
def test_accepted_sequence_numbers_never_go_back(seqs: list[int]) -> None:
    """Whatever arrives, the trades passed on have strictly increasing seq."""
    passed = [event.seq for event, _, _ in run([trade(seq) for seq in seqs]) if event is not None]
    assert passed == sorted(set(passed))


def test_side_inference_keeps_everything_else() -> None:
    """Only the side changes."""
    before = trade(2, "11", "unknown")
    after = run([quote("10", "11"), before])[1][0]
    assert after == attrs.evolve(before, side="buy")
