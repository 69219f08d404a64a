"""``mdc-capture --book``: the book collector in the capture shell, and its agreement with ``mdc-book``."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from mdc.core.book import Emission
from mdc.core.events import Depth, Integrity, MarketEvent, Quote, Snapshot, Trade
from mdc.core.provider import RawLine
from mdc.core.timestamps import from_ns
from mdc.io.capture import BookTap

BIN = Path(sys.executable).parent
START = ["--seed", "4", "--start", "2026-11-24T14:30:00Z"]


def _envelope(seq: int) -> dict[str, object]:
    ts = from_ns(1_764_000_000_000_000_000 + seq * 1000)
    return {"symbol": "ES", "ts": ts, "ts_recv": ts, "provider": "ib", "stream": "ib.depth", "seq": seq}


def _row(seq: int, op: str, side: str, position: int, price: str = "0", size: str = "0") -> Depth:  # noqa: PLR0917
    return Depth(**_envelope(seq), side=side, op=op, position=position, price=Decimal(price), size=Decimal(size))  # type: ignore[arg-type]


def _kinds(items: list[MarketEvent | RawLine]) -> list[str]:
    return [
        "raw" if isinstance(item, bytes) else (item.kind if isinstance(item, Integrity) else item.TYPE)
        for item in items
    ]


def test_events_pass_through_with_the_books_events_right_after_their_cause() -> None:
    """Each input comes out unchanged and in order; a top change adds a quote straight after it."""
    tap = BookTap(Emission(levels=5, every=1000))
    trade = Trade(**_envelope(9), price=Decimal("1.5"), size=Decimal(1))  # type: ignore[arg-type]
    batch: list[MarketEvent | RawLine] = [
        _row(1, "insert", "bid", 0, "6712.25", "15"),
        trade,
        b'{"raw":"unparsed"}',
        _row(2, "insert", "ask", 0, "6712.50", "9"),
        _row(3, "insert", "bid", 1, "6712.00", "4"),
    ]
    out = tap(batch)
    assert [item for item in out if not isinstance(item, Quote)] == batch
    assert _kinds(out) == ["depth", "quote", "trade", "raw", "depth", "quote", "depth"]
    quote = out[5]
    assert isinstance(quote, Quote)
    assert (quote.bid_price, quote.ask_price, quote.seq, quote.stream) == (
        Decimal("6712.25"),
        Decimal("6712.50"),
        2,
        "ib.depth",
    )


def test_an_invalid_position_freezes_the_book_until_the_providers_snapshot_resets_it() -> None:
    """depth_invalid + book_frozen after the bad change; later depth is ignored; the next snapshot resets
    the book (book_reset), is not repeated, and quotes resume from it."""
    tap = BookTap(Emission(levels=5, every=1000))
    tap([_row(1, "insert", "bid", 0, "10.00", "5"), _row(2, "insert", "ask", 0, "10.02", "5")])
    out = tap([_row(3, "delete", "bid", 4), _row(4, "update", "ask", 0, "10.01", "7")])
    assert _kinds(out) == ["depth", "depth_invalid", "book_frozen", "depth"]
    snapshot = Snapshot(
        **_envelope(5),  # type: ignore[arg-type]
        bids=((Decimal("9.99"), Decimal(3)),),
        asks=((Decimal("10.03"), Decimal(2)),),
    )
    out = tap([snapshot, _row(6, "update", "bid", 0, "10.00", "1")])
    assert _kinds(out) == ["snapshot", "book_reset", "quote", "depth", "quote"]
    assert out[0] is snapshot
    last = out[-1]
    assert isinstance(last, Quote)
    assert (last.bid_price, last.bid_size, last.ask_price) == (Decimal("10.00"), Decimal(1), Decimal("10.03"))


def test_snapshots_follow_the_count_policy_per_book() -> None:
    """With every=3 a snapshot of the top levels follows every third update of a book."""
    tap = BookTap(Emission(levels=1, every=3))
    rows = [_row(seq, "insert", "bid", 0, f"{10 + seq}.00", "1") for seq in range(1, 8)]
    out = tap(rows)
    snapshots = [item for item in out if isinstance(item, Snapshot)]
    assert [snapshot.seq for snapshot in snapshots] == [3, 6]
    assert snapshots[1].bids == ((Decimal("16.00"), Decimal(1)),)


def _capture(count: int, *extra: str) -> list[dict[str, object]]:
    argv = [str(BIN / "mdc-capture"), "sim", "SPY", "AAPL", *START, "--max-events", str(count), *extra]
    result = subprocess.run(argv, capture_output=True, check=True, timeout=60)
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("model", ["level", "position"])
def test_capture_with_book_adds_exactly_what_mdc_book_makes_of_the_same_depth(model: str) -> None:
    """The provider's events come through unchanged, and the quotes, snapshots and integrity ``--book``
    adds are exactly what ``mdc-book --every N`` writes for the same depth, in the same order."""
    plain = _capture(6000, "--depth-model", model, "--snapshot-every", "50")
    booked = _capture(
        3000,
        "--depth-model",
        model,
        "--book",
        "--snapshot-every",
        "25",
        "--book-levels",
        "5",
        "-o",
        "snapshot-every=50",
    )

    def derived(event: dict[str, object]) -> bool:
        if event["stream"] != "sim.depth" or event["type"] == "depth":
            return False
        return event["type"] != "snapshot" or event not in plain

    source = [event for event in booked if not derived(event)]
    added = [event for event in booked if derived(event)]
    assert source == plain[: len(source)]
    book_input = "".join(json.dumps(event) + "\n" for event in source if event["type"] in ("depth", "snapshot"))
    rebuilt = subprocess.run(
        [str(BIN / "mdc-book"), "--levels", "5", "--every", "25", "-q"],
        input=book_input.encode(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    expected = [json.loads(line) for line in rebuilt.stdout.splitlines()]
    assert sum(event["type"] == "snapshot" for event in added) > 10
    assert sum(event["type"] == "quote" for event in added) > 10
    assert added == expected[: len(added)]
    assert len(expected) - len(added) <= 3  # what --max-events cut after the last provider event


def test_a_bad_snapshot_cadence_is_a_usage_error() -> None:
    """--snapshot-every takes a count or seconds; anything else exits 2 naming the option."""
    result = subprocess.run(
        [str(BIN / "mdc-capture"), "sim", "SPY", "--book", "--snapshot-every", "soon"], capture_output=True, check=False
    )
    assert result.returncode == 2
    assert b"--snapshot-every" in result.stderr
    assert b"'soon' is neither a count of updates (100) nor seconds (5s)" in result.stderr
