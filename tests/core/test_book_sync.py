from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from mdc.core.book import Book, BookState, Emission, apply
from mdc.core.book_sync import (
    Delta,
    FetchFailed,
    FetchSnapshot,
    Phase,
    SyncInput,
    SyncOutput,
    SyncState,
    applied,
    delta_of,
    run,
    start,
    step,
)
from mdc.core.events import Depth, Integrity, Snapshot
from mdc.core.timestamps import Timestamp

TS = Timestamp("2026-11-24T14:30:00.000000000Z")
KEY = ("x", "x.depth", "BTCUSDT")
Levels = tuple[tuple[Decimal, Decimal], ...]


def change(seq: int, price: int = 1, size: int = 1, side: str = "bid") -> Depth:
    return Depth(
        symbol="BTCUSDT",
        ts=TS,
        ts_recv=TS,
        provider="x",
        stream="x.depth",
        seq=seq,
        side=side,
        op="set",
        price=Decimal(price),
        size=Decimal(size),
    )


def delta(first: int, last: int | None = None) -> Delta:
    return delta_of([change(last if last is not None else first)], first)


def snapshot(seq: int | None, bids: Levels = (), asks: Levels = ()) -> Snapshot:
    return Snapshot(symbol="BTCUSDT", ts=TS, ts_recv=TS, provider="x", stream="x.depth", seq=seq, bids=bids, asks=asks)


def summary(outputs: list[SyncOutput]) -> list[tuple[str, object]]:
    """(kind, detail): snapshot S, depth seq, gap expected id, fetch reason."""
    found: list[tuple[str, object]] = []
    for output in outputs:
        match output:
            case Snapshot():
                found.append(("snapshot", output.seq))
            case Depth():
                found.append(("depth", output.seq))
            case Integrity():
                found.append((output.kind, output.expected))
            case FetchSnapshot():
                found.append(("fetch", output.reason))
    return found


def test_start_buffers_and_asks_for_a_snapshot() -> None:
    """The first thing to do is fetch a snapshot."""
    state, outputs = start(KEY)
    assert (state.phase, state.pending) == (Phase.BUFFERING, 1)
    assert outputs == [FetchSnapshot(KEY, "start")]


def test_deltas_in_the_snapshot_are_dropped_and_the_rest_applied() -> None:
    """Buffered 4, 5, 6, 7; snapshot 5: apply the snapshot, then 6 and 7; live at 7."""
    state, _ = start(KEY)
    state, _ = run(state, [delta(4), delta(5), delta(6), delta(7), snapshot(5)])
    assert (state.phase, state.last, state.buffer) == (Phase.LIVE, 7, ())
    _, outputs = run(start(KEY)[0], [delta(4), delta(5), delta(6), delta(7), snapshot(5)])
    assert summary(outputs) == [("snapshot", 5), ("depth", 6), ("depth", 7)]


def test_the_first_ranged_delta_may_span_the_snapshot() -> None:
    """Ranged ids (Binance U..u): snapshot 105, buffered 100..103 dropped, 104..108 spans 106 and is applied."""
    _, outputs = run(start(KEY)[0], [delta(100, 103), delta(104, 108), delta(109, 110), snapshot(105)])
    assert summary(outputs) == [("snapshot", 105), ("depth", 108), ("depth", 110)]


def test_a_snapshot_older_than_the_buffer_asks_for_another() -> None:
    """Buffered from 10; snapshot 7 leaves 8 and 9 missing: nothing applied, a new fetch, still buffering."""
    state, outputs = run(start(KEY)[0], [delta(10), delta(11), snapshot(7)])
    assert summary(outputs) == [("fetch", "snapshot older than the buffered deltas")]
    assert (state.phase, len(state.buffer)) == (Phase.BUFFERING, 2)
    state, outputs = step(state, snapshot(10))
    assert summary(outputs) == [("snapshot", 10), ("depth", 11)]


def test_a_snapshot_newer_than_every_delta_goes_live_at_its_own_seq() -> None:
    """Buffered 3, 4; snapshot 9: both dropped, live at 9; 10 is applied, 9 is a repeat."""
    state, _ = run(start(KEY)[0], [delta(3), delta(4), snapshot(9)])
    assert (state.phase, state.last) == (Phase.LIVE, 9)
    _, outputs = run(state, [delta(9), delta(10)])
    assert summary(outputs) == [("depth", 10)]


def test_a_gap_while_live_reports_it_and_resynchronises() -> None:
    """Live at 5; 6 then 8: sequence_gap expecting 7, buffering with 8, a fetch; snapshot 8 goes live at 8."""
    state, _ = run(start(KEY)[0], [snapshot(5), delta(6)])
    state, outputs = step(state, delta(8))
    assert summary(outputs) == [("sequence_gap", 7), ("fetch", "sequence gap")]
    gap = outputs[0]
    assert isinstance(gap, Integrity)
    assert (gap.received, gap.description) == (8, "1 message missing on x.depth (7); resynchronising")
    assert (state.phase, [item.last for item in state.buffer]) == (Phase.BUFFERING, [8])
    state, outputs = run(state, [delta(9), snapshot(8)])
    assert summary(outputs) == [("snapshot", 8), ("depth", 9)]


def test_a_hole_in_the_buffer_is_a_gap() -> None:
    """Buffered 6, 7, 9 and snapshot 5: 8 was lost: reported, 6 and 7 dropped, a new fetch for after 8."""
    state, outputs = run(start(KEY)[0], [delta(6), delta(7), delta(9), snapshot(5)])
    assert summary(outputs) == [("sequence_gap", 8), ("fetch", "sequence gap")]
    assert [item.last for item in state.buffer] == [9]


def test_repeats_are_never_applied_twice() -> None:
    """Live at 5: 4, 5 again and 6 twice: only one 6 applied; buffered repeats are dropped too."""
    state, _ = run(start(KEY)[0], [delta(5), delta(5), snapshot(4)])
    _, outputs = run(state, [delta(4), delta(5), delta(6), delta(6)])
    assert summary(outputs) == [("depth", 6)]


def test_an_overflowing_buffer_drops_the_oldest_and_asks_once_more() -> None:
    """limit 2: a third delta drops the oldest and asks for a fresher snapshot, once per wait."""
    state, _ = start(KEY, limit=2)
    state, outputs = run(state, [delta(1), delta(2), delta(3), delta(4)])
    assert summary(outputs) == [("fetch", "buffer overflow")]
    assert ([item.last for item in state.buffer], state.pending) == ([3, 4], 2)


def test_a_failed_fetch_is_asked_again_when_none_is_left() -> None:
    """FetchFailed with no other fetch pending: ask again."""
    state, outputs = step(start(KEY)[0], FetchFailed())
    assert (summary(outputs), state.pending) == ([("fetch", "the last fetch failed")], 1)


def test_a_snapshot_while_live_is_ignored() -> None:
    """The book is in step already: a late snapshot changes nothing."""
    state, _ = run(start(KEY)[0], [snapshot(5), delta(6)])
    later, outputs = step(state, snapshot(3))
    assert outputs == []
    assert (later.phase, later.last) == (Phase.LIVE, 6)


def test_a_snapshot_without_seq_is_a_bug() -> None:
    """It cannot be joined to the deltas."""
    with pytest.raises(ValueError, match="seq"):
        step(start(KEY)[0], snapshot(None))


def test_a_delta_needs_changes_with_a_seq() -> None:
    """delta_of refuses an empty message."""
    with pytest.raises(ValueError, match="at least one change"):
        delta_of([])


# --------------------------------------------------------------------------- against a reference history

Message = tuple[int, int, list[tuple[str, int, int]]]


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Message], list[bool], int]:
    """Messages with ids (ranged or single), which of them the network drops (never the last), a buffer limit."""
    ranged = draw(st.booleans())
    count = draw(st.integers(1, 40))
    messages: list[Message] = []
    next_id = draw(st.integers(1, 1000))
    for _ in range(count):
        width = draw(st.integers(1, 3)) if ranged else 1
        changes = draw(
            st.lists(
                st.tuples(st.sampled_from(["bid", "ask"]), st.integers(1, 8), st.integers(0, 3)), min_size=1, max_size=3
            )
        )
        messages.append((next_id, next_id + width - 1, changes))
        next_id += width
    drops = [draw(st.integers(0, 9)) == 0 for _ in range(count - 1)] + [False]
    return messages, drops, draw(st.integers(1, 8))


def true_books(messages: list[Message]) -> list[dict[str, dict[Decimal, Decimal]]]:
    """The server's book before any message and after each."""
    book: dict[str, dict[Decimal, Decimal]] = {"bid": {}, "ask": {}}
    books: list[dict[str, dict[Decimal, Decimal]]] = [{"bid": {}, "ask": {}}]
    for _, _, changes in messages:
        for side, price, size in changes:
            if size:
                book[side][Decimal(price)] = Decimal(size)
            else:
                book[side].pop(Decimal(price), None)
        books.append({"bid": dict(book["bid"]), "ask": dict(book["ask"])})
    return books


class Network:
    """Plays the server, the network and the fetching shell around one sync machine.

    Fetches are answered after a random delay with the server's book at a random
    lag from now (a snapshot may be behind or ahead of the stream), or fail.
    Every output is checked as it comes and handed to a book.
    """

    def __init__(self, messages: list[Message], drops: list[bool], data: st.DataObject) -> None:
        self.messages, self.drops, self.data = messages, drops, data
        self.books = true_books(messages)
        self.by_last = {last: first for first, last, _ in messages}
        self.lost = {
            number
            for (first, last, _), dropped in zip(messages, drops, strict=True)
            if dropped
            for number in range(first, last + 1)
        }
        self.book_state = BookState(Emission(levels=0, every=1_000_000))
        self.fetches: list[tuple[int, int | None]] = []  # (due step, server index or None for a failure)
        self.current: int | None = None  # the last id applied since the last snapshot
        self.group: int | None = None  # the seq of the message whose changes are coming out

    def handle(self, outputs: list[SyncOutput], now: int) -> None:
        quiet = now >= len(self.messages)
        for output in outputs:
            if isinstance(output, FetchSnapshot):
                event(f"fetch: {output.reason}")
                lag = 0 if quiet else self.data.draw(st.integers(-3, 3))
                failed = not quiet and self.data.draw(st.integers(0, 5)) == 0
                due = now + (1 if quiet else self.data.draw(st.integers(0, 4)))
                self.fetches.append((due, None if failed else min(max(now + lag, -1), len(self.messages) - 1)))
            elif isinstance(output, Snapshot):
                self.current, self.group = output.seq, None
            elif isinstance(output, Depth) and output.seq != self.group:
                assert self.current is not None
                assert output.seq is not None
                first = self.by_last[output.seq]
                assert first <= self.current + 1 <= output.seq, "applied twice or skipped"
                self.current = self.group = output.seq
            elif isinstance(output, Integrity):
                event("sequence gap")
                assert (output.kind, output.expected in self.lost) == ("sequence_gap", True), "a gap that was not"
        self.book_state, _ = apply(self.book_state, applied(outputs))

    def answer(self, now: int) -> list[SyncInput]:
        """The fetches due now: snapshots of the server's book, or failures."""
        due = [index for at, index in self.fetches if at <= now]
        self.fetches = [fetch for fetch in self.fetches if fetch[0] > now]
        answers: list[SyncInput] = []
        for index in due:
            if index is None:
                answers.append(FetchFailed())
                continue
            seq = self.messages[index][1] if index >= 0 else self.messages[0][0] - 1
            book = self.books[index + 1]
            bids = tuple(sorted(book["bid"].items(), reverse=True))
            asks = tuple(sorted(book["ask"].items()))
            answers.append(snapshot(seq, bids, asks))
        return answers


@given(histories(), st.data())
def test_any_timing_and_any_losses_end_in_the_true_book(
    history: tuple[list[Message], list[bool], int], data: st.DataObject
) -> None:
    """Random fetch lags and delays, failed fetches, lost messages: every applied run is contiguous from its
    snapshot (nothing twice, nothing skipped), every gap reported is a real loss, and the book ends true."""
    messages, drops, limit = history
    network = Network(messages, drops, data)
    deltas = [
        delta_of([change(last, price, size, side) for side, price, size in changes], first)
        for first, last, changes in messages
    ]
    sync, outputs = start(KEY, limit)
    network.handle(outputs, 0)
    now = 0
    while now < len(messages) or network.fetches:
        for answer in network.answer(now):
            sync, outputs = step(sync, answer)
            network.handle(outputs, now)
        if now < len(messages) and not drops[now]:
            sync, outputs = step(sync, deltas[now])
            network.handle(outputs, now)
        now += 1
        assert now < len(messages) + 200, "never settled"
    assert (sync.phase, sync.last) == (Phase.LIVE, messages[-1][1])
    book = network.book_state.books.get(KEY, Book())
    assert book.bids == tuple(sorted(network.books[-1]["bid"].items(), reverse=True))
    assert book.asks == tuple(sorted(network.books[-1]["ask"].items()))


def test_the_state_is_a_value() -> None:
    """Steps leave the state they were given as it was."""
    state, _ = start(KEY)
    later, _ = step(state, delta(1))
    assert state == SyncState(KEY, pending=1)
    assert later.buffer == (delta(1),)
