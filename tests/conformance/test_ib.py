"""Interactive Brokers historical data (ib_async exports recorded by nautilus) replayed through mdc's core."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from mdc.core.codec import decode_line
from mdc.core.events import Trade
from mdc.core.timestamps import NS_PER_MINUTE, to_ns

from ._adapters import ib_bars, ib_quotes, ib_trades, read_ib, validate, wire_text

TRADES = "ib_async/historical_trade_ticks.ndjson.gz"
QUOTES = "ib_async/historical_bid_ask_ticks.ndjson.gz"
BARS = "ib_async/historical_bars.ndjson.gz"
# The recordings do not name their contracts. nautilus's tests label them
# AAPL, which the prices rule out (AAPL traded near 131 in January 2021 and
# 165 in March 2022); the ticks (~6) and the bars (~220) are two other instruments.
TICKS_SYMBOL = "IB-TICKS"
BARS_SYMBOL = "IB-BARS"


@pytest.mark.conformance
def test_ticks_merged_by_time_pass_and_flag_nothing(required: Callable[[str], Path]) -> None:
    """6 trades and 1003 bid/ask ticks, merged by time: 1009 pass, 0 rejects, 0 integrity events.

    No quote in the recording is crossed or locked (checked on the source numbers
    below), so the market collector has nothing to flag; crossed real quotes
    are exercised by the Alpaca recordings.
    """
    trade_objects, quote_objects = read_ib(required(TRADES)), read_ib(required(QUOTES))
    trades, quotes = ib_trades(trade_objects, TICKS_SYMBOL), ib_quotes(quote_objects, TICKS_SYMBOL)
    assert (len(trades), len(quotes)) == (6, 1003)
    assert [tick for tick in quote_objects if tick["priceBid"] >= tick["priceAsk"]] == []
    # IB stamps whole seconds, so the order within a second is lost. A trade is
    # put before the quotes of its second: those may already show its effect. The
    # recording shows why: at 01:47:53 the quotes are bid 6.2x30, then bid 5.92,
    # and the trade is 6.2x30, the bid it took. Quotes first would compare it with
    # 5.92/6.33 (inside the spread, first trade: side unknown); trades first compares
    # it with 6.21/6.3 of 01:47:45 (at or below the bid: sell).
    merged = list(heapq.merge(trades, quotes, key=lambda event: event.ts))
    counts, batch = validate(merged)
    assert (counts.read, counts.passed, counts.rejected, dict(counts.integrity)) == (1009, 1009, 0, {})
    # IB gives no aggressor; the collector infers it from the last quote, else the
    # tick. 6.2 and 6.09 trade at or below the bid then standing (6.21/6.3, 6.09/6.23).
    # The last four come hours after the last quote (02:06:02, 6.15/6.31), which
    # still decides them (mdc does not age quotes): 6.15 and 6.12 at or below the
    # bid sell, 6.16 inside the spread is an uptick (buy), 6.08 sells.
    passed = [decode_line(line).unwrap() for line in batch.lines]
    assert [event.side for event in passed if isinstance(event, Trade)] == [
        "sell",
        "sell",
        "sell",
        "sell",
        "buy",
        "sell",
    ]


@pytest.mark.conformance
def test_tick_numbers_keep_the_json_text(required: Callable[[str], Path]) -> None:
    """IB's JSON floats (6.2, 30.0, 0.99) are written back exactly as they were recorded."""
    trades = ib_trades(read_ib(required(TRADES)), TICKS_SYMBOL)
    assert [(wire_text(trade)["price"], wire_text(trade)["size"]) for trade in trades] == [
        ("6.2", "30.0"),
        ("6.09", "30.0"),
        ("6.15", "57.0"),
        ("6.12", "58.0"),
        ("6.16", "61.0"),
        ("6.08", "30.0"),
    ]
    assert trades[0].ts == "2022-03-02T01:47:53.000000000Z"
    assert (trades[0].exchange, trades[0].conditions) == (None, ())
    first_quote = wire_text(ib_quotes(read_ib(required(QUOTES)), TICKS_SYMBOL)[0])
    assert [first_quote[key] for key in ("bid_price", "bid_size", "ask_price", "ask_size")] == [
        "0.99",
        "1.0",
        "15.3",
        "1.0",
    ]


@pytest.mark.conformance
def test_bars_are_one_minute_bars_in_utc_minus_3(required: Callable[[str], Path]) -> None:
    """405 bars pass; they are 1-minute bars, and read as UTC-3 the busy ones fall in the US regular session."""
    bars = ib_bars(read_ib(required(BARS)), BARS_SYMBOL, "1m")
    assert len(bars) == 405
    counts, _ = validate(bars)
    assert (counts.read, counts.passed, counts.rejected) == (405, 405, 0)
    # 1m: 391 of the 404 gaps are exactly one minute; the rest are whole minutes (IB sends no empty bars).
    gaps = [to_ns(later.ts) - to_ns(earlier.ts) for earlier, later in pairwise(bars)]
    assert (gaps.count(NS_PER_MINUTE), all(gap % NS_PER_MINUTE == 0 for gap in gaps)) == (391, True)
    assert (bars[0].ts, bars[-1].ts) == ("2021-01-05T12:28:00.000000000Z", "2021-01-06T00:42:00.000000000Z")
    # The evidence for UTC-3 (see ib_bars): the 299 bars with 10 or more trades all
    # start within 14:30-20:59 UTC, 09:30-15:59 New York; no bar outside has more than 2.
    busy = [bar.ts for bar in bars if (bar.trade_count or 0) >= 10]
    assert (len(busy), min(busy)[11:16], max(busy)[11:16]) == (299, "14:30", "20:59")
    assert max(bar.trade_count or 0 for bar in bars if not "14:30" <= bar.ts[11:16] < "21:00") == 2
    assert sum(bar.trade_count or 0 for bar in bars) == 11070
    assert sum(bar.volume for bar in bars) == Decimal("17142.0")
    assert [wire_text(bars[3])[key] for key in ("open", "low", "vwap", "volume", "trade_count")] == [
        "218.03",
        "218.02",
        "218.022",
        "9.0",
        "2",
    ]
