"""mdc-book's work on one batch of input, as a pure function: framed lines in; output lines, rejects and counts out.

:func:`book_frames_generally` is the specification: every line decoded and
checked as :func:`~mdc.core.pipeline.check_frames` does, the valid events run
through :func:`~mdc.core.book.apply`, the outputs encoded with
:func:`~mdc.core.codec.encode_lines`. :func:`book_frames` gives the same bytes,
rejects, books and counts, over twice as fast on depth streams:

* a line that starts as mdc writes a depth (or snapshot) event is decoded into
  a msgspec struct of the same fields and types (a quarter of the cost of the
  attrs event; side, op, the version and the lengths of the timestamps are
  checked in the decoding) and checked against the rest of the rules full
  validation applies to it, in the conservative way of
  :func:`mdc.core.validate.check`: anything unusual (another schema version,
  a field this version does not know, a timestamp that is not canonical, a
  price that is not plainly positive ...) sends the line down the general
  path, so rejects and their messages stay the same;
* the struct is applied to its book as a :class:`~mdc.core.events.Depth`
  would be (it has the same attributes: :class:`~mdc.core._book_work.Change`),
  the work of :meth:`~mdc.core._book_work.WorkingBook.set_level` and
  :meth:`~mdc.core._book_work.WorkingBook.change_position` inlined for a
  change of the model the book is in;
* a quote (written on about half the changes) and a snapshot due by count or
  on change are written as text, as :func:`~mdc.core.codec.encode_event` would
  write them, without building the event: the names of a book need no JSON
  escaping (else the event is built and encoded) and a decimal whose text has
  an exponent sends the line to the encoder too. Any other output (integrity,
  a quote that changes whether the market is crossed, snapshots by time) is
  built and encoded by the general code. The text of the best bid and of the
  best ask is kept on the book, so a quote writes anew only the side that changed.

A property test holds the two functions to the same answers.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from decimal import Decimal
from operator import gt, lt
from typing import Annotated, Final, Literal

import msgspec
from attrs import field, frozen

from ._book_work import DEEP, EMPTY, INVALID, LEVEL, NEAR, POSITION, TOP, UNCHANGED, ZERO, Top, WorkingBook
from .book import (
    BookKey,
    BookState,
    Transient,
    _freeze,
    _maybe_snapshot,
    _quote,
    _snapshot_in,
    _touch,
    apply,
    freeze,
    step_in,
    thaw,
)
from .codec import encode_event, encode_lines
from .events import SCHEMA_VERSION, Depth, Integrity, MarketEvent, Quote, Snapshot
from .framing import Frame
from .pipeline import Reject, check_frames
from .symbols import symbol_problem
from .timestamps import Timestamp, is_canonical, to_ns
from .validate import Policy


@frozen
class BookRun:
    """Everything mdc-book carries from one batch to the next.

    Attributes:
        books: the books.
        read: lines read.
        depth: depth events accepted (applied, or ignored by a frozen book).
        snapshots: snapshot events accepted.
        others: other events accepted (and ignored).
        rejected: lines rejected.
        written: events written, by type tag (``quote``, ``snapshot``, ``integrity``).
        kinds: integrity events written, by kind.
    """

    books: BookState = field(factory=BookState)
    read: int = 0
    depth: int = 0
    snapshots: int = 0
    others: int = 0
    rejected: int = 0
    written: Mapping[str, int] = field(factory=dict)
    kinds: Mapping[str, int] = field(factory=dict)


def book_frames_generally(run: BookRun, frames: Sequence[Frame], policy: Policy) -> tuple[BookRun, bytes, list[Reject]]:
    """Check, apply and encode one batch the general way (the specification of :func:`book_frames`).

    Args:
        run: the state after the previous batch.
        frames: the batch, in input order.
        policy: the validation limits.

    Returns:
        The new state, the output as NDJSON, and the rejects in input order.
    """
    events, rejects = check_frames(run.read, frames, policy)
    books, outputs = apply(run.books, events)
    inputs = Counter(map(type, events))
    written = Counter(run.written)
    written.update(event.TYPE for event in outputs)
    kinds = Counter(run.kinds)
    kinds.update(event.kind for event in outputs if isinstance(event, Integrity))
    return (
        BookRun(
            books,
            run.read + len(frames),
            run.depth + inputs[Depth],
            run.snapshots + inputs[Snapshot],
            run.others + len(events) - inputs[Depth] - inputs[Snapshot],
            run.rejected + len(rejects),
            dict(written),
            dict(kinds),
        ),
        encode_lines(outputs),
        rejects,
    )


_Stamp = Annotated[Timestamp, msgspec.Meta(min_length=30, max_length=30)]  # as long as a canonical one


class _DepthWire(msgspec.Struct, tag_field="type", tag="depth", forbid_unknown_fields=True, gc=False, kw_only=True):
    """A depth line: the fields and types of :class:`~mdc.core.events.Depth`, and no others.

    Narrower where that is free to check in msgspec: a value outside it fails to
    decode and takes the general path, which judges it. The fields are in the
    order mdc writes them, which msgspec matches fastest.
    """

    v: Literal[1] = 1
    symbol: str
    ts: _Stamp
    ts_recv: _Stamp
    provider: str
    stream: str
    seq: Annotated[int, msgspec.Meta(ge=0)] | None = None
    side: Literal["bid", "ask"]
    op: Literal["insert", "update", "delete", "set"]
    position: Annotated[int, msgspec.Meta(ge=0)] | None = None
    price: Decimal | None = None
    size: Decimal | None = None
    exchange: str | None = None


class _SnapshotWire(
    msgspec.Struct, tag_field="type", tag="snapshot", forbid_unknown_fields=True, gc=False, kw_only=True
):
    """A snapshot line: the fields and types of :class:`~mdc.core.events.Snapshot`, narrowed as :class:`_DepthWire`."""

    v: Literal[1] = 1
    symbol: str
    ts: _Stamp
    ts_recv: _Stamp
    provider: str
    stream: str
    seq: Annotated[int, msgspec.Meta(ge=0)] | None = None
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


_SNAPSHOT_PREFIX: Final = b'{"type":"snapshot","v":1,'
_DECODE_SNAPSHOT: Final = msgspec.json.Decoder(_SnapshotWire).decode
_PREFIX: Final = b'{"type":"depth","v":1,'
_DECODE: Final = msgspec.json.Decoder(_DepthWire).decode
_HUGE: Final = Decimal("1e30")
# A second (``YYYY-MM-DDTHH:MM:SS.``) and two timestamps in it, with 9 ASCII digits and a Z after it:
# one call where is_canonical would take eight operations for each timestamp
_IN_SECOND: Final = re.compile(r"(.{20})\1[0-9]{9}Z\1[0-9]{9}Z", re.DOTALL).fullmatch


def book_frames(  # noqa: PLR0915 - one loop, inlined: the hot path of mdc-book
    run: BookRun, frames: Sequence[Frame], policy: Policy
) -> tuple[BookRun, bytes, list[Reject]]:
    """Check, apply and encode one batch: what :func:`book_frames_generally` gives, faster.

    Args:
        run: the state after the previous batch.
        frames: the batch, in input order.
        policy: the validation limits.

    Returns:
        The new state, the output as NDJSON, and the rejects in input order.
    """
    transient = thaw(run.books)
    books = transient.books
    emission = transient.emission
    levels, every, every_ns = emission.levels, emission.every, emission.every_ns
    max_skew_ns = policy.max_skew_ns
    tally = _Tally(run)
    lines: list[str] = []  # text, encoded once at the end of the batch
    scratch: list[MarketEvent] = []
    pending: list[Frame] = []  # lines for the general path, flushed before the next fast one
    line_no = pending_after = run.read
    # the second (``YYYY-MM-DDTHH:MM:SS.``) of the last timestamp found canonical; at first none
    second = "?" * 31  # (not 20 characters long: no timestamps match it)
    last_ts = last_ts_recv = ""  # the timestamps of the last depth line whose timestamps passed; at first none
    depth = quotes = snapshots = 0
    for frame in frames:
        line_no += 1
        wire: _DepthWire | None = None
        if type(frame) is bytes and frame.startswith(_PREFIX):
            try:
                wire = _DECODE(frame)
            except (msgspec.DecodeError, UnicodeDecodeError):
                wire = None
        elif type(frame) is bytes and frame.startswith(_SNAPSHOT_PREFIX):
            image = _snapshot_wire(frame, books, max_skew_ns)
            if image is not None:
                if pending:
                    _generally(transient, pending_after, pending, policy, tally, lines, scratch)
                    pending = []
                tally.snapshots += 1
                _snapshot_in(transient, image, scratch)
                tally.emit(scratch, lines)
                continue
        if wire is not None:
            ts, ts_recv, op, position = wire.ts, wire.ts_recv, wire.op, wire.position
            price, size = wire.price, wire.size
            key = (wire.provider, wire.stream, wire.symbol)
            book = books.get(key)
            try:
                if not (
                    # the timestamps of the last line that passed them (a third of lines repeat them), or:
                    (
                        (ts == last_ts and ts_recv == last_ts_recv)
                        or (
                            # is_canonical for both, without its calls when both are in the second last found valid
                            (
                                _IN_SECOND(f"{second}{ts}{ts_recv}")
                                or (is_canonical(ts) and is_canonical(ts_recv) and bool(second := ts_recv[:20]))
                            )
                            and (ts <= ts_recv or to_ns(ts) - to_ns(ts_recv) <= max_skew_ns)
                            and bool(last_ts := ts)
                            and bool(last_ts_recv := ts_recv)
                        )
                    )
                    # a book of this batch was made by a valid event: its key was checked
                    and (type(book) is WorkingBook or (key[0] and key[1] and symbol_problem(key[2]) is None))
                    # the depth rules, conservatively (as mdc.core.validate checks them quickly); side, op
                    # and a position >= 0 were checked in decoding; a NaN raises
                    and (
                        (  # by price: a set, or a delete (of no size)
                            price is not None
                            and ZERO < price < _HUGE
                            and (
                                (op == "set" and size is not None and ZERO <= size < _HUGE)
                                or (op == "delete" and (size is None or size == ZERO))
                            )
                        )
                        if position is None
                        else (  # a positional delete needs neither price nor size
                            (price is None or ZERO < price < _HUGE) and (size is None or ZERO <= size < _HUGE)
                        )
                        if op == "delete"
                        else (
                            price is not None
                            and ZERO < price < _HUGE
                            and size is not None
                            and ((op == "insert" and ZERO < size < _HUGE) or (op == "update" and ZERO <= size < _HUGE))
                        )
                    )
                ):
                    wire = None
            except ArithmeticError:  # a NaN compared; the general path names it
                wire = None
        if wire is None:
            if not pending:
                pending_after = line_no - 1
            pending.append(frame)
            continue
        if pending:
            _generally(transient, pending_after, pending, policy, tally, lines, scratch)
            pending = []
            book = books.get(key)
        depth += 1
        if type(book) is not WorkingBook:
            book = _touch(transient, key)
        if book.frozen:
            transient.ignored += 1
            continue
        if position is None and price is not None and book.model == LEVEL:
            # WorkingBook.set_level, inlined: a set, or a delete by price (size 0), as the checks allow
            if op != "set" or size is None:
                size = ZERO
            if wire.side == "bid":
                pairs, prices = book.bids, book.bid_prices
                index = bisect_left(prices, price)
                rank = len(prices) - 1 - index
            else:
                pairs, prices = book.asks, book.ask_prices
                index = rank = bisect_left(prices, price)
            if index < len(prices) and prices[index] == price:
                if not size:
                    del prices[index]
                    del pairs[index]
                    reach = TOP if rank == 0 else NEAR if not levels or rank < levels else DEEP
                elif pairs[index][1] == size:
                    reach = UNCHANGED
                else:
                    pairs[index] = (prices[index], size)  # the price keeps the text it first came with
                    reach = TOP if rank == 0 else NEAR if not levels or rank < levels else DEEP
            elif size:
                prices.insert(index, price)
                pairs.insert(index, (price, size))
                rank += wire.side == "bid"  # one more level above it
                reach = TOP if rank == 0 else NEAR if not levels or rank < levels else DEEP
            else:
                reach = UNCHANGED
        elif position is not None and book.model == POSITION:
            # WorkingBook.change_position, inlined
            rows = book.bids if wire.side == "bid" else book.asks
            if op == "delete":
                if position < len(rows):
                    del rows[position]
                    reach = TOP if position == 0 else NEAR if not levels or position < levels else DEEP
                else:
                    reach = INVALID
            elif price is None or size is None:
                reach = INVALID
            elif op == "update":
                if position >= len(rows):
                    reach = INVALID
                elif (row := rows[position])[0] == price and row[1] == size:
                    reach = UNCHANGED
                else:
                    rows[position] = (price, size)
                    reach = TOP if position == 0 else NEAR if not levels or position < levels else DEEP
            elif position <= len(rows):  # an insert
                rows.insert(position, (price, size))
                reach = TOP if position == 0 else NEAR if not levels or position < levels else DEEP
            else:
                reach = INVALID
        elif op == "set":
            reach = book.set_level(wire.side, price, size, levels)  # type: ignore[arg-type] # both checked
        elif op == "delete" and position is None:
            reach = book.set_level(wire.side, price, ZERO, levels)  # type: ignore[arg-type] # checked
        else:
            reach = book.change_position(wire, levels)
        if reach == INVALID:
            _freeze(book, wire, scratch)
            tally.emit(scratch, lines)
            continue
        book.updates += 1
        if reach >= NEAR:
            if reach == TOP:
                bids, asks = book.bids, book.asks
                best_bid = (bids[-1] if book.model == LEVEL else bids[0]) if bids else EMPTY
                best_ask = asks[0] if asks else EMPTY
                bid, bid_size = best_bid
                ask, ask_size = best_ask
                top = (bid, bid_size, ask, ask_size)
                if top != book.quoted:
                    if book.market != "normal" or (bid is not None and ask is not None and not bid < ask):
                        _quote(book, wire, scratch)  # the market changes: integrity first, worded there
                        tally.emit(scratch, lines)
                    else:
                        book.quoted = top
                        quotes += 1
                        template = book.template
                        if template is None:
                            template = book.template = _template(key)
                        # the text of the decimals as encode_event writes them, unless one has an exponent;
                        # the side that did not change keeps the text it was last written with
                        if best_bid is book.bid_quoted:
                            bid_text = book.bid_text
                        else:
                            bid_text = f'{"null" if bid is None else str(bid)},"bid_size":{bid_size!s}'
                            book.bid_quoted, book.bid_text = best_bid, bid_text
                        if best_ask is book.ask_quoted:
                            ask_text = book.ask_text
                        else:
                            ask_text = f'{"null" if ask is None else str(ask)},"ask_size":{ask_size!s}}}'
                            book.ask_quoted, book.ask_text = best_ask, ask_text
                        head, middle, _ = template
                        if head and "E" not in bid_text and "E" not in ask_text:
                            seq = wire.seq
                            if seq is None:
                                line = (
                                    f'{head}{ts}","ts_recv":"{ts_recv}{middle},'
                                    f'"bid_price":{bid_text},"ask_price":{ask_text}'
                                )
                            else:
                                line = (
                                    f'{head}{ts}","ts_recv":"{ts_recv}{middle},"seq":{seq!s},'
                                    f'"bid_price":{bid_text},"ask_price":{ask_text}'
                                )
                            lines.append(line)
                        else:
                            lines.append(_text(encode_event(_quote_of(wire, top))))
            if not (every or every_ns):
                template = book.template
                if template is None:
                    template = book.template = _template(key)
                lines.append(_snapshot_line(book, wire, levels, template))
                snapshots += 1
                continue
        if every_ns:
            _maybe_snapshot(transient, book, wire, scratch)
            tally.emit(scratch, lines)
        elif every and book.updates >= every:  # _maybe_snapshot, for the count policy alone
            template = book.template
            if template is None:
                template = book.template = _template(key)
            lines.append(_snapshot_line(book, wire, levels, template))
            snapshots += 1
    tally.depth += depth
    tally.quotes += quotes
    tally.snapshots_out += snapshots
    if pending:
        _generally(transient, pending_after, pending, policy, tally, lines, scratch)
    if lines:
        lines.append("")  # the last newline, in the same join
    return tally.run(freeze(transient), len(frames)), "\n".join(lines).encode(errors="surrogateescape"), tally.rejects


def _snapshot_wire(frame: bytes, books: Mapping[BookKey, object], max_skew_ns: int) -> _SnapshotWire | None:
    """A snapshot line decoded, if it plainly passes every rule (as for depth, but without the shortcuts)."""
    try:
        image = _DECODE_SNAPSHOT(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    ts, ts_recv = image.ts, image.ts_recv
    key = (image.provider, image.stream, image.symbol)
    bids = [price for price, _ in image.bids]
    asks = [price for price, _ in image.asks]
    try:
        valid = (
            is_canonical(ts)
            and is_canonical(ts_recv)
            and (ts <= ts_recv or to_ns(ts) - to_ns(ts_recv) <= max_skew_ns)
            and (type(books.get(key)) is WorkingBook or (key[0] and key[1] and symbol_problem(key[2]) is None))
            and all(ZERO < price < _HUGE and ZERO < size < _HUGE for price, size in image.bids)
            and all(ZERO < price < _HUGE and ZERO < size < _HUGE for price, size in image.asks)
            and all(map(gt, bids, bids[1:]))  # best first, no repeats
            and all(map(lt, asks, asks[1:]))
        )
    except ArithmeticError:  # a NaN compared; the general path names it
        return None
    return image if valid else None


def _template(key: BookKey) -> tuple[str, str, str]:
    """The text of a book's quote and snapshot lines before their ts, and between ts_recv and seq.

    Empty when a name needs escaping in JSON (those lines are left to :func:`~mdc.core.codec.encode_event`).
    """
    provider, stream, symbol = key
    if not all(text.isascii() and text.isprintable() and '"' not in text and "\\" not in text for text in key):
        return "", "", ""
    return (
        f'{{"type":"quote","v":{SCHEMA_VERSION},"symbol":"{symbol}","ts":"',
        f'","provider":"{provider}","stream":"{stream}"',
        f'{{"type":"snapshot","v":{SCHEMA_VERSION},"symbol":"{symbol}","ts":"',
    )


def _text(line: bytes) -> str:
    """An encoded line as text that :func:`book_frames` encodes back to the same bytes, whatever they are."""
    return line.decode(errors="surrogateescape")


def _snapshot_line(book: WorkingBook, wire: _DepthWire, levels: int, template: tuple[str, str, str]) -> str:
    """What :func:`~mdc.core.book._snapshot` emits, as text, without building the Snapshot when it can."""
    book.updates = 0
    bids, asks = book.levels(levels)
    sides = (
        '"bids":['
        + ",".join([f"[{price!s},{size!s}]" for price, size in bids])
        + '],"asks":['
        + ",".join([f"[{price!s},{size!s}]" for price, size in asks])
        + "]}"
    )
    if template[2] and "E" not in sides:
        seq = "" if wire.seq is None else f',"seq":{wire.seq!s}'
        return f'{template[2]}{wire.ts}","ts_recv":"{wire.ts_recv}{template[1]}{seq},{sides}'
    return _text(
        encode_event(
            Snapshot(
                symbol=wire.symbol,
                ts=wire.ts,
                ts_recv=wire.ts_recv,
                provider=wire.provider,
                stream=wire.stream,
                seq=wire.seq,
                bids=bids,
                asks=asks,
            )
        )
    )


def _quote_of(wire: _DepthWire, top: Top) -> Quote:
    bid, bid_size, ask, ask_size = top
    return Quote(
        symbol=wire.symbol,
        ts=wire.ts,
        ts_recv=wire.ts_recv,
        provider=wire.provider,
        stream=wire.stream,
        seq=wire.seq,
        bid_price=bid,
        bid_size=bid_size,
        ask_price=ask,
        ask_size=ask_size,
    )


class _Tally:
    """The counts of one batch as it runs, and its rejects."""

    __slots__ = ("depth", "others", "quotes", "rejects", "snapshots", "snapshots_out", "started", "written")

    def __init__(self, run: BookRun) -> None:
        self.started = run
        self.depth = self.snapshots = self.others = self.quotes = self.snapshots_out = 0
        self.rejects: list[Reject] = []
        self.written: list[MarketEvent] = []  # what was written other than fast quotes (few)

    def emit(self, events: list[MarketEvent], lines: list[str]) -> None:
        """Encode the general code's outputs into ``lines`` (as text: see :func:`_text`); empties ``events``."""
        lines += [_text(encode_event(event)) for event in events]
        self.written += events
        events.clear()

    def run(self, books: BookState, read: int) -> BookRun:
        """The state after the batch."""
        started = self.started
        written = Counter(started.written)
        written.update(event.TYPE for event in self.written)
        if self.quotes:
            written[Quote.TYPE] += self.quotes
        if self.snapshots_out:
            written[Snapshot.TYPE] += self.snapshots_out
        kinds = Counter(started.kinds)
        kinds.update(event.kind for event in self.written if isinstance(event, Integrity))
        return BookRun(
            books,
            started.read + read,
            started.depth + self.depth,
            started.snapshots + self.snapshots,
            started.others + self.others,
            started.rejected + len(self.rejects),
            dict(written),
            dict(kinds),
        )


def _generally(  # noqa: PLR0917 - a private step of the loop above, sharing its locals
    transient: Transient,
    line_no: int,
    frames: list[Frame],
    policy: Policy,
    tally: _Tally,
    lines: list[str],
    scratch: list[MarketEvent],
) -> None:
    """Lines the fast path left alone: checked and applied as :func:`book_frames_generally` does."""
    events, rejects = check_frames(line_no, frames, policy)
    tally.rejects += rejects
    for event in events:
        cls = type(event)
        if cls is Depth:
            tally.depth += 1
        elif cls is Snapshot:
            tally.snapshots += 1
        else:
            tally.others += 1
        step_in(transient, event, scratch)
    tally.emit(scratch, lines)


__all__ = ["BookRun", "book_frames", "book_frames_generally"]
