"""Stooq daily CSV (SPY, the first 60 rows of a real download) replayed through mdc's core."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ._adapters import read_csv, stooq_daily, validate, wire_text

DAILY = "stooq/spy_us_daily_stooq_head60.csv"


@pytest.mark.conformance
def test_sixty_daily_bars_pass_keeping_their_text(required: Callable[[str], Path]) -> None:
    """60 rows -> 60 1d bars, all pass; every price and volume is written with the CSV's own digits."""
    rows = read_csv(required(DAILY))
    bars = stooq_daily(rows, "SPY")
    assert len(bars) == 60
    counts, _ = validate(bars)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (60, 60, 0, {})
    columns = {"open": "Open", "high": "High", "low": "Low", "close": "Close", "volume": "Volume"}
    assert [{field: wire_text(bar)[field] for field in columns} for bar in bars] == [
        {field: row[column] for field, column in columns.items()} for row in rows
    ]
    # Stooq rounds to 3 places and drops trailing zeros (245.63, 244.3), so "3 decimals" means at most 3.
    places = {len(row[column].partition(".")[2]) for row in rows for column in ("Open", "High", "Low", "Close")}
    assert places == {1, 2, 3}
    assert wire_text(bars[0])["low"] == "245.018"
    # A day starts at midnight New York: 05:00Z before the DST change of 2018-03-11, 04:00Z after.
    assert (bars[0].ts, bars[-1].ts) == ("2018-02-26T05:00:00.000000000Z", "2018-05-21T04:00:00.000000000Z")
