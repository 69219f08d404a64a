"""Test-only adapters: third-party recordings -> mdc events.

These are not provider plugins (those come later, with their own parsers and
tests); they are the least code that turns each recording into events so the
conformance tests can replay real data through mdc's core. Rules they keep:

* numbers stay exact: a price or size is built from the number's *text* (the
  CSV cell, or the JSON literal via ``parse_float=Decimal``, which hands over
  the literal as written), never from a float;
* timestamps go through :mod:`mdc.core.timestamps` (``from_ns`` or ``canonical``);
* ``ts_recv`` is the recording's own receive time where it has one (Tardis
  ``local_timestamp``, the HTTP ``Date`` of a Yahoo response), else the event time.

Where a recording surprised us, the adapter says so in a comment.
"""

from __future__ import annotations

import calendar
import csv
import gzip
import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime, time
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from attrs import frozen
from returns.result import Success

from mdc.core.codec import encode_event
from mdc.core.events import Bar, Depth, MarketEvent, Quote, Snapshot, Trade
from mdc.core.pipeline import Batch, Counts, ValidatorState, validate_frames
from mdc.core.timestamps import NS_PER_MINUTE, NS_PER_SECOND, Timestamp, canonical, from_ns
from mdc.core.validate import Policy

NEW_YORK = ZoneInfo("America/New_York")
NS_PER_MICROSECOND = 1_000
NS_PER_MILLISECOND = 1_000_000

Row = Mapping[str, str]
Json = Any  # what json.loads returns; the recordings' shapes are documented per adapter


# --------------------------------------------------------------------------- shared


def exact_json(text: str) -> Json:
    """Parse JSON keeping every non-integer number exact (a Decimal built from its literal)."""
    return json.loads(text, parse_float=Decimal)


def number(value: object) -> Decimal:
    """A Decimal from a JSON int, an exact JSON Decimal or a CSV cell; a float here is a bug in the adapter."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise TypeError(f"not an exact number: {value!r}")
    return Decimal(value)


def timestamp(text: str) -> Timestamp:
    """The canonical form of an RFC 3339 / ISO-8601 time with a zone (raises on anything else)."""
    result = canonical(text)
    if isinstance(result, Success):
        return result.unwrap()
    raise ValueError(f"{text!r} {result.failure()}")


def midnight(day: date, zone: ZoneInfo) -> int:
    """Nanoseconds since the epoch of the start of ``day`` in ``zone``."""
    start = datetime.combine(day, time(), tzinfo=zone)
    return calendar.timegm(start.utctimetuple()) * NS_PER_SECOND


def envelope(
    provider: str, stream: str, symbol: str, ts: Timestamp, ts_recv: Timestamp | None = None
) -> dict[str, Any]:
    """The fields every event shares (``ts_recv`` defaults to ``ts``: the recording has no receive time)."""
    return {
        "symbol": symbol,
        "ts": ts,
        "ts_recv": ts if ts_recv is None else ts_recv,
        "provider": provider,
        "stream": stream,
    }


def ohlcv(values: Iterable[object]) -> dict[str, Decimal]:
    """A bar's ``open, high, low, close, volume`` from five exact numbers in that order."""
    return dict(zip(("open", "high", "low", "close", "volume"), map(number, values), strict=True))


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file with a header line."""
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def validate(events: Iterable[MarketEvent], policy: Policy | None = None) -> tuple[Counts, Batch]:
    """Encode events as lines and run them through ``validate_frames`` from a fresh state, in one batch."""
    frames = [encode_event(event) for event in events]
    state, batch = validate_frames(ValidatorState(), frames, Policy() if policy is None else policy)
    return state.counts, batch


def wire_text(event: MarketEvent) -> dict[str, Json]:
    """The encoded event with every number as the text mdc wrote for it."""
    return json.loads(encode_event(event), parse_float=str, parse_int=str)


# --------------------------------------------------------------------------- Tardis (CSV)


def tardis_trades(rows: Iterable[Row]) -> list[Trade]:
    """``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``; times are µs since the epoch."""
    return [
        Trade(
            **_tardis_envelope(row, "trades"),
            price=Decimal(row["price"]),
            size=Decimal(row["amount"]),
            side=row["side"],  # Tardis writes buy, sell or unknown: mdc's own words
            trade_id=row["id"],
        )
        for row in rows
    ]


def tardis_book(rows: Iterable[Row]) -> list[Snapshot | Depth]:
    """``incremental_book_L2``: snapshot rows -> one Snapshot per timestamp; other rows -> price-level ``set``.

    Tardis writes the *new* amount of a level; ``amount=0`` removes it, which is
    mdc's ``set`` with size 0. A run of ``is_snapshot=true`` rows is a whole book
    (sent at the start and after a reconnect) and replaces the previous one.
    """
    events: list[Snapshot | Depth] = []
    pending: list[Row] = []
    for row in rows:
        if row["is_snapshot"] == "true":
            if pending and pending[0]["timestamp"] != row["timestamp"]:
                events.append(_tardis_snapshot(pending))
                pending = []
            pending.append(row)
            continue
        if pending:
            events.append(_tardis_snapshot(pending))
            pending = []
        events.append(
            Depth(
                **_tardis_envelope(row, "book"),
                side=row["side"],
                op="set",
                price=Decimal(row["price"]),
                size=Decimal(row["amount"]),
            )
        )
    if pending:
        events.append(_tardis_snapshot(pending))
    return events


def _tardis_envelope(row: Row, kind: str) -> dict[str, Any]:
    return envelope(
        "tardis",
        f"{row['exchange']}.{kind}",
        row["symbol"],
        from_ns(int(row["timestamp"]) * NS_PER_MICROSECOND),
        from_ns(int(row["local_timestamp"]) * NS_PER_MICROSECOND),
    )


def _tardis_snapshot(rows: list[Row]) -> Snapshot:
    def levels(side: str) -> list[tuple[Decimal, Decimal]]:
        return [(Decimal(row["price"]), Decimal(row["amount"])) for row in rows if row["side"] == side]

    return Snapshot(
        **_tardis_envelope(rows[0], "book"),
        bids=tuple(sorted(levels("bid"), reverse=True)),
        asks=tuple(sorted(levels("ask"))),
    )


# --------------------------------------------------------------------------- Interactive Brokers (ib_async NDJSON)

IB_BARS_UTC_OFFSET = "-03:00"
"""The zone of ``BarData.date`` in historical_bars (inferred; see :func:`ib_bars`)."""


def read_ib(path: Path) -> list[Json]:
    """The objects of a gzip-compressed ib_async NDJSON export, numbers exact."""
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        return [exact_json(line) for line in stream if line.strip()]


def ib_trades(objects: Iterable[Json], symbol: str) -> list[Trade]:
    """``HistoricalTickLast``: ``time`` (UTC, whole seconds), price, size, exchange, specialConditions.

    IB leaves ``exchange`` and ``specialConditions`` as "" when it has none; they
    become None and (). IB gives no aggressor and no trade id.
    """
    return [
        Trade(
            **envelope("ib", "historical.trades", symbol, timestamp(tick["time"])),
            price=number(tick["price"]),
            size=number(tick["size"]),
            exchange=tick["exchange"] or None,
            conditions=tuple(tick["specialConditions"].split()),
        )
        for tick in objects
    ]


def ib_quotes(objects: Iterable[Json], symbol: str) -> list[Quote]:
    """``HistoricalTickBidAsk``: ``time`` (UTC, whole seconds), priceBid, priceAsk, sizeBid, sizeAsk."""
    return [
        Quote(
            **envelope("ib", "historical.quotes", symbol, timestamp(tick["time"])),
            bid_price=number(tick["priceBid"]),
            bid_size=number(tick["sizeBid"]),
            ask_price=number(tick["priceAsk"]),
            ask_size=number(tick["sizeAsk"]),
        )
        for tick in objects
    ]


def ib_bars(objects: Iterable[Json], symbol: str, interval: str) -> list[Bar]:
    """``BarData``: date, open, high, low, close, volume, average (the VWAP), barCount (trades).

    ``date`` semantics, read off the data: IB labels a bar with its *start*, and
    with ``formatDate=1`` (as here: no offset in the text) in the time zone of
    the TWS session that asked. That zone is not in the recording. The bars of
    2021-01-05 run 09:28-21:42 with the dense, 1-minute block exactly 11:30-17:59
    and a closing print at 18:00 (517 lots in 2 trades): the US regular session,
    09:30-16:00 America/New_York, i.e. 14:30-21:00 UTC, shows as 11:30-18:00, so
    the labels are UTC-3 (:data:`IB_BARS_UTC_OFFSET`). (nautilus, whose test
    recorded these, reads them as UTC; the session shape says otherwise.) IB has
    reported US-stock bar volume in round lots of 100; it is kept as written.
    """
    return [
        Bar(
            **envelope("ib", "historical.bars", symbol, timestamp(bar["date"] + IB_BARS_UTC_OFFSET)),
            interval=interval,
            **ohlcv(bar[key] for key in ("open", "high", "low", "close", "volume")),
            vwap=number(bar["average"]),
            trade_count=bar["barCount"],
        )
        for bar in objects
    ]


# --------------------------------------------------------------------------- Alpaca REST


def read_wrapped(path: Path) -> tuple[str, Json]:
    """An extracted test response ``{"_source_test", "_request_url", "response"}`` -> (URL, body)."""
    recording = exact_json(path.read_text(encoding="utf-8"))
    return recording["_request_url"], recording["response"]


def alpaca_events(url: str, body: Json) -> list[MarketEvent]:
    """Bars, trades, quotes and snapshots of Alpaca's stock (v2) and crypto (v1beta3) market-data API.

    The endpoint is read from the request URL. List endpoints return
    ``{kind: {symbol: [item, ...]}}``, ``/latest`` ones ``{kind: {symbol: item}}``,
    snapshots ``{symbol: {latestTrade, latestQuote, minuteBar, dailyBar, prevDailyBar}}``
    (crypto nests that under ``snapshots``). ``timeframe`` was an f-string
    placeholder in the recorded URLs; the historical bars here are daily (the
    stock ones start at midnight New York, which the test checks) and a latest
    bar is the latest minute bar. Surprises: the crypto snapshot's daily bars
    start at 05:00Z in March 2022 (EDT), i.e. midnight Chicago, not New York; and
    the crypto bars response is the stock one with BTC/USD and ETH/USD written
    over AAPL and TSLA (BTC at 161.51): maintainer-written, but valid.
    """
    path = urlsplit(url).path.rstrip("/")
    asset = "crypto" if "/crypto/" in path else "stocks"
    parts = path.split("/")
    kind = parts[-2] if parts[-1] == "latest" else parts[-1]
    if kind == "snapshots":
        snapshots = body.get("snapshots", body) if asset == "crypto" else body
        return [event for symbol, snapshot in snapshots.items() for event in _alpaca_snapshot(asset, symbol, snapshot)]
    events: list[MarketEvent] = []
    for symbol, items in body[kind].items():
        for item in items if isinstance(items, list) else [items]:
            match kind:
                case "bars":
                    events.append(_alpaca_bar(asset, symbol, item, "1m" if parts[-1] == "latest" else "1d"))
                case "trades":
                    events.append(_alpaca_trade(asset, symbol, item))
                case "quotes":
                    events.append(_alpaca_quote(asset, symbol, item))
                case _:
                    raise ValueError(f"unknown Alpaca endpoint {path}")
    return events


def _alpaca_snapshot(asset: str, symbol: str, snapshot: Json) -> Iterator[MarketEvent]:
    yield _alpaca_trade(asset, symbol, snapshot["latestTrade"])
    yield _alpaca_quote(asset, symbol, snapshot["latestQuote"])
    yield _alpaca_bar(asset, symbol, snapshot["minuteBar"], "1m")
    yield _alpaca_bar(asset, symbol, snapshot["dailyBar"], "1d")
    yield _alpaca_bar(asset, symbol, snapshot["prevDailyBar"], "1d")


def _alpaca_envelope(asset: str, kind: str, symbol: str, item: Json) -> dict[str, Any]:
    return envelope("alpaca", f"{asset}.{kind}", symbol, timestamp(item["t"]))


def _alpaca_bar(asset: str, symbol: str, item: Json, interval: str) -> Bar:
    return Bar(
        **_alpaca_envelope(asset, "bars", symbol, item),
        interval=interval,
        **ohlcv(item[key] for key in "ohlcv"),
        vwap=number(item["vw"]),
        trade_count=item["n"],
    )


_ALPACA_TAKER = {"B": "buy", "S": "sell"}


def _alpaca_trade(asset: str, symbol: str, item: Json) -> Trade:
    # Stock trades carry venue (x), conditions (c) and tape (z, dropped: mdc has no field);
    # crypto trades carry the taker side (tks) instead.
    return Trade(
        **_alpaca_envelope(asset, "trades", symbol, item),
        price=number(item["p"]),
        size=number(item["s"]),
        side=_ALPACA_TAKER.get(item.get("tks", ""), "unknown"),
        exchange=item.get("x"),
        conditions=tuple(item.get("c", ())),
        trade_id=str(item["i"]),
    )


def _alpaca_quote(asset: str, symbol: str, item: Json) -> Quote:
    # Quote conditions (c) and tape (z) have no field in mdc's Quote and are dropped.
    return Quote(
        **_alpaca_envelope(asset, "quotes", symbol, item),
        bid_price=number(item["bp"]),
        bid_size=number(item["bs"]),
        ask_price=number(item["ap"]),
        ask_size=number(item["as"]),
        bid_exchange=item.get("bx"),
        ask_exchange=item.get("ax"),
    )


# --------------------------------------------------------------------------- Polygon REST


def polygon_aggregates(body: Json, interval: str) -> list[Bar]:
    """``/v2/aggs/...``: ``results`` of ``{T?, o, h, l, c, v, vw, n, t}``; ``t`` is ms since the epoch.

    The symbol is ``T`` (grouped, prev) or the response's ``ticker`` (range).
    ``t`` is kept as given although Polygon does not use it consistently: the
    range endpoint starts its daily bars at midnight New York, prev and grouped
    stamp them 16:00 New York, the close.
    """
    return [
        Bar(
            **envelope(
                "polygon", "aggs", result.get("T", body.get("ticker")), from_ns(result["t"] * NS_PER_MILLISECOND)
            ),
            interval=interval,
            **ohlcv(result[key] for key in "ohlcv"),
            vwap=number(result["vw"]) if "vw" in result else None,
            trade_count=result.get("n"),
        )
        for result in body.get("results", [])
    ]


def polygon_open_close(body: Json) -> Bar:
    """``/v1/open-close``: one day's ``open, high, low, close, volume`` for ``symbol`` on ``from``.

    It has no timestamp, only the date; the bar starts at midnight New York
    that day, as the daily aggregates do. No VWAP or trade count; ``preMarket``
    and ``afterHours`` (single prices) have no place in a bar and are left out.
    """
    start = from_ns(midnight(date.fromisoformat(body["from"]), NEW_YORK))
    return Bar(
        **envelope("polygon", "open-close", body["symbol"], start),
        interval="1d",
        **ohlcv(body[key] for key in ("open", "high", "low", "close", "volume")),
    )


# --------------------------------------------------------------------------- Yahoo chart


@frozen
class YahooBars:
    """The bars of one chart response and how many rows were skipped for holding nulls."""

    bars: list[Bar]
    skipped: int


def read_yahoo(path: Path) -> Json:
    """A recorded exchange ``{request, response: {status, headers, bodyJson}}``, numbers exact."""
    return exact_json(path.read_text(encoding="utf-8"))


def yahoo_bars(recording: Json) -> YahooBars:
    """``/v8/finance/chart``: ``timestamp[i]`` (s, bar start) with ``indicators.quote[0].{open,...}[i]``.

    Yahoo pads its arrays with null where a period has no data; such a row is
    no bar (a null volume included: unknown is not zero), so it is skipped and
    counted. A response for a window without trading (the weekend 1m request)
    has no ``timestamp`` key at all and ``quote: [{}]``: zero bars. ``ts_recv``
    is the response's HTTP ``Date`` (when the recording was made).
    """
    response = recording["response"]
    received = parsedate_to_datetime(response["headers"]["date"])
    ts_recv = from_ns(calendar.timegm(received.utctimetuple()) * NS_PER_SECOND)
    bars: list[Bar] = []
    skipped = 0
    for result in response["bodyJson"]["chart"]["result"]:
        quote = result["indicators"]["quote"][0]
        for index, seconds in enumerate(result.get("timestamp", [])):
            values = [quote[name][index] for name in ("open", "high", "low", "close", "volume")]
            if any(value is None for value in values):
                skipped += 1
                continue
            bars.append(
                Bar(
                    **envelope("yahoo", "chart", result["meta"]["symbol"], from_ns(seconds * NS_PER_SECOND), ts_recv),
                    interval=result["meta"]["dataGranularity"],
                    **ohlcv(values),
                )
            )
    return YahooBars(bars, skipped)


# --------------------------------------------------------------------------- Stooq daily CSV


def stooq_daily(rows: Iterable[Row], symbol: str) -> list[Bar]:
    """``Date,Open,High,Low,Close,Volume``; a day's bar starts at midnight New York (a US listing)."""
    return [
        Bar(
            **envelope("stooq", "daily", symbol, from_ns(midnight(date.fromisoformat(row["Date"]), NEW_YORK))),
            interval="1d",
            **ohlcv(row[key] for key in ("Open", "High", "Low", "Close", "Volume")),
        )
        for row in rows
    ]


# --------------------------------------------------------------------------- Lean minute data (zip of CSV)


def read_lean(path: Path) -> tuple[date, list[list[str]]]:
    """The day (from ``YYYYMMDD_*.zip``) and rows of a Lean data zip holding one headerless CSV.

    The CSVs end without a newline after the last row, so counting newlines
    (``wc -l``) gives one row fewer than there are.
    """
    name = path.name
    day = date(int(name[0:4]), int(name[4:6]), int(name[6:8]))
    with zipfile.ZipFile(path) as archive:
        (member,) = archive.namelist()
        text = archive.read(member).decode("ascii")
    return day, list(csv.reader(io.StringIO(text)))


def _lean_price(text: str) -> Decimal:
    # Lean stores equity prices as integers in deci-cents (price x 10000); the
    # shift is exact and keeps the four places (6448000 -> 644.8000).
    return Decimal(text).scaleb(-4)


def lean_trade_bars(day: date, rows: Iterable[list[str]], symbol: str) -> list[Bar]:
    """``ms,open,high,low,close,volume``; ``ms`` since midnight New York is the minute's start."""
    base = midnight(day, NEW_YORK)
    return [
        Bar(
            **envelope("lean", "minute.trade", symbol, from_ns(base + int(ms) * NS_PER_MILLISECOND)),
            interval="1m",
            open=_lean_price(open_),
            high=_lean_price(high),
            low=_lean_price(low),
            close=_lean_price(close),
            volume=Decimal(volume),
        )
        for ms, open_, high, low, close, volume in rows
    ]


def lean_quotes(day: date, rows: Iterable[list[str]], symbol: str) -> list[Quote]:
    """``ms,bid o/h/l/c,bid size,ask o/h/l/c,ask size`` -> the BBO at the close of each minute.

    The bid and ask closes are the last quote of the minute ``[ms, ms + 1m)``,
    so the quote is stamped at the minute's *end*: stamping it at the start would
    show a price before it was quoted.
    """
    base = midnight(day, NEW_YORK)
    return [
        Quote(
            **envelope("lean", "minute.quote", symbol, from_ns(base + int(ms) * NS_PER_MILLISECOND + NS_PER_MINUTE)),
            bid_price=_lean_price(bid_close),
            bid_size=Decimal(bid_size),
            ask_price=_lean_price(ask_close),
            ask_size=Decimal(ask_size),
        )
        for ms, _, _, _, bid_close, bid_size, _, _, _, ask_close, ask_size in rows
    ]
