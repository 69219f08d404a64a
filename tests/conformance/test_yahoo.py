"""Yahoo Finance chart responses (yahoo-finance2's HTTP recordings) replayed through mdc's core."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest

from ._adapters import read_yahoo, validate, wire_text, yahoo_bars

CHARTS = "yahoo/*.json"


@pytest.mark.conformance
def test_daily_charts_pass_and_the_weekend_window_yields_nothing(
    required_glob: Callable[[str, int], list[Path]],
) -> None:
    """6 responses: 9 daily bars, none skipped, all pass; the 1m weekend window has no timestamps and 0 bars."""
    made = {path.name: yahoo_bars(read_yahoo(path)) for path in required_glob(CHARTS, 6)}
    assert {name: (len(result.bars), result.skipped) for name, result in made.items()} == {
        "chart-AAPL-2020-01-01-to-2020-01-03.json": (1, 0),
        "chart-AAPL-2025-02-01-to-2025-02-02-includePrePost-false-interval-1m.json": (0, 0),
        "chart-BTC-USD-2020-01-01-to-2020-01-03.json": (3, 0),
        "chart-EURUSD=X-2020-01-01-to-2020-01-03.json": (3, 0),
        "chart-GC=F-2020-01-01-to-2020-01-03.json": (1, 0),
        "chart-OCDO.L-2020-01-01-to-2020-01-03.json": (1, 0),
    }
    bars = [bar for result in made.values() for bar in result.bars]
    assert {bar.interval for bar in bars} == {"1d"}
    counts, _ = validate(bars)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (9, 9, 0, {})
    # Yahoo starts a daily bar at the session's open: 09:30 New York, 00:00 UTC (crypto, FX),
    # 00:00 New York (COMEX gold), 08:00 London.
    assert [(bar.symbol, bar.ts[11:16]) for bar in bars if bar.ts.startswith("2020-01-02")] == [
        ("AAPL", "14:30"),
        ("BTC-USD", "00:00"),
        ("EURUSD=X", "00:00"),
        ("GC=F", "05:00"),
        ("OCDO.L", "08:00"),
    ]
    # ts_recv is the HTTP Date of the response: when the recording was made.
    assert {bar.ts_recv[:16] for bar in bars} == {"2025-02-20T11:47"}


@pytest.mark.conformance
def test_prices_keep_yahoo_text_and_zero_volume_passes(required: Callable[[str], Path]) -> None:
    """Yahoo's float-artefact prices (75.0875015258789) are kept digit for digit; FX volume 0 is valid."""
    (aapl,) = yahoo_bars(read_yahoo(required("yahoo/chart-AAPL-2020-01-01-to-2020-01-03.json"))).bars
    assert [wire_text(aapl)[key] for key in ("open", "high", "low", "close", "volume")] == [
        "74.05999755859375",
        "75.1500015258789",
        "73.79750061035156",
        "75.0875015258789",
        "135480400",
    ]
    fx = yahoo_bars(read_yahoo(required("yahoo/chart-EURUSD=X-2020-01-01-to-2020-01-03.json"))).bars
    assert [wire_text(bar)["volume"] for bar in fx] == ["0", "0", "0"]


@pytest.mark.conformance
@pytest.mark.parametrize("field", ["open", "high", "low", "close", "volume"])
def test_a_null_in_the_arrays_skips_and_counts_that_bar(required: Callable[[str], Path], field: str) -> None:
    """A null in any of a row's five arrays drops that row (counted), not the response.

    No recording here has a null, so this nulls one value of the real BTC-USD
    response in memory; Yahoo sends such rows for halted or empty periods.
    """
    recording = read_yahoo(required("yahoo/chart-BTC-USD-2020-01-01-to-2020-01-03.json"))
    damaged = copy.deepcopy(recording)
    damaged["response"]["bodyJson"]["chart"]["result"][0]["indicators"]["quote"][0][field][1] = None
    result = yahoo_bars(damaged)
    assert (len(result.bars), result.skipped) == (2, 1)
    assert [bar.ts[:10] for bar in result.bars] == ["2020-01-01", "2020-01-03"]
    assert result.bars == [bar for index, bar in enumerate(yahoo_bars(recording).bars) if index != 1]
