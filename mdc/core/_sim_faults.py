"""The simulator's faults: the ways a real feed goes wrong, injected on request.

Private to :mod:`mdc.core.simulator`. A fault adds output after a burst and
never touches the book itself, so the stream is back to normal right after it.
Lines that validation rejects (bad price, symbol or timestamp) carry no
sequence number, so they leave the sequence collector alone and each fault
shows up as exactly the finding it is meant to cause.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Final

import attrs

from ._sim_book import Book
from ._sim_feed import ASK, BID, write_quote
from .codec import encode_event
from .events import MarketEvent, Trade
from .timestamps import Timestamp

if TYPE_CHECKING:
    from .simulator import RandomSource

FAULTS: Final[dict[str, str]] = {
    "gap": "skip sequence numbers on a stream (sequence_gap)",
    "out_of_order": "resend the trade before the last one, with its older seq (out_of_order)",
    "duplicate": "resend the last trade, same seq (duplicate)",
    "crossed": "one quote with bid and ask swapped, so bid > ask (crossed_market)",
    "locked": "one quote with bid == ask (locked_market)",
    "garbage": "a line that is not JSON, sometimes not even UTF-8 (not_json, invalid_utf8)",
    "truncated": "an event's JSON cut short (not_json)",
    "bad_price": "a trade with price 0 or below (price_positive)",
    "bad_symbol": 'an event whose symbol is "../../etc" (symbol_grammar)',
    "bad_ts": "an event whose ts has no time zone (ts_format)",
}
"""Every fault the simulator knows, with what it does and the finding it causes."""

BAD_SYMBOL: Final = "../../etc"

_GARBAGE: Final = (
    b"<html><head><title>502 Bad Gateway</title></head></html>",
    b"HEARTBEAT",
    b'{"type":"trade","symbol":,}',
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03",  # a gzip header: the stream was compressed after all
    b"\xff\xfe{\x00}\x00",  # UTF-16 with a byte-order mark
    b"\xc3\x28\xa0\xa1 latin-1 or worse",
)


def inject(book: Book, faults: tuple[str, ...], rate: float, rng: RandomSource, first: int) -> None:
    """Roll every enabled fault once per event of the burst that starts at ``out[first]``.

    At most one fault fires per roll, so each has probability ``rate`` per event
    while ``rate * len(faults) <= 1`` (and ``1 / len(faults)`` beyond that).

    Args:
        book: the book that just ran the burst (its ``out`` ends with the burst).
        faults: the enabled faults, in a fixed order.
        rate: the per-event probability of each fault.
        rng: the random source.
        first: the index in ``book.out`` of the burst's first event.
    """
    out = book.out
    last = out[-1]
    if isinstance(last, bytes) or rate <= 0.0:
        return
    threshold = rate * len(faults)
    for _ in range(len(out) - first):
        roll = rng.random()
        if roll < threshold:
            _APPLY[faults[min(int(roll / rate), len(faults) - 1)]](book, rng, last)


def _gap(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    skipped = 1 + int(rng.random() * 3)
    stream = int(rng.random() * 3)
    if stream == 0:
        book.trade_seq += skipped
    elif stream == 1:
        book.quote_seq += skipped
    else:
        book.depth_seq += skipped


def _out_of_order(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    if len(book.last_trades) > 1:
        book.out.append(attrs.evolve(book.last_trades[0], ts_recv=book.ts_recv))


def _duplicate(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    if book.last_trades:
        book.out.append(book.last_trades[-1])


def _crossed(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    bid, bid_size, ask, ask_size = book.quoted
    write_quote(book, ask, ask_size, bid, bid_size)
    write_quote(book, *book.quoted)


def _locked(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    _bid, bid_size, ask, ask_size = book.quoted
    write_quote(book, ask, bid_size, ask, ask_size)
    write_quote(book, *book.quoted)


def _garbage(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    book.out.append(_GARBAGE[int(rng.random() * len(_GARBAGE))])


def _truncated(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    line = encode_event(event)
    book.out.append(line[: 1 + int(rng.random() * (len(line) - 1))])


def _bad_price(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    side = BID if rng.random() < 0.5 else ASK
    price = book.price(book.ticks[side][0])
    book.out.append(
        Trade(
            symbol=book.symbol,
            ts=book.ts,
            ts_recv=book.ts_recv,
            provider=book.provider,
            stream=book.trade_stream,
            price=-price if rng.random() < 0.5 else Decimal(0) * price,
            size=Decimal(100),
            side="buy" if side == ASK else "sell",
        )
    )


def _bad_symbol(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    book.out.append(attrs.evolve(event, symbol=BAD_SYMBOL, seq=None))


def _bad_ts(book: Book, rng: RandomSource, event: MarketEvent) -> None:
    # Events hold canonical timestamps, so a zone-less one only exists as text.
    book.out.append(encode_event(attrs.evolve(event, ts=Timestamp(event.ts.removesuffix("Z")), seq=None)))


_APPLY: Final[dict[str, Callable[[Book, RandomSource, MarketEvent], None]]] = {
    "gap": _gap,
    "out_of_order": _out_of_order,
    "duplicate": _duplicate,
    "crossed": _crossed,
    "locked": _locked,
    "garbage": _garbage,
    "truncated": _truncated,
    "bad_price": _bad_price,
    "bad_symbol": _bad_symbol,
    "bad_ts": _bad_ts,
}
