"""The market simulator: determinism, valid events, a consistent book, the event mix, faults."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from mdc.core import simulator
from mdc.core._sim_book import starting_ticks
from mdc.core._sim_faults import BAD_SYMBOL
from mdc.core.codec import encode_event
from mdc.core.events import Depth, MarketEvent, Quote, Snapshot, Trade
from mdc.core.pipeline import ValidatorState, validate_frames
from mdc.core.simulator import FAULTS, SimConfig, generate, parse_faults, start
from mdc.core.timestamps import from_ns, to_ns
from mdc.core.validate import Policy, validate_event

START_NS = 1_795_000_000_000_000_000  # 2026-11-18
SYMBOLS = ("AAPL", "MSFT", "SPY")
Item = MarketEvent | bytes


def config(**changes: object) -> SimConfig:
    fields: dict[str, object] = {"symbols": SYMBOLS, "mean_interval_ns": 50_000, **changes}
    return SimConfig(**fields)  # type: ignore[arg-type]


def run(sim_config: SimConfig, seed: int, count: int, chunks: Sequence[int] = ()) -> list[Item]:
    rng = random.Random(seed)
    state = start(sim_config, START_NS, rng)
    items: list[Item] = []
    for size in (*chunks, count - sum(chunks)):
        state, more = generate(state, rng, size)
        assert len(more) == size
        items.extend(more)
    return items


@cache
def clean(depth_model: str = "level", seed: int = 1, count: int = 20_000) -> tuple[Item, ...]:
    """A fault-free run, shared by the tests that only read it."""
    return tuple(run(config(depth_model=depth_model), seed, count))


def events(items: Iterable[Item]) -> list[MarketEvent]:
    return [item for item in items if not isinstance(item, bytes)]


def lines(items: Iterable[Item]) -> list[bytes]:
    return [item if isinstance(item, bytes) else encode_event(item) for item in items]


# --------------------------------------------------------------------------- a reference book


class ReferenceBook:
    """An L2 book rebuilt from depth events alone, checking each event is applicable."""

    def __init__(self) -> None:
        self.positions: dict[str, list[tuple[Decimal, Decimal]]] = {"bid": [], "ask": []}
        self.levels: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}

    def apply(self, depth: Depth) -> None:
        side, price, size, position = depth.side, depth.price, depth.size, depth.position
        if position is not None:
            levels = self.positions[side]
            if depth.op == "insert":
                assert 0 <= position <= len(levels)
                assert price is not None
                assert size is not None
                levels.insert(position, (price, size))
            elif depth.op == "update":
                assert 0 <= position < len(levels)
                assert price == levels[position][0]
                assert size is not None
                levels[position] = (levels[position][0], size)
            else:
                assert depth.op == "delete"
                assert 0 <= position < len(levels)
                del levels[position]
        else:
            assert price is not None
            book = self.levels[side]
            if depth.op == "delete" or size == 0:
                assert depth.op in ("delete", "set")
                assert price in book, "removes a level that is not there"
                del book[price]
            else:
                assert depth.op == "set"
                assert size is not None
                book[price] = size
        self.check()

    def side(self, side: str) -> list[tuple[Decimal, Decimal]]:
        if self.positions[side]:
            return list(self.positions[side])
        return sorted(self.levels[side].items(), reverse=side == "bid")

    def top(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        (bid, bid_size), (ask, ask_size) = self.side("bid")[0], self.side("ask")[0]
        return bid, bid_size, ask, ask_size

    def check(self) -> None:
        bids, asks = self.side("bid"), self.side("ask")
        assert all(size > 0 for _, size in bids + asks)
        assert all(first[0] > second[0] for first, second in itertools.pairwise(bids))
        assert all(first[0] < second[0] for first, second in itertools.pairwise(asks))
        if bids and asks:
            assert bids[0][0] < asks[0][0], "the book crossed or locked"


def check_book(items: Iterable[Item], depth_levels: int) -> Counter[str]:
    """Rebuild each symbol's book and hold snapshots, quotes and trades to it; returns what was checked."""
    books: dict[str, ReferenceBook] = {}
    quoted: dict[str, tuple[Decimal, Decimal, Decimal, Decimal]] = {}
    checked: Counter[str] = Counter()
    for event in events(items):
        if event.symbol == BAD_SYMBOL or event.seq is None:
            continue  # a fault's line, not part of the feed
        book = books.setdefault(event.symbol, ReferenceBook())
        match event:
            case Depth():
                book.apply(event)
            case Snapshot():
                assert (list(event.bids), list(event.asks)) == (book.side("bid"), book.side("ask"))
                assert len(event.bids) == len(event.asks) == depth_levels
                checked["snapshot"] += 1
            case Quote() if event.bid_price is not None and event.ask_price is not None:
                if event.bid_price >= event.ask_price:
                    quoted.pop(event.symbol)  # the crossed and locked faults: the true quote follows
                    continue
                top = (event.bid_price, event.bid_size, event.ask_price, event.ask_size)
                assert top == book.top()
                assert top != quoted.get(event.symbol), "a quote without a change of the top"
                assert len(book.side("bid")) == len(book.side("ask")) == depth_levels
                quoted[event.symbol] = top
                checked["quote"] += 1
            case Trade() if event.price > 0:
                if event.trade_id is not None and int(event.trade_id) <= checked[f"trades {event.symbol}"]:
                    continue  # the duplicate and out-of-order faults
                checked[f"trades {event.symbol}"] = int(event.trade_id or 0)
                assert book.top() == quoted[event.symbol], "the quote stream lags the depth stream"
                level = book.side("ask" if event.side == "buy" else "bid")[0]
                assert event.price == level[0]
                assert 0 < event.size <= level[1]
                checked["trade"] += 1
    return checked


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes() -> None:
    """The same config, start and seed give byte-identical output."""
    assert lines(run(config(), 7, 3_000)) == lines(run(config(), 7, 3_000))


def test_nothing_asked_nothing_given() -> None:
    """A count of zero or less returns no items and leaves the state as it was."""
    state = start(config(), START_NS, random.Random(1))
    assert generate(state, random.Random(1), 0) == (state, [])
    assert generate(state, random.Random(1), -5) == (state, [])


def test_different_seed_different_output() -> None:
    """Another seed gives another feed."""
    assert lines(run(config(), 7, 3_000)) != lines(run(config(), 8, 3_000))


@settings(max_examples=15, deadline=None)
@given(chunks=st.lists(st.integers(0, 400), max_size=6), seed=st.integers(0, 2**32))
def test_chunking_does_not_change_output(chunks: list[int], seed: int) -> None:
    """Asking for the items in pieces gives the same items as asking at once, faults included."""
    sim_config = config(faults=frozenset(FAULTS), fault_rate=0.01)
    count = sum(chunks) + 50
    assert lines(run(sim_config, seed, count, chunks)) == lines(run(sim_config, seed, count))


# --------------------------------------------------------------------------- a sound feed


@pytest.mark.parametrize("depth_model", ["level", "position"])
def test_every_event_is_valid(depth_model: str) -> None:
    """Without faults every item is an event that passes validation unchanged."""
    items = clean(depth_model)
    assert all(not isinstance(item, bytes) for item in items)
    for event in events(items):
        assert validate_event(event, Policy()) == Success(event)


def test_sequences_contiguous() -> None:
    """seq counts 1, 2, 3 ... per (stream, symbol); a snapshot repeats the last depth seq."""
    last: dict[tuple[str, str], int] = {}
    for event in events(clean()):
        key = (event.stream, event.symbol)
        assert event.seq is not None
        expected = last.get(key, 0) + (0 if type(event) is Snapshot else 1)
        assert event.seq == expected, event
        last[key] = event.seq
    assert {stream for stream, _ in last} == {"sim.trades", "sim.quotes", "sim.depth"}


def test_time_runs_forward() -> None:
    """ts never decreases, starts at start_ns, and ts_recv follows it by 20 us to 2 ms."""
    times = [(to_ns(event.ts), to_ns(event.ts_recv)) for event in events(clean())]
    assert times[0][0] == START_NS
    assert all(earlier[0] <= later[0] for earlier, later in itertools.pairwise(times))
    assert all(20_000 <= received - sent <= 2_000_000 for sent, received in times)


def test_mean_interval() -> None:
    """The clock advances by mean_interval_ns per event on average."""
    items = events(clean())
    mean = (to_ns(items[-1].ts) - to_ns(items[0].ts)) / len(items)
    assert 45_000 < mean < 55_000


def test_quotes_never_crossed_and_spread_mostly_one_tick() -> None:
    """Quotes have both sides, bid < ask, a spread of 1 to 3 ticks, and most often 1."""
    spreads: Counter[Decimal] = Counter()
    for event in events(clean()):
        if isinstance(event, Quote):
            assert event.bid_price is not None
            assert event.ask_price is not None
            assert event.bid_price < event.ask_price
            spreads[event.ask_price - event.bid_price] += 1
    assert set(spreads) <= {Decimal("0.01"), Decimal("0.02"), Decimal("0.03")}
    assert spreads[Decimal("0.01")] > 0.6 * spreads.total()


@pytest.mark.parametrize("depth_model", ["level", "position"])
def test_book_consistency(depth_model: str) -> None:
    """Depth events rebuild a sound book that every snapshot, quote and trade agrees with."""
    checked = check_book(clean(depth_model), 10)
    assert checked["snapshot"] > 50
    assert checked["quote"] > 1000
    assert checked["trade"] > 1000


@settings(max_examples=25, deadline=None)
@given(
    depth_levels=st.integers(1, 12),
    depth_model=st.sampled_from(["level", "position"]),
    snapshot_every=st.integers(0, 50),
    faults=st.frozensets(st.sampled_from(sorted(FAULTS))),
    seed=st.integers(0, 2**32),
)
def test_book_consistency_any_config(
    depth_levels: int, depth_model: str, snapshot_every: int, faults: frozenset[str], seed: int
) -> None:
    """The book stays sound for any depth and model, and no fault ever corrupts it."""
    sim_config = config(
        depth_levels=depth_levels,
        depth_model=depth_model,
        snapshot_every=snapshot_every,
        faults=faults,
        fault_rate=0.05,
    )
    check_book(run(sim_config, seed, 1_500), depth_levels)


def test_event_mix() -> None:
    """Over 20k events: depth 55-65%, quotes 20-30%, trades 10-15%."""
    kinds = Counter(type(event).__name__ for event in events(clean()))
    share = {kind: count / 20_000 for kind, count in kinds.items()}
    assert 0.55 <= share["Depth"] <= 0.65
    assert 0.20 <= share["Quote"] <= 0.30
    assert 0.10 <= share["Trade"] <= 0.15


def test_prices_on_the_tick_grid() -> None:
    """Prices use 0.01 ticks at or above $1 and 0.0001 below, sizes are whole shares, trades have venues and ids."""
    penny = SimConfig(symbols=("AAPL", "SNDL"), mean_interval_ns=1)
    prices = {
        event.symbol: event.price
        for event in events(run(penny, 3, 500))
        if isinstance(event, Depth) and event.price is not None
    }
    assert starting_ticks("SNDL")[1] == -4, "pick another sub-dollar symbol for this test"
    assert prices["AAPL"].as_tuple().exponent == -2
    assert prices["SNDL"].as_tuple().exponent == -4
    assert prices["SNDL"] < 1
    trades = [event for event in events(clean()) if isinstance(event, Trade)]
    assert all(trade.size == trade.size.to_integral_value() for trade in trades)
    assert {trade.side for trade in trades} == {"buy", "sell"}
    assert all(trade.exchange and trade.trade_id for trade in trades)
    assert sum(1 for trade in trades if not trade.conditions) > 0.8 * len(trades)


# --------------------------------------------------------------------------- faults


def validated(faults: frozenset[str], count: int = 6_000) -> tuple[Counter[str], Counter[str]]:
    """Run the simulator through the validation pipeline: (integrity kinds, reject rules)."""
    items = run(config(faults=faults, fault_rate=0.01), 11, count)
    state, batch = validate_frames(ValidatorState(), lines(items), Policy())
    kinds = Counter(state.counts.integrity)
    rules = Counter(reason.rule for reject in batch.rejects for reason in reject.reasons)
    return kinds, rules


def test_no_faults_no_findings() -> None:
    """A fault-free feed passes mdc-validate without a single finding."""
    assert validated(frozenset()) == (Counter(), Counter())


@pytest.mark.parametrize(
    ("fault", "expected_kinds", "expected_rules"),
    [
        ("gap", {"sequence_gap"}, set()),
        ("out_of_order", {"out_of_order"}, {"out_of_order"}),
        ("duplicate", {"duplicate"}, {"duplicate"}),
        ("crossed", {"crossed_market"}, set()),
        ("locked", {"locked_market"}, set()),
        ("garbage", set(), {"not_json", "invalid_utf8"}),
        ("truncated", set(), {"not_json"}),
        ("bad_price", set(), {"price_positive"}),
        ("bad_symbol", set(), {"symbol_grammar"}),
        ("bad_ts", set(), {"ts_format"}),
    ],
)
def test_fault_does_what_it_promises(fault: str, expected_kinds: set[str], expected_rules: set[str]) -> None:
    """Each fault causes its own finding in the validation pipeline, and nothing else."""
    kinds, rules = validated(frozenset({fault}))
    assert set(kinds) == expected_kinds
    assert set(rules) == expected_rules
    assert 20 < kinds.total() + rules.total() < 200, "about 1% of 6000 events"


def test_faults_are_documented() -> None:
    """Every fault has a one-line description."""
    assert all(description and "\n" not in description for description in FAULTS.values())


def test_parse_faults() -> None:
    """The --faults option: names separated by commas, blanks ignored, all for every fault."""
    assert parse_faults("") == Success(frozenset())
    assert parse_faults(" gap ,crossed,") == Success(frozenset({"gap", "crossed"}))
    assert parse_faults("all") == Success(frozenset(FAULTS))
    assert parse_faults("gap,all") == Success(frozenset(FAULTS))


def test_parse_faults_refuses_unknown_names() -> None:
    """An unknown name fails with a message that lists the known ones."""
    result = parse_faults("gap,nope,worse")
    assert isinstance(result, Failure)
    assert result.failure().startswith("unknown faults nope, worse (known: all, gap, ")
    assert isinstance(parse_faults("all,typo"), Failure)


# --------------------------------------------------------------------------- config and helpers


@pytest.mark.parametrize(
    "changes",
    [
        {"symbols": ()},
        {"symbols": ("AAPL", "AAPL")},
        {"symbols": ("../../etc",)},
        {"mean_interval_ns": 0},
        {"depth_levels": 0},
        {"depth_levels": 101},
        {"depth_model": "mbo"},
        {"faults": frozenset({"nope"})},
        {"fault_rate": 1.5},
        {"snapshot_every": -1},
    ],
)
def test_config_refuses_bad_values(changes: dict[str, object]) -> None:
    """A config out of range is a bug in the caller and raises."""
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        config(**changes)


@given(st.integers(-(10**18), 4 * 10**18))
def test_clock_text_matches_from_ns(nanos: int) -> None:
    """The simulator's cached timestamp text is exactly from_ns."""
    clock = simulator._Clock(0, 1)  # private, but a reimplementation worth holding to the public function
    assert clock.text(nanos) == from_ns(nanos)
    assert clock.text(nanos + 1) == from_ns(nanos + 1)
