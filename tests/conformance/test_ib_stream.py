"""Real IB recordings (ib_async objects, recorded by nautilus) through the ib provider's own normalisation.

The recordings are JSON exports of ib_async's ``HistoricalTickLast``,
``HistoricalTickBidAsk`` and ``BarData``. Here they are rebuilt as those
ib_async objects, numbers as the doubles IB's API delivers (``json.loads``
reads them as floats, as ib_async's decoder does), and handed to the same
functions that normalise live tick-by-tick data (:mod:`mdc_provider_ib.parse`),
so the exactness of ``Decimal(repr(double))`` is checked on real IB numbers.
(tests/conformance/test_ib.py replays the same files through mdc's core with
their JSON text kept; both must agree.)
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ib_async import BarData, HistoricalTickBidAsk, HistoricalTickLast, TickAttribBidAsk, TickAttribLast
from mdc_provider_ib import parse

from mdc.core.events import Bar, Quote, Trade

from ._adapters import ib_bars, ib_quotes, ib_trades, read_ib, validate

TRADES = "ib_async/historical_trade_ticks.ndjson.gz"
QUOTES = "ib_async/historical_bid_ask_ticks.ndjson.gz"
BARS = "ib_async/historical_bars.ndjson.gz"
RECEIVED = 1_700_000_000_000_000_000
BARS_ZONE = timezone(timedelta(hours=-3))  # see _adapters.ib_bars: the recording's TWS session was UTC-3


def _objects(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [json.loads(line) for line in stream if line.strip()]


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _trades(path: Path, symbol: str) -> list[Trade]:
    events = []
    for item in _objects(path):
        tick = HistoricalTickLast(
            _time(item["time"]),
            TickAttribLast(**item["tickAttribLast"]),
            item["price"],
            item["size"],
            item["exchange"],
            item["specialConditions"],
        )
        event = parse.trade(tick, symbol=symbol, stream="historical.trades", received_ns=RECEIVED)
        assert isinstance(event, Trade)
        events.append(event)
    return events


def _quotes(path: Path, symbol: str) -> list[Quote]:
    return [
        parse.quote(
            HistoricalTickBidAsk(
                _time(item["time"]),
                TickAttribBidAsk(**item["tickAttribBidAsk"]),
                item["priceBid"],
                item["priceAsk"],
                item["sizeBid"],
                item["sizeAsk"],
            ),
            symbol=symbol,
            stream="historical.quotes",
            received_ns=RECEIVED,
        )
        for item in _objects(path)
    ]


def _bars(path: Path, symbol: str) -> list[Bar]:
    events = []
    for item in _objects(path):
        bar = BarData(
            datetime.fromisoformat(item["date"]).replace(tzinfo=BARS_ZONE),
            item["open"],
            item["high"],
            item["low"],
            item["close"],
            item["volume"],
            item["average"],
            item["barCount"],
        )
        event = parse.historical_bar(bar, interval="1m", symbol=symbol, stream="historical.bars", received_ns=RECEIVED)
        assert isinstance(event, Bar)
        events.append(event)
    return events


def _numbers(event: Trade | Quote | Bar, *names: str) -> tuple[object, ...]:
    return tuple(getattr(event, name) for name in names)


@pytest.mark.conformance
def test_trade_ticks(required: Callable[[str], Path]) -> None:
    """6 trades: prices and sizes exact from the doubles, IB's whole-second times, no venue, no conditions."""
    trades = _trades(required(TRADES), "IB-TICKS")
    assert [(str(t.price), str(t.size)) for t in trades] == [
        ("6.2", "30.0"),
        ("6.09", "30.0"),
        ("6.15", "57.0"),
        ("6.12", "58.0"),
        ("6.16", "61.0"),
        ("6.08", "30.0"),
    ]
    assert (trades[0].ts, trades[-1].ts) == ("2022-03-02T01:47:53.000000000Z", "2022-03-02T06:07:20.000000000Z")
    assert {(t.exchange, t.conditions, t.ts_recv) for t in trades} == {(None, (), "2023-11-14T22:13:20.000000000Z")}


@pytest.mark.conformance
def test_bid_ask_ticks(required: Callable[[str], Path]) -> None:
    """1003 quotes, every number exact; the first is 0.99 x 1.0 / 15.3 x 1.0, none crossed, none empty."""
    quotes = _quotes(required(QUOTES), "IB-TICKS")
    assert len(quotes) == 1003
    first = quotes[0]
    assert (first.ts, str(first.bid_price), str(first.bid_size), str(first.ask_price), str(first.ask_size)) == (
        "2022-03-01T23:10:03.000000000Z",
        "0.99",
        "1.0",
        "15.3",
        "1.0",
    )
    assert all(q.bid_price is not None and q.ask_price is not None and q.bid_price < q.ask_price for q in quotes)
    assert (sum(q.bid_size for q in quotes), sum(q.ask_size for q in quotes)) == (
        Decimal("61293.0"),
        Decimal("73077.0"),
    )


@pytest.mark.conformance
def test_bars(required: Callable[[str], Path]) -> None:
    """405 one-minute bars, starts in UTC, OHLCV/VWAP exact, 11,070 trades and 17,142 lots in all."""
    bars = _bars(required(BARS), "IB-BARS")
    assert len(bars) == 405
    assert (bars[0].ts, bars[-1].ts) == ("2021-01-05T12:28:00.000000000Z", "2021-01-06T00:42:00.000000000Z")
    assert _numbers(bars[3], "open", "low", "vwap", "volume", "trade_count") == (
        Decimal("218.03"),
        Decimal("218.02"),
        Decimal("218.022"),
        Decimal("9.0"),
        2,
    )
    assert (sum(bar.trade_count or 0 for bar in bars), sum(bar.volume for bar in bars)) == (11070, Decimal("17142.0"))


@pytest.mark.conformance
def test_same_values_as_the_json_text(required: Callable[[str], Path]) -> None:
    """Through doubles and repr, every price and size equals the JSON text read exactly (the core's adapters)."""

    def strip(events: list[Any]) -> list[tuple[object, ...]]:
        names = ("ts", "price", "size", "bid_price", "bid_size", "ask_price", "ask_size", "open", "high", "low")
        return [
            tuple(str(getattr(event, name, "")) for name in (*names, "close", "volume", "vwap")) for event in events
        ]

    assert strip(_trades(required(TRADES), "X")) == strip(ib_trades(read_ib(required(TRADES)), "X"))
    assert strip(_quotes(required(QUOTES), "X")) == strip(ib_quotes(read_ib(required(QUOTES)), "X"))
    assert strip(_bars(required(BARS), "X")) == strip(ib_bars(read_ib(required(BARS)), "X", "1m"))


@pytest.mark.conformance
def test_normalised_events_validate(required: Callable[[str], Path]) -> None:
    """Everything the provider's normalisation made passes mdc-validate's rules: 1414 events, 0 rejects."""
    events = [
        *_trades(required(TRADES), "IB-TICKS"),
        *_quotes(required(QUOTES), "IB-TICKS"),
        *_bars(required(BARS), "IB-BARS"),
    ]
    events.sort(key=lambda event: (event.symbol, event.ts))
    counts, _ = validate(events)
    assert (counts.read, counts.passed, counts.rejected) == (1414, 1414, 0)
