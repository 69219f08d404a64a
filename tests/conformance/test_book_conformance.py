"""The Tardis Deribit L2 recording rebuilt through mdc's book (mdc.core.book): never crossed, exactly as sent."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from mdc.core.book import BookState, Emission, apply
from mdc.core.events import Integrity, MarketEvent, Quote, Snapshot

from ._adapters import read_csv, tardis_book

BOOK = "l2/tardis_deribit_incremental_book_L2_BTC-PERPETUAL.csv"


def _rebuild(events: list[MarketEvent]) -> tuple[BookState, list[MarketEvent]]:
    """Step by step, asserting after each event that the book is neither crossed nor locked."""
    state, everything = BookState(Emission(levels=0, every=1)), []
    for event in events:
        state, outputs = apply(state, [event])
        everything += outputs
        for book in state.books.values():
            assert not (book.bids and book.asks and book.bids[0][0] >= book.asks[0][0]), event
    assert [found for found in everything if isinstance(found, Integrity)] == []
    return state, everything


@pytest.mark.conformance
def test_deribit_snapshot_then_incrementals_rebuild_a_sound_book(required: Callable[[str], Path]) -> None:
    """The snapshot rows, then the same rows re-sent as incrementals with the best ask's amount 0 (a delete).

    The recording holds its snapshot only (see test_tardis.py), so the incremental
    path is fed the real rows again, 1 ms later, as Tardis writes updates.
    """
    rows = read_csv(required(BOOK))
    later = [
        {**row, "is_snapshot": "false", "timestamp": str(int(row["timestamp"]) + 1000)}
        | ({"amount": "0"} if index == 0 else {})
        for index, row in enumerate(rows)
    ]
    events: list[MarketEvent] = list(tardis_book(rows + later))
    state, outputs = _rebuild(events)
    (book,) = state.books.values()
    assert book.bids == ()
    assert [(str(price), str(size)) for price, size in book.asks] == [
        (row["price"], row["amount"]) for row in sorted(rows[1:], key=lambda row: Decimal(row["price"]))
    ]
    snapshots = [event for event in outputs if isinstance(event, Snapshot)]
    assert len(snapshots) == len(events)  # --every 1: one per input
    quotes = [event for event in outputs if isinstance(event, Quote)]
    assert [(quote.ask_price, quote.seq) for quote in quotes][-1] == (Decimal("6422"), None)
