"""The working copy of one L2 book during a batch. Private to :mod:`mdc.core.book`.

A :class:`WorkingBook` holds each side as a list of ``(price, size)`` pairs,
the very tuples a snapshot is made of, so that writing the best N levels is
one slice, with nothing built per level. Their order is the one the book's
depth model updates fastest:

* price-level model: sorted by price, ascending, so the best bid is the *last*
  bid and the best ask the first ask. A second list holds the prices alone,
  for :mod:`bisect`. There is no dict price -> size: hashing a Decimal that is
  not a whole number costs about 0.4 µs, several times a bisection over a few
  hundred levels, and every change brings a new Decimal;
* position model: best first on both sides, indexed by the feed's positions
  (the price list stays empty). Nothing is sorted or merged: a market-maker
  feed may show the same price on several rows, and the rows are the feed's.

A snapshot is loaded into the shape of the model the book already uses
(price-level for a new book); a depth change of the other model converts the
book first, at the cost of one copy (a stream normally sticks to one model).

Each change returns how far it reached, which is all the caller needs to
decide what to emit: :data:`UNCHANGED`, :data:`DEEP` (beyond the top ``levels``),
:data:`NEAR` (within them) or :data:`TOP` (the best level of its side), or
:data:`INVALID` for a position that does not exist.
"""

from __future__ import annotations

from bisect import bisect_left
from decimal import Decimal
from typing import Final, Protocol

from .timestamps import Timestamp

Level = tuple[Decimal, Decimal]
"""(price, size)."""
Levels = tuple[Level, ...]
"""Levels, best first."""
Top = tuple[Decimal | None, Decimal, Decimal | None, Decimal]
"""Best bid, its size, best ask, its size; an empty side has price None and size 0."""


class Envelope(Protocol):
    """What a book reads of the event it stamps its outputs with (a Depth, a Snapshot, a wire form of either)."""

    @property
    def symbol(self) -> str: ...
    @property
    def ts(self) -> Timestamp: ...
    @property
    def ts_recv(self) -> Timestamp: ...
    @property
    def provider(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def seq(self) -> int | None: ...


class Change(Envelope, Protocol):
    """What a book reads of a depth change: a :class:`~mdc.core.events.Depth`, or mdc-book's wire form of one."""

    @property
    def side(self) -> str: ...
    @property
    def op(self) -> str: ...
    @property
    def position(self) -> int | None: ...
    @property
    def price(self) -> Decimal | None: ...
    @property
    def size(self) -> Decimal | None: ...


class Image(Envelope, Protocol):
    """What a book reads of a snapshot: a :class:`~mdc.core.events.Snapshot`, or mdc-book's wire form of one."""

    @property
    def bids(self) -> Levels: ...
    @property
    def asks(self) -> Levels: ...


LEVEL: Final = "level"
POSITION: Final = "position"

INVALID: Final = -1
UNCHANGED: Final = 0
DEEP: Final = 1
NEAR: Final = 2
TOP: Final = 3

ZERO: Final = Decimal(0)


class WorkingBook:
    """One book, mutable, for the length of one batch.

    Attributes:
        model: ``level`` or ``position``: the shape the sides are in.
        bids: bid levels (level model: ascending, best last; position model: best first).
        asks: ask levels, best first (ascending) in both models.
        bid_prices: the prices of ``bids``, in the same order (level model; empty otherwise).
        ask_prices: the prices of ``asks`` (level model; empty otherwise).
        frozen: whether depth is being ignored until a snapshot or a reset.
        market: ``normal``, ``crossed`` or ``locked``, as of the last change of the top.
        quoted: the top last emitted as a quote, or None before the first.
        updates: events applied since the last snapshot emitted.
        bucket: the event-time bucket of the last snapshot emitted (time policy), or None.
        bid_quoted: the best bid level (the very tuple) last written as text by mdc-book's fast path, or None.
        bid_text: its text in a quote line (``price,"bid_size":size``).
        ask_quoted: the same for the best ask.
        ask_text: its text in a quote line (``price,"ask_size":size``).
        template: the fixed text of the book's quote and snapshot lines, as mdc-book's fast path writes them
            (made at the book's first such line of a batch), or None.
    """

    __slots__ = (
        "ask_prices",
        "ask_quoted",
        "ask_text",
        "asks",
        "bid_prices",
        "bid_quoted",
        "bid_text",
        "bids",
        "bucket",
        "frozen",
        "market",
        "model",
        "quoted",
        "template",
        "updates",
    )

    def __init__(self, model: str = LEVEL) -> None:
        self.model = model
        self.bids: list[Level] = []
        self.asks: list[Level] = []
        self.bid_prices: list[Decimal] = []
        self.ask_prices: list[Decimal] = []
        self.frozen = False
        self.market = "normal"
        self.quoted: Top | None = None
        self.updates = 0
        self.bucket: int | None = None
        # A cache of text, keyed by identity: the book holds the level, so the identity is never reused.
        self.bid_quoted: Level | tuple[None, Decimal] | None = None
        self.bid_text = ""
        self.ask_quoted: Level | tuple[None, Decimal] | None = None
        self.ask_text = ""
        self.template: tuple[str, str, str] | None = None

    # ------------------------------------------------------------------ loading and reading

    def load(self, bids: Levels, asks: Levels) -> None:
        """Replace both sides with best-first levels, in the book's current shape."""
        if self.model == POSITION:
            self.bids, self.asks = list(bids), list(asks)
            self.bid_prices, self.ask_prices = [], []
            return
        # Sorted and merged rather than trusted: the book must stay consistent whatever it is given.
        self.bids, self.bid_prices = _by_price(bids)
        self.asks, self.ask_prices = _by_price(asks)

    def levels(self, count: int) -> tuple[Levels, Levels]:
        """The best ``count`` levels of each side (every level when ``count`` is 0)."""
        end = count or None
        if self.model == POSITION:
            return tuple(self.bids[:end]), tuple(self.asks[:end])
        stop = -count - 1 if count else None  # the last ``count`` bids, best (last) first
        return tuple(self.bids[:stop:-1]), tuple(self.asks[:end])

    def top(self) -> Top:
        """The best bid and ask with their sizes."""
        bids, asks = self.bids, self.asks
        bid, bid_size = (bids[0] if self.model == POSITION else bids[-1]) if bids else EMPTY
        ask, ask_size = asks[0] if asks else EMPTY
        return bid, bid_size, ask, ask_size

    def depth(self, side: str) -> int:
        """How many levels ``side`` holds."""
        return len(self.bids if side == "bid" else self.asks)

    # ------------------------------------------------------------------ the price-level model

    def set_level(self, side: str, price: Decimal, size: Decimal, levels: int) -> int:
        """Set the level at ``price`` to ``size``; size 0 removes it (a no-op when it is not there).

        Returns:
            How far the change reached (UNCHANGED ... TOP).
        """
        if self.model != LEVEL:
            self._reshape(LEVEL)
        bid = side == "bid"
        pairs, prices = (self.bids, self.bid_prices) if bid else (self.asks, self.ask_prices)
        index = bisect_left(prices, price)
        count = len(prices)
        if index < count and prices[index] == price:
            if not size:
                del prices[index]
                del pairs[index]
            elif pairs[index][1] == size:
                return UNCHANGED
            else:
                pairs[index] = (prices[index], size)  # the price keeps the text it first came with
        elif size:
            prices.insert(index, price)
            pairs.insert(index, (price, size))
            count += 1
        else:
            return UNCHANGED
        rank = count - 1 - index if bid else index
        if rank == 0:
            return TOP
        if not levels or rank < levels:
            return NEAR
        return DEEP

    # ------------------------------------------------------------------ the position model

    def change_position(self, depth: Change, levels: int) -> int:
        """Apply an ``insert``, ``update`` or positional ``delete``.

        Returns:
            How far the change reached, or INVALID when the position does not exist
            (past the end + 1 for an insert, past the end for the others) or the
            change is incomplete.
        """
        if self.model != POSITION:
            self._reshape(POSITION)
        position, op = depth.position, depth.op
        rows = self.bids if depth.side == "bid" else self.asks
        if position is None or position < 0:
            return INVALID
        if op == "delete":
            if position >= len(rows):
                return INVALID
            del rows[position]
        else:
            price, size = depth.price, depth.size
            if price is None or size is None:
                return INVALID
            if op == "update":
                if position >= len(rows):
                    return INVALID
                row = rows[position]
                if row[0] == price and row[1] == size:
                    return UNCHANGED
                rows[position] = (price, size)
            elif op == "insert":
                if position > len(rows):
                    return INVALID
                rows.insert(position, (price, size))
            else:
                return INVALID
        if position == 0:
            return TOP
        if not levels or position < levels:
            return NEAR
        return DEEP

    # ------------------------------------------------------------------ shapes

    def _reshape(self, model: str) -> None:
        bids, asks = self.levels(0)
        self.model = model
        self.load(bids, asks)


EMPTY: Final[tuple[None, Decimal]] = (None, ZERO)
"""The best level of an empty side."""


def _by_price(levels: Levels) -> tuple[list[Level], list[Decimal]]:
    """Levels by ascending price and the prices; rows at one price (a market-maker feed) add up to one level."""
    merged: dict[Decimal, Level] = {}
    for price, size in levels:
        kept = merged.get(price)
        merged[price] = (price, size) if kept is None else (kept[0], kept[1] + size)
    prices = sorted(merged)
    return [merged[price] for price in prices], prices
