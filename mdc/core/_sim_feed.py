"""How the simulator writes its book's changes as events, in either depth model.

Private to :mod:`mdc.core.simulator`. The book (:mod:`mdc.core._sim_book`)
decides what happens; these functions turn it into trades, quotes, depth
changes and snapshots with the next sequence number of their stream. Depth
changes are written *around* the book's own update: a level that appears or
changes is written after it is in the book's lists, one that goes is written
while it is still there, so positions are those of a book rebuilt event by event.

They are functions on a :class:`~mdc.core._sim_book.Book` rather than methods
to keep the wire formats apart from the market model.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Final

from .events import Depth, Quote, Snapshot, Trade

if TYPE_CHECKING:
    from ._sim_book import Book

BID: Final = 0
ASK: Final = 1
SIDE_NAMES: Final = ("bid", "ask")
SHARES_PER_LOT: Final = 100
_ODD_LOT_CONDITIONS: Final = ("I",)
"""The CTA/UTP sale condition of an odd-lot trade."""
_NO_SHARES: Final = Decimal(0)


def write_insert(book: Book, side: int, index: int) -> None:
    """A level appeared at ``index`` of ``side`` (already in the book)."""
    _write_level(book, side, "insert" if book.positional else "set", index)


def write_update(book: Book, side: int, index: int) -> None:
    """The level at ``index`` of ``side`` changed size (already in the book)."""
    _write_level(book, side, "update" if book.positional else "set", index)


def write_delete(book: Book, side: int, index: int) -> None:
    """The level at ``index`` of ``side`` is about to go (still in the book)."""
    book.depth_seq += 1
    book.depth_changes += 1
    if book.positional:
        position: int | None = index
        op, price, size = "delete", None, None
    else:
        position = None
        price = book.price(book.ticks[side][index])
        # Some price-level feeds remove a level by sending size 0 rather than a delete; send both forms.
        op, size = ("set", _NO_SHARES) if book.depth_seq % 4 == 0 else ("delete", None)
    _append_depth(book, side, op, position, price, size)


def write_quote(book: Book, bid: int, bid_size: int, ask: int, ask_size: int) -> None:
    """A quote: the book's top, or a fault's version of it."""
    book.quote_seq += 1
    book.out.append(
        Quote(
            symbol=book.symbol,
            ts=book.ts,
            ts_recv=book.ts_recv,
            provider=book.provider,
            stream=book.quote_stream,
            seq=book.quote_seq,
            bid_price=book.prices.get(bid) or book.price(bid),
            bid_size=book.volumes.get(bid_size) or book.volume(bid_size),
            ask_price=book.prices.get(ask) or book.price(ask),
            ask_size=book.volumes.get(ask_size) or book.volume(ask_size),
        )
    )


def write_trade(book: Book, side: int, size: int, exchange: str) -> None:
    """A trade of ``size`` against the top of ``side`` (before the book changes): a buy when it hits the ask."""
    book.trade_seq += 1
    book.trade_count += 1
    trade = Trade(
        symbol=book.symbol,
        ts=book.ts,
        ts_recv=book.ts_recv,
        provider=book.provider,
        stream=book.trade_stream,
        seq=book.trade_seq,
        price=book.price(book.ticks[side][0]),
        size=book.volume(size),
        side="buy" if side == ASK else "sell",
        exchange=exchange,
        conditions=_ODD_LOT_CONDITIONS if size < SHARES_PER_LOT else (),
        trade_id=str(book.trade_count),
    )
    book.out.append(trade)
    book.last_trades = (book.last_trades[-1], trade) if book.last_trades else (trade,)


def write_snapshot(book: Book) -> None:
    """The whole book, with the sequence number of the last depth change in it."""
    book.depth_changes = 0
    price, volume = book.price, book.volume
    book.out.append(
        Snapshot(
            symbol=book.symbol,
            ts=book.ts,
            ts_recv=book.ts_recv,
            provider=book.provider,
            stream=book.depth_stream,
            seq=book.depth_seq,
            bids=tuple((price(t), volume(s)) for t, s in zip(book.ticks[BID], book.sizes[BID], strict=True)),
            asks=tuple((price(t), volume(s)) for t, s in zip(book.ticks[ASK], book.sizes[ASK], strict=True)),
        )
    )


def _write_level(book: Book, side: int, op: str, index: int) -> None:
    ticks = book.ticks[side][index]
    shares = book.sizes[side][index]
    book.depth_seq += 1
    book.depth_changes += 1
    _append_depth(
        book,
        side,
        op,
        index if book.positional else None,
        book.prices.get(ticks) or book.price(ticks),
        book.volumes.get(shares) or book.volume(shares),
    )


def _append_depth(  # noqa: PLR0917 - the fields of one depth change, in wire order
    book: Book, side: int, op: str, position: int | None, price: Decimal | None, size: Decimal | None
) -> None:
    book.out.append(
        Depth(
            symbol=book.symbol,
            ts=book.ts,
            ts_recv=book.ts_recv,
            provider=book.provider,
            stream=book.depth_stream,
            seq=book.depth_seq,
            side=SIDE_NAMES[side],
            op=op,
            position=position,
            price=price,
            size=size,
        )
    )
