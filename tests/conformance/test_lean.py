"""QuantConnect Lean minute data (AAPL, 2014-06-05, AlgoSeek) replayed through mdc's core."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from mdc.core.validate import CrossedQuotes, Policy

from ._adapters import lean_quotes, lean_trade_bars, read_lean, validate, wire_text

TRADE = "lean/equity/usa/minute/aapl/20140605_trade.zip"
QUOTE = "lean/equity/usa/minute/aapl/20140605_quote.zip"


@pytest.mark.conformance
def test_trade_minutes_pass_as_one_minute_bars(required: Callable[[str], Path]) -> None:
    """686 minute rows (not 685: the file has no newline after its last row) -> 686 1m bars, all pass."""
    day, rows = read_lean(required(TRADE))
    bars = lean_trade_bars(day, rows, "AAPL")
    assert len(bars) == 686
    counts, _ = validate(bars)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (686, 686, 0, {})
    # ms since midnight New York: 15300000 is 04:15 EDT, 08:15Z; the last, 71940000, is 19:59 EDT.
    assert (bars[0].ts, bars[-1].ts) == ("2014-06-05T08:15:00.000000000Z", "2014-06-05T23:59:00.000000000Z")
    assert {bar.interval for bar in bars} == {"1m"}
    # Deci-cents: 6448000 is 644.8000, written with Lean's four places.
    assert [wire_text(bars[0])[key] for key in ("open", "volume")] == ["644.8000", "90"]
    assert sum(bar.volume for bar in bars) == Decimal(10850763)


@pytest.mark.conformance
def test_quote_minutes_give_uncrossed_quotes_at_each_minute_close(required: Callable[[str], Path]) -> None:
    """830 rows -> 830 quotes from the bid/ask closes; all pass, none crossed or locked (so none flagged)."""
    day, rows = read_lean(required(QUOTE))
    assert len(rows) == 830
    # Checked on the source integers, independently of mdc: bid close < ask close in every minute.
    assert [row for row in rows if int(row[4]) >= int(row[9])] == []
    quotes = lean_quotes(day, rows, "AAPL")
    counts, _ = validate(quotes)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (830, 830, 0, {})
    strict, _ = validate(quotes, Policy(crossed=CrossedQuotes.REJECT))
    assert (strict.passed, strict.rejected) == (830, 0)
    # Row 14400000 (04:00 EDT) closes at 04:01 EDT: bid 644.0600 x 100, ask 646.0000 x 100.
    first = wire_text(quotes[0])
    assert [first[key] for key in ("ts", "bid_price", "bid_size", "ask_price", "ask_size")] == [
        "2014-06-05T08:01:00.000000000Z",
        "644.0600",
        "100",
        "646.0000",
        "100",
    ]
    assert quotes[-1].ts == "2014-06-06T00:01:00.000000000Z"
