"""L2 order books rebuilt from depth, as a pure collector: ``state, event -> state, outputs``.

One book per ``(provider, stream, symbol)``, the scope of a depth sequence: two
providers (or two depth streams of one provider, such as a venue's own book and
a consolidated one) never share a book. A snapshot therefore replaces the book
of *its own* stream, so a feed must put its snapshots on the stream of the
depth they describe, as the simulator and mdc's adapters do.

Both depth models of :class:`~mdc.core.events.Depth` are understood:

* **position model** (Interactive Brokers): ``insert`` shifts the levels at and
  below ``position`` down one, ``update`` replaces the price and size at
  ``position``, ``delete`` removes it. An insert past the end + 1, or an update
  or delete past the end, is *invalid*;
* **price-level model**: ``set`` with a size > 0 adds or replaces the level at
  ``price``; size 0, or ``delete``, removes it. Removing a price that is not in
  the book is *not* invalid, but a no-op: feeds do send removals of levels a
  client never saw (Binance documents it; most feeds do it after a reconnect
  or for levels beyond the depth they publish), and the book is no less right.

An invalid change **freezes** the book: ``integrity depth_invalid`` (expected:
the positions that exist, received: the one given) then ``integrity
book_frozen``, once; from then on the book ignores depth (counted in
:attr:`BookState.ignored`) until a snapshot arrives or :func:`reset` is called
(a resubscription). ``integrity book_reset`` is emitted when

* a snapshot replaces a frozen book (always), or one that differs from it
  (the depth rebuilt so far is thrown away); a snapshot that starts a book, or
  that agrees with the book level for level, only confirms it and says nothing;
* :func:`reset` clears a book that was frozen or held levels.

Prices are the :class:`~decimal.Decimal` objects received, so a level keeps
the text the venue wrote (several venues checksum their books over the price
strings); ``1.0`` and ``1.00`` are the same level, which keeps the first text.

What a book emits, each output carrying the ``ts``, ``ts_recv`` and ``seq`` of
the last input event applied, that input's ``provider`` and ``symbol``, and its
``stream`` (the book's own, so the output of a book is traced to its source;
``seq`` is the input's, not a sequence of the output):

* ``quote`` whenever the best bid or ask, price or size, changes;
* ``integrity crossed_market`` / ``locked_market`` when the top becomes crossed
  (bid > ask) or locked, once per episode, worded like :mod:`mdc.core.collectors`
  (real feeds do cross for a moment; the book carries on);
* ``snapshot`` of the best :attr:`Emission.levels` levels, per :class:`Emission`:
  every N applied events, at the first event of each interval of event time, or
  (with neither) whenever anything within those levels changes.

Per input event the outputs come in the order integrity, quote, snapshot.
:func:`step` is the pure one-event step; :func:`apply` runs a batch through
:func:`thaw`, :func:`step_in` and :func:`freeze` as in :mod:`mdc.core.collectors`
(a book is copied once per batch it is touched in, not once per event).

>>> from decimal import Decimal as D
>>> ts = "2026-11-24T14:30:00.000000000Z"
>>> envelope = dict(symbol="SPY", ts=ts, ts_recv=ts, provider="sim", stream="sim.depth")
>>> depths = [Depth(**envelope, seq=1, side="bid", op="set", price=D("9.99"), size=D(100)),
...           Depth(**envelope, seq=2, side="ask", op="set", price=D("10.01"), size=D(300))]
>>> state, outputs = apply(BookState(Emission(levels=5, every=2)), depths)
>>> [(event.TYPE, event.seq) for event in outputs]
[('quote', 1), ('quote', 2), ('snapshot', 2)]
>>> state.books[("sim", "sim.depth", "SPY")].asks
((Decimal('10.01'), Decimal('300')),)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Final, Literal

from attrs import define, field, frozen, validators

from ._book_work import INVALID, LEVEL, NEAR, POSITION, TOP, Change, Envelope, Image, Levels, Top, WorkingBook
from .events import BOOK_SIDES, DEPTH_OPS, Depth, Integrity, MarketEvent, Quote, Snapshot
from .timestamps import Timestamp, to_ns

BookKey = tuple[str, str, str]
"""(provider, stream, symbol): the scope of one book."""
DepthModel = Literal["level", "position"]

DEFAULT_LEVELS: Final = 10


@frozen
class Emission:
    """When a book emits snapshots (quotes go out whenever the top changes).

    Attributes:
        levels: levels per side in a snapshot, and the depth whose changes count
            for the on-change policy; 0 for every level.
        every: a snapshot after every this many applied events of a book (0: not by count).
        every_ns: a snapshot at a book's first applied event in each interval of this
            many nanoseconds of event time, aligned to the Unix epoch, except the
            interval of its first event (0: not by time).

    With ``every`` and ``every_ns`` both 0 (the default) a snapshot goes out
    whenever anything within the top ``levels`` changes; with both set, whichever
    comes first, and either restarts both.
    """

    levels: int = field(default=DEFAULT_LEVELS, validator=validators.ge(0))
    every: int = field(default=0, validator=validators.ge(0))
    every_ns: int = field(default=0, validator=validators.ge(0))


@frozen
class Book:
    """One L2 book between batches.

    Attributes:
        bids: every bid level, best (highest) first; a position-model book keeps its rows as the feed placed them.
        asks: every ask level, best (lowest) first.
        model: the depth model it was last changed by (a new book is ``level``).
        frozen: whether it ignores depth until a snapshot or a reset.
        market: ``normal``, ``crossed`` or ``locked``, as of the last change of the top.
        quoted: the top last emitted as a quote (bid, bid size, ask, ask size), or None.
        updates: events applied since its last snapshot output.
        bucket: the event-time interval of its last snapshot output (time policy), or None.
    """

    bids: Levels = ()
    asks: Levels = ()
    model: DepthModel = "level"
    frozen: bool = False
    market: str = "normal"
    quoted: Top | None = None
    updates: int = 0
    bucket: int | None = None


@frozen
class BookState:
    """Every book, and the emission policy.

    Attributes:
        emission: when to emit snapshots.
        books: the book of each key seen.
        ignored: depth events ignored so far because their book was frozen.
    """

    emission: Emission = field(factory=Emission)
    books: Mapping[BookKey, Book] = field(factory=dict)
    ignored: int = 0


@define
class Transient:
    """The books of one batch; each becomes a :class:`WorkingBook` when first touched. Not to be kept."""

    emission: Emission
    books: dict[BookKey, Book | WorkingBook]
    ignored: int
    touched: list[BookKey] = field(factory=list)
    clock: tuple[str, int] = ("", 0)
    """The last timestamp turned into nanoseconds (events of one burst share their ts)."""


def thaw(state: BookState) -> Transient:
    """Copy the map of books for in-place updates during one batch."""
    return Transient(state.emission, dict(state.books), state.ignored)


def freeze(transient: Transient) -> BookState:
    """Turn the batch's books back into values."""
    books = transient.books
    for key in transient.touched:
        working = books[key]
        if isinstance(working, WorkingBook):
            books[key] = _frozen(working)
    transient.touched = []
    return BookState(transient.emission, books, transient.ignored)  # type: ignore[arg-type] # every touched book is frozen again


def step(state: BookState, event: MarketEvent) -> tuple[BookState, list[MarketEvent]]:
    """Run one event through the books.

    Args:
        state: the books before the event.
        event: a valid event; only ``depth`` and ``snapshot`` do anything.

    Returns:
        The new state and the events to emit (integrity, quote, snapshot); ``state`` is unchanged.
    """
    transient = thaw(state)
    out: list[MarketEvent] = []
    step_in(transient, event, out)
    return freeze(transient), out


def apply(state: BookState, events: Iterable[MarketEvent]) -> tuple[BookState, list[MarketEvent]]:
    """Run a batch of events through the books; the same outputs as :func:`step` on each in turn.

    Args:
        state: the books before the batch.
        events: valid events in arrival order.

    Returns:
        The new state and the events to emit, in order; ``state`` is unchanged.
    """
    transient = thaw(state)
    out: list[MarketEvent] = []
    for event in events:  # step_in, inlined: this loop is the hot path of mdc-book
        cls = type(event)
        if cls is Depth:
            _depth_in(transient, event, out)  # type: ignore[arg-type] # checked just above
        elif cls is Snapshot:
            _snapshot_in(transient, event, out)  # type: ignore[arg-type] # checked just above
    return freeze(transient), out


def reset(state: BookState, key: BookKey, ts: Timestamp, ts_recv: Timestamp) -> tuple[BookState, list[MarketEvent]]:
    """Clear one book, as after a resubscription: it unfreezes and is rebuilt from the depth that follows.

    Args:
        state: the books.
        key: the book to clear.
        ts: the time to stamp a ``book_reset`` with.
        ts_recv: its receive time.

    Returns:
        The new state and ``[integrity book_reset]`` when the book was frozen or held levels, else ``[]``.
    """
    transient = thaw(state)
    out: list[MarketEvent] = []
    book = _touch(transient, key)
    provider, stream, symbol = key
    if book.frozen or book.bids or book.asks:
        reason = "was frozen" if book.frozen else "held levels"
        out.append(
            Integrity(
                symbol=symbol,
                ts=ts,
                ts_recv=ts_recv,
                provider=provider,
                stream=stream,
                kind="book_reset",
                description=f"{symbol} book cleared on resubscription (it {reason})",
            )
        )
    transient.books[key] = WorkingBook(book.model)
    return freeze(transient), out


def step_in(transient: Transient, event: MarketEvent, out: list[MarketEvent]) -> None:
    """:func:`step` on a batch's transient state (updated in place); appends to ``out``."""
    cls = type(event)
    if cls is Depth:
        _depth_in(transient, event, out)  # type: ignore[arg-type] # checked just above
    elif cls is Snapshot:
        _snapshot_in(transient, event, out)  # type: ignore[arg-type] # checked just above


def _touch(transient: Transient, key: BookKey) -> WorkingBook:
    book = transient.books.get(key)
    if type(book) is WorkingBook:
        return book
    working = _working(book) if isinstance(book, Book) else WorkingBook()
    transient.books[key] = working
    transient.touched.append(key)
    return working


def _depth_in(transient: Transient, depth: Change, out: list[MarketEvent]) -> None:
    key = (depth.provider, depth.stream, depth.symbol)
    book = transient.books.get(key)
    if type(book) is not WorkingBook:
        book = _touch(transient, key)
    if book.frozen:
        transient.ignored += 1
        return
    emission = transient.emission
    levels = emission.levels
    op = depth.op
    if op == "set" or (op == "delete" and depth.position is None):
        price = depth.price
        size = depth.size if op == "set" else _ZERO
        reach = INVALID if price is None or size is None else book.set_level(depth.side, price, size, levels)
    else:
        reach = book.change_position(depth, levels)
    if reach == INVALID:
        _freeze(book, depth, out)
        return
    book.updates += 1
    every, every_ns = emission.every, emission.every_ns
    if reach >= NEAR:
        if reach == TOP:
            _quote(book, depth, out)
        if not (every or every_ns):
            _snapshot(book, depth, levels, out)
            return
    if every_ns or (every and book.updates >= every):  # the count policy alone needs no call when not due
        _maybe_snapshot(transient, book, depth, out)


def _snapshot_in(transient: Transient, snapshot: Image, out: list[MarketEvent]) -> None:
    book = _touch(transient, (snapshot.provider, snapshot.stream, snapshot.symbol))
    levels = transient.emission.levels
    before = book.levels(levels)
    differs = book.frozen or book.levels(0) != (snapshot.bids, snapshot.asks)
    was_frozen = book.frozen
    if differs and (was_frozen or book.bids or book.asks):
        what = "a frozen book" if was_frozen else "a book that differed from it"
        out.append(_integrity(snapshot, "book_reset", f"{snapshot.symbol} snapshot replaced {what}"))
    book.frozen = False
    book.load(snapshot.bids, snapshot.asks)
    book.updates += 1
    _quote(book, snapshot, out)
    emission = transient.emission
    if emission.every or emission.every_ns:
        _maybe_snapshot(transient, book, snapshot, out)
    elif was_frozen or book.levels(levels) != before:
        _snapshot(book, snapshot, levels, out)


def _freeze(book: WorkingBook, depth: Change, out: list[MarketEvent]) -> None:
    op, side, position = depth.op, depth.side, depth.position
    count = book.depth(side)
    expected: str | None = None
    if side not in BOOK_SIDES or op not in DEPTH_OPS:
        description = f"{op!r} on side {side!r} is not a depth change"
    elif position is None:
        missing = "position" if op in ("insert", "update") else "price or size"
        description = f"{op} without a {missing}"
    elif position < 0:
        description = f"{op} at a negative position"
    elif op != "delete" and (depth.price is None or depth.size is None):
        description = f"{op} without a price or size"
    elif op == "insert":
        expected = f"position <= {count}"
        description = f"insert at {side} position {position}, but the side has {count} levels"
    else:
        expected = f"position < {count}"
        description = f"{op} at {side} position {position}, but the side has {count} levels"
    out.append(_integrity(depth, "depth_invalid", description, expected, position))
    out.append(
        _integrity(
            depth,
            "book_frozen",
            f"{depth.symbol} book frozen on {depth.stream}: depth ignored until a snapshot or a reset",
        )
    )
    book.frozen = True


def _quote(book: WorkingBook, event: Envelope, out: list[MarketEvent]) -> None:
    """Emit a quote when the top differs from the last one quoted; flag a crossed or locked top."""
    top = book.top()
    if top == book.quoted:
        return
    book.quoted = top
    bid, bid_size, ask, ask_size = top
    market = "normal"
    if bid is not None and ask is not None and not bid < ask:  # one comparison for a normal market
        market = "crossed" if bid > ask else "locked"
    if market != book.market:
        book.market = market
        if market == "crossed":
            out.append(
                _integrity(
                    event,
                    "crossed_market",
                    f"market crossed: bid {bid} above ask {ask}",
                    "bid < ask",
                    f"bid {bid} > ask {ask}",
                )
            )
        elif market == "locked":
            out.append(
                _integrity(event, "locked_market", f"market locked at {bid}", "bid < ask", f"bid {bid} = ask {ask}")
            )
    out.append(
        Quote(
            symbol=event.symbol,
            ts=event.ts,
            ts_recv=event.ts_recv,
            provider=event.provider,
            stream=event.stream,
            seq=event.seq,
            bid_price=bid,
            bid_size=bid_size,
            ask_price=ask,
            ask_size=ask_size,
        )
    )


def _maybe_snapshot(transient: Transient, book: WorkingBook, event: Envelope, out: list[MarketEvent]) -> None:
    """The count and time policies."""
    emission = transient.emission
    due = bool(emission.every) and book.updates >= emission.every
    if emission.every_ns:
        ts = event.ts
        if transient.clock[0] != ts:
            transient.clock = (ts, to_ns(ts))
        bucket = transient.clock[1] // emission.every_ns
        if book.bucket is None:
            book.bucket = bucket
        elif bucket != book.bucket:
            due = True
        if due:
            book.bucket = bucket
    if due:
        _snapshot(book, event, emission.levels, out)


def _snapshot(book: WorkingBook, event: Envelope, levels: int, out: list[MarketEvent]) -> None:
    book.updates = 0
    bids, asks = book.levels(levels)
    out.append(
        Snapshot(
            symbol=event.symbol,
            ts=event.ts,
            ts_recv=event.ts_recv,
            provider=event.provider,
            stream=event.stream,
            seq=event.seq,
            bids=bids,
            asks=asks,
        )
    )


def _integrity(
    event: Envelope,
    kind: str,
    description: str,
    expected: int | str | None = None,
    received: int | str | None = None,
) -> Integrity:
    return Integrity(
        symbol=event.symbol,
        ts=event.ts,
        ts_recv=event.ts_recv,
        provider=event.provider,
        stream=event.stream,
        seq=event.seq,
        kind=kind,
        expected=expected,
        received=received,
        description=description,
    )


def _working(book: Book) -> WorkingBook:
    working = WorkingBook(book.model)
    working.load(book.bids, book.asks)
    working.frozen = book.frozen
    working.market = book.market
    working.quoted = book.quoted
    working.updates = book.updates
    working.bucket = book.bucket
    return working


def _frozen(working: WorkingBook) -> Book:
    bids, asks = working.levels(0)
    return Book(
        bids,
        asks,
        POSITION if working.model == POSITION else LEVEL,
        working.frozen,
        working.market,
        working.quoted,
        working.updates,
        working.bucket,
    )


_ZERO: Final = Decimal(0)

__all__ = [
    "DEFAULT_LEVELS",
    "Book",
    "BookKey",
    "BookState",
    "DepthModel",
    "Emission",
    "Transient",
    "apply",
    "freeze",
    "reset",
    "step",
    "step_in",
    "thaw",
]
