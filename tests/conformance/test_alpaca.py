"""Alpaca REST market-data responses (extracted from alpaca-py's tests) replayed through mdc's core."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mdc.core.events import Bar, Quote, Trade
from mdc.core.timestamps import NS_PER_SECOND, to_ns

from ._adapters import NEW_YORK, Json, alpaca_events, read_wrapped, validate, wire_text

STOCK = "alpaca/rest/stock_data__*.json"
CRYPTO = "alpaca/rest/crypto_data__*.json"

# Per file: events made, passed, rejected, integrity events by kind. The empty and
# not-found responses yield nothing. The crossed quotes are real: AAPL at 04:00
# New York, pre-market, bid 159.52 over ask 158.65 (twice: one crossed episode,
# one flag), and in the multi-symbol file AAPL and TSLA (840.75 over 830) each once.
# They pass and are flagged; with the default policy a crossed quote is never a reject.
EXPECTED = {
    "crypto_data__test_crypto_get_snapshot.json": (10, 10, 0, {}),
    "crypto_data__test_crypto_latest_bar.json": (1, 1, 0, {}),
    "crypto_data__test_get_crypto_bars.json": (2, 2, 0, {}),
    "crypto_data__test_get_crypto_latest_quote.json": (1, 1, 0, {}),
    "crypto_data__test_get_crypto_latest_trade.json": (1, 1, 0, {}),
    "crypto_data__test_get_crypto_quotes.json": (2, 2, 0, {}),
    "crypto_data__test_get_crypto_trades.json": (2, 2, 0, {}),
    "stock_data__test_get_bars.json": (2, 2, 0, {}),
    "stock_data__test_get_bars_desc.json": (3, 3, 0, {}),
    "stock_data__test_get_bars_multi_empty_response.json": (0, 0, 0, {}),
    "stock_data__test_get_bars_single_empty_response.json": (0, 0, 0, {}),
    "stock_data__test_get_latest_quote.json": (1, 1, 0, {}),
    "stock_data__test_get_latest_quote_multi_empty_response.json": (0, 0, 0, {}),
    "stock_data__test_get_latest_trade.json": (1, 1, 0, {}),
    "stock_data__test_get_latest_trade_multi_not_found.json": (0, 0, 0, {}),
    "stock_data__test_get_multisymbol_latest_trade.json": (2, 2, 0, {}),
    "stock_data__test_get_quotes.json": (2, 2, 0, {"crossed_market": 1}),
    "stock_data__test_get_quotes_multi_empty_response.json": (0, 0, 0, {}),
    "stock_data__test_get_snapshot.json": (5, 5, 0, {}),
    "stock_data__test_get_snapshot_multi_empty_response.json": (0, 0, 0, {}),
    "stock_data__test_get_trades.json": (2, 2, 0, {}),
    "stock_data__test_get_trades_multi_empty_response.json": (0, 0, 0, {}),
    "stock_data__test_multi_stock_latest_bar.json": (2, 2, 0, {}),
    "stock_data__test_multisymbol_get_bars.json": (2, 2, 0, {}),
    "stock_data__test_multisymbol_get_trades.json": (2, 2, 0, {}),
    "stock_data__test_multisymbol_quotes.json": (2, 2, 0, {"crossed_market": 2}),
    "stock_data__test_stock_latest_bar.json": (1, 1, 0, {}),
    "stock_data__test_stock_latest_bar_multi_empty_response.json": (0, 0, 0, {}),
}


def _files(required_glob: Callable[[str, int], list[Path]]) -> list[Path]:
    return required_glob(STOCK, 21) + required_glob(CRYPTO, 7)


@pytest.mark.conformance
def test_every_response_passes_validation(required_glob: Callable[[str, int], list[Path]]) -> None:
    """Bars, trades, quotes and snapshots of 28 responses: 46 events, all pass; 3 crossed quotes flagged."""
    figures = {}
    for path in _files(required_glob):
        events = alpaca_events(*read_wrapped(path))
        counts, _ = validate(events)
        figures[path.name] = (len(events), counts.passed, counts.rejected, dict(counts.integrity))
    assert figures == EXPECTED
    assert sum(made for made, *_ in figures.values()) == 46


def _times(value: Json) -> Iterator[str]:
    """Every ``t`` in a response, wherever it is nested."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "t" and isinstance(item, str):
                yield item
            else:
                yield from _times(item)
    elif isinstance(value, list):
        for item in value:
            yield from _times(item)


_RFC3339_UTC = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")


@pytest.mark.conformance
def test_rfc3339_times_become_canonical_keeping_every_digit(required_glob: Callable[[str, int], list[Path]]) -> None:
    """Each ``t`` (0 to 9 fraction digits, Z) becomes ``ts`` with its digits padded to nine, none lost."""
    expected: Counter[str] = Counter()
    made: Counter[str] = Counter()
    for path in _files(required_glob):
        url, body = read_wrapped(path)
        for text in _times(body):
            match = _RFC3339_UTC.fullmatch(text)
            assert match is not None, text
            expected[f"{match[1]}.{(match[2] or '').ljust(9, '0')}Z"] += 1
        made.update(event.ts for event in alpaca_events(url, body))
    assert made == expected
    assert made["2022-03-18T14:02:43.651613184Z"] == 1  # nanoseconds: the latest AAPL quote
    assert made["2022-03-09T05:00:16.910000000Z"] == 1  # ".91Z": the second AAPL trade
    assert made["2022-05-26T11:47:18.443471360Z"] == 1  # eight digits, crypto quote


@pytest.mark.conformance
def test_fields_map_as_alpaca_documents_them(required: Callable[[str], Path]) -> None:
    """Trade venue, conditions and id, quote venues, crypto taker side, bar VWAP and count, exact text."""
    (trade, quote, minute, daily, previous) = alpaca_events(
        *read_wrapped(required("alpaca/rest/stock_data__test_get_snapshot.json"))
    )
    assert isinstance(trade, Trade)
    assert isinstance(quote, Quote)
    assert (trade.exchange, trade.conditions, trade.trade_id, trade.side) == ("D", ("@",), "39884", "unknown")
    assert wire_text(trade)["price"] == "161.1998"
    assert (quote.bid_exchange, quote.ask_exchange) == ("K", "K")
    assert [(bar.interval, wire_text(bar)["vwap"], bar.trade_count) for bar in (minute, daily, previous)] == [
        ("1m", "161.448073", 1880),
        ("1d", "160.683364", 186143),
        ("1d", "159.425082", 609067),
    ]
    crypto = alpaca_events(*read_wrapped(required("alpaca/rest/crypto_data__test_get_crypto_trades.json")))
    assert [(event.symbol, getattr(event, "side", None), wire_text(event)["size"]) for event in crypto] == [
        ("BTC/USD", "buy", "0.00315427"),
        ("ETH/USD", "sell", "0.001"),
    ]


@pytest.mark.conformance
def test_daily_stock_bars_start_at_midnight_new_york(required_glob: Callable[[str, int], list[Path]]) -> None:
    """The 1d interval the adapter assigns holds: every daily stock bar starts at 00:00 New York (EST or EDT)."""
    daily = [
        event
        for path in required_glob(STOCK, 21)
        for event in alpaca_events(*read_wrapped(path))
        if isinstance(event, Bar) and event.interval == "1d"
    ]
    # 4 in winter (EST, 05:00Z), 5 in summer (EDT, 04:00Z)
    assert Counter(event.ts[11:] for event in daily) == {"05:00:00.000000000Z": 4, "04:00:00.000000000Z": 5}
    assert {_new_york_clock(event.ts) for event in daily} == {"00:00"}
    minute = [
        event
        for path in required_glob(STOCK, 21)
        for event in alpaca_events(*read_wrapped(path))
        if isinstance(event, Bar) and event.interval == "1m"
    ]
    assert [event.ts for event in minute] == [
        "2022-03-18T14:32:00.000000000Z",
        "2022-07-26T20:50:00.000000000Z",
        "2022-07-26T19:59:00.000000000Z",
        "2022-07-26T20:50:00.000000000Z",
    ]


def _new_york_clock(ts: str) -> str:
    """HH:MM in New York of a canonical timestamp."""
    local = datetime.fromtimestamp(to_ns(ts) // NS_PER_SECOND, UTC).astimezone(NEW_YORK)
    return f"{local.hour:02d}:{local.minute:02d}"
