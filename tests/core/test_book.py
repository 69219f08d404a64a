from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.book import Book, BookState, Emission, apply, reset, step
from mdc.core.codec import encode_event
from mdc.core.events import Depth, Integrity, MarketEvent, Quote, Snapshot
from mdc.core.simulator import SimConfig, generate, start
from mdc.core.timestamps import Timestamp, from_ns

TS = Timestamp("2026-11-24T14:30:00.000000000Z")
KEY = ("sim", "sim.depth", "SPY")
Levels = tuple[tuple[Decimal, Decimal], ...]


def depth(
    op: str,
    side: str = "bid",
    price: str | None = None,
    size: str | int | None = None,
    *,
    position: int | None = None,
    seq: int | None = None,
    ts: str = TS,
    provider: str = "sim",
) -> Depth:
    return Depth(
        symbol="SPY",
        ts=Timestamp(ts),
        ts_recv=Timestamp(ts),
        provider=provider,
        stream=f"{provider}.depth",
        seq=seq,
        side=side,
        op=op,
        position=position,
        price=None if price is None else Decimal(price),
        size=None if size is None else Decimal(size),
    )


def level(side: str, price: str, size: str | int, seq: int | None = None, ts: str = TS) -> Depth:
    return depth("set", side, price, size, seq=seq, ts=ts)


def snapshot(bids: Levels, asks: Levels, seq: int | None = None) -> Snapshot:
    return Snapshot(symbol="SPY", ts=TS, ts_recv=TS, provider="sim", stream="sim.depth", seq=seq, bids=bids, asks=asks)


def pairs(*items: tuple[str, str | int]) -> Levels:
    return tuple((Decimal(price), Decimal(size)) for price, size in items)


def run(events: Sequence[MarketEvent], emission: Emission | None = None) -> tuple[BookState, list[MarketEvent]]:
    return apply(BookState(emission or Emission()), events)


def kinds(outputs: list[MarketEvent]) -> list[str]:
    return [event.kind if isinstance(event, Integrity) else event.TYPE for event in outputs]


# --------------------------------------------------------------------------- against naive reference books

prices = st.integers(1, 30).map(lambda ticks: f"{ticks / 4:.2f}")
level_changes = st.lists(
    st.tuples(st.sampled_from(["bid", "ask"]), prices, st.integers(0, 5), st.booleans()), max_size=80
)


@given(level_changes)
def test_price_level_changes_agree_with_a_dict_book(changes: list[tuple[str, str, int, bool]]) -> None:
    """Random sets, zero sizes and deletes (of levels there or not): the book equals a dict per side, texts kept."""
    reference: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}
    events: list[MarketEvent] = []
    for seq, (side, price, size, as_delete) in enumerate(changes):
        event = depth("delete", side, price, seq=seq) if as_delete and not size else level(side, price, size, seq)
        events.append(event)
        assert event.price is not None
        assert event.size is not None or as_delete
        if event.size:
            reference[side][event.price] = event.size
        else:
            reference[side].pop(event.price, None)
    state, outputs = run(events, Emission(levels=0, every=1_000_000))
    book = state.books.get(KEY, Book())
    assert book.bids == tuple(sorted(reference["bid"].items(), reverse=True))
    assert book.asks == tuple(sorted(reference["ask"].items()))
    assert [str(price) for price, _ in book.bids] == [str(price) for price in sorted(reference["bid"], reverse=True)]
    assert {event.kind for event in outputs if isinstance(event, Integrity)} <= {"crossed_market", "locked_market"}


position_changes = st.lists(
    st.tuples(
        st.sampled_from(["bid", "ask"]), st.sampled_from(["insert", "update", "delete"]), st.integers(0, 6), prices
    ),
    max_size=60,
)


@given(position_changes)
def test_position_changes_agree_with_a_list_book(changes: list[tuple[str, str, int, str]]) -> None:
    """Random inserts, updates and deletes: the book equals lists per side until the first impossible position."""
    reference: dict[str, list[tuple[Decimal, Decimal]]] = {"bid": [], "ask": []}
    frozen_at = None
    events: list[MarketEvent] = []
    for seq, (side, op, position, price) in enumerate(changes):
        kept = op != "delete"
        event = depth(op, side, price if kept else None, seq + 1 if kept else None, position=position, seq=seq)
        events.append(event)
        if frozen_at is not None:
            continue
        rows = reference[side]
        if position > len(rows) or (op != "insert" and position == len(rows)):
            frozen_at = seq
        elif op == "insert":
            rows.insert(position, (Decimal(price), Decimal(seq + 1)))
        elif op == "update":
            rows[position] = (Decimal(price), Decimal(seq + 1))
        else:
            del rows[position]
    state, outputs = run(events, Emission(levels=3, every=1))
    book = state.books.get(KEY, Book())
    assert (list(book.bids), list(book.asks)) == (reference["bid"], reference["ask"])
    assert book.frozen == (frozen_at is not None)
    found = [(event.kind, event.seq) for event in outputs if isinstance(event, Integrity) and "book" in event.kind]
    assert found == ([] if frozen_at is None else [("book_frozen", frozen_at)])
    assert state.ignored == (0 if frozen_at is None else len(changes) - frozen_at - 1)


@pytest.mark.parametrize("model", ["level", "position"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_sims_depth_rebuilds_to_its_own_snapshot_at_every_snapshot_seq(model: str, seed: int) -> None:
    """Depth alone, both models: at each of the sim's snapshots the book is that snapshot, price texts included."""
    rng = random.Random(seed)
    config = SimConfig(symbols=("SPY", "AAPL"), mean_interval_ns=1_000_000, depth_model=model)  # type: ignore[arg-type]
    _, items = generate(start(config, 1_795_000_000_000_000_000, rng), rng, 15_000)
    state = BookState(Emission(levels=0, every=1_000_000))
    pending: list[MarketEvent] = []
    checked = 0
    for item in items:
        if isinstance(item, Depth):
            pending.append(item)
        elif isinstance(item, Snapshot):
            state, _ = apply(state, pending)
            pending = []
            book = state.books[(item.provider, item.stream, item.symbol)]
            assert (book.bids, book.asks) == (item.bids, item.asks)
            assert [str(price) for price, _ in book.asks] == [str(price) for price, _ in item.asks]
            checked += 1
    assert checked > 50


@pytest.mark.parametrize("model", ["level", "position"])
def test_every_1_writes_the_sims_snapshots_byte_for_byte(model: str) -> None:
    """With --every 1 and the sim's depth, the output snapshot at each sim snapshot's seq encodes to the same line."""
    rng = random.Random(4)
    config = SimConfig(symbols=("SPY",), mean_interval_ns=1_000_000, depth_model=model)  # type: ignore[arg-type]
    _, items = generate(start(config, 1_795_000_000_000_000_000, rng), rng, 5_000)
    _, outputs = run([item for item in items if isinstance(item, Depth)], Emission(levels=10, every=1))
    written = {encode_event(event) for event in outputs if isinstance(event, Snapshot)}
    expected = [encode_event(item) for item in items if isinstance(item, Snapshot)]
    assert expected
    assert [line for line in expected if line not in written] == []


# --------------------------------------------------------------------------- outputs and their stamps


@given(level_changes, st.sampled_from([Emission(), Emission(every=1), Emission(levels=2, every=3)]))
def test_every_output_carries_the_envelope_of_the_input_that_made_it(
    changes: list[tuple[str, str, int, bool]], emission: Emission
) -> None:
    """Step by step, each output has the ts, ts_recv, seq, provider, stream and symbol of the event just applied."""
    state = BookState(emission)
    for seq, (side, price, size, _) in enumerate(changes):
        event = depth("set", side, price, size, seq=seq, ts=from_ns(1_795_000_000_000_000_000 + seq))
        state, outputs = step(state, event)
        stamps = {(out.ts, out.ts_recv, out.seq, out.provider, out.stream, out.symbol) for out in outputs}
        assert stamps <= {(event.ts, event.ts_recv, event.seq, event.provider, event.stream, event.symbol)}


@given(level_changes, st.integers(1, 10))
def test_a_batch_gives_what_steps_give(changes: list[tuple[str, str, int, bool]], cut: int) -> None:
    """apply over batches cut anywhere equals step on each event: outputs and final books."""
    events: list[MarketEvent] = [level(side, price, size, seq) for seq, (side, price, size, _) in enumerate(changes)]
    stepped, one_by_one = BookState(), []
    for event in events:
        stepped, outputs = step(stepped, event)
        one_by_one += outputs
    batched, first = apply(BookState(), events[:cut])
    batched, rest = apply(batched, events[cut:])
    assert first + rest == one_by_one
    assert batched == stepped


def test_a_step_leaves_the_state_it_was_given_unchanged() -> None:
    """The old state still holds the old book after a step on its thawed copy."""
    state, _ = run([level("bid", "10", 1)])
    later, _ = step(state, level("bid", "10", 5))
    assert state.books[KEY].bids == pairs(("10", 1))
    assert later.books[KEY].bids == pairs(("10", 5))


def test_a_quote_goes_out_when_the_top_changes_and_only_then() -> None:
    """Top size change: a quote; a change below the top: none; the quote holds both sides."""
    _, outputs = run(
        [level("bid", "10", 1), level("ask", "11", 2), level("bid", "9", 4), level("bid", "10", 3)],
        Emission(every=1_000),
    )
    quotes = [event for event in outputs if isinstance(event, Quote)]
    assert [(q.bid_price, q.bid_size, q.ask_price, q.ask_size) for q in quotes] == [
        (Decimal(10), Decimal(1), None, Decimal(0)),
        (Decimal(10), Decimal(1), Decimal(11), Decimal(2)),
        (Decimal(10), Decimal(3), Decimal(11), Decimal(2)),
    ]


def test_on_change_snapshots_only_changes_within_the_levels() -> None:
    """levels=2: a third-level change, a same-size set and an unknown delete emit nothing; a second-level one does."""
    book = [level("bid", "10", 1), level("bid", "9", 1), level("bid", "8", 1)]
    state, _ = run(book, Emission(levels=2))
    _, outputs = apply(
        state,
        [
            level("bid", "8", 5, seq=1),
            level("bid", "9", 1, seq=2),
            depth("delete", "bid", "7.5", seq=3),
            level("bid", "9", 2, seq=4),
        ],
    )
    assert [(event.TYPE, event.seq) for event in outputs] == [("snapshot", 4)]
    (written,) = outputs
    assert isinstance(written, Snapshot)
    assert written.bids == pairs(("10", 1), ("9", 2))


def test_every_n_counts_applied_events_per_book() -> None:
    """every=3: snapshots after the 3rd and 6th events of a book; another provider counts on its own."""
    events: list[MarketEvent] = [level("bid", str(10 + n), 1, seq=n) for n in range(7)]
    events.insert(2, depth("set", "bid", "5", 1, seq=99, provider="other"))
    _, outputs = run(events, Emission(every=3))
    assert [(event.provider, event.seq) for event in outputs if isinstance(event, Snapshot)] == [("sim", 2), ("sim", 5)]


def test_every_ns_snapshots_the_first_event_of_each_later_interval() -> None:
    """every_ns = 1 s: the first events at :00.5 and :00.9 start the clock; :01.2 and :03.0 are each due once."""
    seconds = ["00.500", "00.900", "01.200", "01.700", "03.000"]
    events: list[MarketEvent] = [
        level("bid", str(10 + n), 1, seq=n, ts=f"2026-11-24T14:30:{second}000000Z") for n, second in enumerate(seconds)
    ]
    _, outputs = run(events, Emission(every_ns=1_000_000_000))
    assert [event.seq for event in outputs if isinstance(event, Snapshot)] == [2, 4]


def test_levels_0_writes_the_whole_book() -> None:
    """levels=0: every level is in the snapshot."""
    _, outputs = run([level("ask", str(price), 1) for price in range(1, 30)], Emission(levels=0, every=29))
    (written,) = [event for event in outputs if isinstance(event, Snapshot)]
    assert len(written.asks) == 29


# --------------------------------------------------------------------------- freezing, resets, snapshots


def test_an_impossible_position_freezes_the_book_until_a_snapshot() -> None:
    """depth_invalid (expected/received) then book_frozen once; later depth ignored; a snapshot resets it."""
    state, outputs = run(
        [
            depth("insert", "bid", "10", 1, position=0, seq=1),
            depth("update", "bid", "9", 1, position=1, seq=2),
            depth("insert", "bid", "9", 1, position=1, seq=3),
            depth("delete", "ask", position=4, seq=4),
        ],
        Emission(every=1_000),
    )
    invalid, frozen = outputs[-2:]
    assert isinstance(invalid, Integrity)
    assert (invalid.kind, invalid.expected, invalid.received, invalid.seq) == ("depth_invalid", "position < 1", 1, 2)
    assert invalid.description == "update at bid position 1, but the side has 1 levels"
    assert isinstance(frozen, Integrity)
    assert frozen.kind == "book_frozen"
    assert state.books[KEY].frozen
    assert state.books[KEY].bids == pairs(("10", 1))
    assert state.ignored == 2
    state, outputs = apply(
        state, [snapshot(pairs(("10", 2)), pairs(("11", 3)), seq=5), depth("delete", "bid", position=0)]
    )
    assert kinds(outputs) == ["book_reset", "quote", "quote"]
    assert not state.books[KEY].frozen
    assert state.books[KEY].asks == pairs(("11", 3))
    assert state.books[KEY].bids == ()


def test_an_insert_may_append_but_not_go_past_the_end() -> None:
    """Insert at len is fine; insert at len + 1 is invalid with expected 'position <= len'."""
    _, outputs = run([depth("insert", "ask", "10", 1, position=0), depth("insert", "ask", "11", 1, position=2)])
    invalid = next(event for event in outputs if isinstance(event, Integrity))
    assert (invalid.kind, invalid.expected, invalid.received) == ("depth_invalid", "position <= 1", 2)


def test_a_snapshot_resets_only_a_book_it_differs_from() -> None:
    """A first snapshot and an equal one say nothing; a different one emits book_reset and replaces the book."""
    first = snapshot(pairs(("10", 1)), pairs(("11", 1)), seq=1)
    state, outputs = run([first, level("bid", "10", 1), first])
    assert "book_reset" not in kinds(outputs)
    state, outputs = apply(state, [snapshot(pairs(("10", 2)), pairs(("11", 1)), seq=2)])
    assert kinds(outputs) == ["book_reset", "quote", "snapshot"]
    assert state.books[KEY].bids == pairs(("10", 2))


def test_reset_clears_a_book_as_after_a_resubscription() -> None:
    """reset(): book_reset for a frozen or non-empty book, nothing for an empty one; the book starts afresh."""
    state, _ = run([depth("delete", "bid", position=3)])
    assert state.books[KEY].frozen
    state, outputs = reset(state, KEY, TS, TS)
    assert kinds(outputs) == ["book_reset"]
    assert state.books[KEY] == Book(model="position")
    assert reset(state, KEY, TS, TS)[1] == []
    state, outputs = apply(state, [depth("insert", "bid", "10", 1, position=0)])
    assert state.books[KEY].bids == pairs(("10", 1))


def test_a_crossed_book_is_flagged_once_per_episode() -> None:
    """Crossed twice in a row: one crossed_market; back to normal, then locked, then crossed again: each once."""
    bids = ["12", "12.5", "9", "11", "13"]
    opening = [depth("insert", "ask", "11", 1, position=0), depth("insert", "bid", "10", 1, position=0)]
    _, outputs = run(opening + [depth("update", "bid", bid, 1, position=0) for bid in bids])
    found = [(event.kind, event.received) for event in outputs if isinstance(event, Integrity)]
    assert found == [
        ("crossed_market", "bid 12 > ask 11"),
        ("locked_market", "bid 11 = ask 11"),
        ("crossed_market", "bid 13 > ask 11"),
    ]


def test_books_are_kept_per_provider_stream_and_symbol() -> None:
    """The same symbol from two providers: two books."""
    state, _ = run([level("bid", "10", 1), depth("set", "bid", "20", 1, provider="other")])
    assert state.books[KEY].bids == pairs(("10", 1))
    assert state.books[("other", "other.depth", "SPY")].bids == pairs(("20", 1))


def test_positions_address_the_levels_of_a_snapshot() -> None:
    """A snapshot, then position-model changes: positions count from its best level."""
    state, _ = run(
        [
            snapshot(pairs(("10", 1), ("9", 2)), pairs(("11", 1))),
            depth("update", "bid", "9", 5, position=1),
            depth("insert", "bid", "9.5", 1, position=1),
        ]
    )
    assert state.books[KEY].bids == pairs(("10", 1), ("9.5", 1), ("9", 5))
    assert state.books[KEY].model == "position"


def test_a_position_book_keeps_two_rows_at_one_price_and_merges_them_for_price_levels() -> None:
    """Market-maker rows at the same price stay rows; a later price-level change sums them into one level."""
    state, _ = run([depth("insert", "bid", "10", 1, position=0), depth("insert", "bid", "10", 2, position=1)])
    assert state.books[KEY].bids == pairs(("10", 1), ("10", 2))
    state, _ = apply(state, [level("bid", "9", 4)])
    assert state.books[KEY].bids == pairs(("10", 3), ("9", 4))
    assert state.books[KEY].model == "level"


def test_prices_keep_the_text_they_came_with() -> None:
    """A price written 189.530 is written back as 189.530."""
    _, outputs = run([level("ask", "189.530", 400)], Emission(every=1))
    written = next(event for event in outputs if isinstance(event, Snapshot))
    assert b'"asks":[[189.530,400]]' in encode_event(written)
