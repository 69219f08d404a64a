"""Polygon REST aggregates and daily open/close (the client's recorded mocks) replayed through mdc's core."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ._adapters import exact_json, polygon_aggregates, polygon_open_close, validate, wire_text

AGGREGATES = "polygon/rest/v2_aggs_*.json"
OPEN_CLOSE = "polygon/rest/v1_open-close_*.json"


@pytest.mark.conformance
def test_aggregates_and_open_close_pass_as_daily_bars(required_glob: Callable[[str, int], list[Path]]) -> None:
    """3 aggregate responses (4 bars) and 1 open/close (1 bar): all 5 pass validation."""
    bars = {
        path.name: polygon_aggregates(exact_json(path.read_text(encoding="utf-8")), "1d")
        for path in required_glob(AGGREGATES, 3)
    }
    # All three are daily: range/1/day, the previous day, and the grouped daily bars.
    assert {name: [(bar.symbol, bar.ts) for bar in made] for name, made in bars.items()} == {
        "v2_aggs_grouped_locale_us_market_stocks_2005-04-04_adjusted_true.json": [
            ("GIK", "2020-10-14T20:00:00.000000000Z")  # the file is named 2005-04-04; the data says otherwise
        ],
        "v2_aggs_ticker_AAPL_prev.json": [("AAPL", "2022-04-26T20:00:00.000000000Z")],
        "v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json": [
            ("AAPL", "2005-04-01T05:00:00.000000000Z"),
            ("AAPL", "2005-04-04T04:00:00.000000000Z"),
        ],
    }
    (path,) = required_glob(OPEN_CLOSE, 1)
    day = polygon_open_close(exact_json(path.read_text(encoding="utf-8")))
    # Named 2005-04-01, the response is for 2021-04-01 (EDT: midnight New York is 04:00Z).
    assert (day.symbol, day.ts, day.vwap, day.trade_count) == ("AAPL", "2021-04-01T04:00:00.000000000Z", None, None)
    every = [bar for made in bars.values() for bar in made] + [day]
    counts, batch = validate(every)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (5, 5, 0, {})
    assert batch.rejects == []


@pytest.mark.conformance
def test_aggregate_numbers_keep_their_text(required: Callable[[str], Path]) -> None:
    """``v`` 642646396.0, ``vw`` 1.469, ``o`` 1.5032 and ``n`` 82132 are written as Polygon wrote them."""
    path = required("polygon/rest/v2_aggs_ticker_AAPL_range_1_day_2005-04-01_2005-04-04.json")
    raw = json.loads(path.read_text(encoding="utf-8"), parse_float=str, parse_int=str)["results"]
    bars = polygon_aggregates(exact_json(path.read_text(encoding="utf-8")), "1d")
    keys = {"o": "open", "h": "high", "l": "low", "c": "close", "v": "volume", "vw": "vwap", "n": "trade_count"}
    assert [{key: wire_text(bar)[field] for key, field in keys.items()} for bar in bars] == [
        {key: result[key] for key in keys} for result in raw
    ]
    assert wire_text(bars[0])["volume"] == "642646396.0"
