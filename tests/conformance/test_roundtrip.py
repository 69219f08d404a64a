"""Every adapter's events survive mdc's codec: ``decode_line(encode_event(e)) == Success(e)``, byte-stable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from returns.result import Success

from mdc.core.codec import decode_line, encode_event
from mdc.core.events import MarketEvent

from . import _adapters as adapt

Required = Callable[[str], Path]
RequiredGlob = Callable[[str, int], list[Path]]


def _tardis(required: Required, _: RequiredGlob) -> list[MarketEvent]:
    return [
        *adapt.tardis_trades(adapt.read_csv(required("trades/tardis_bitmex_trades_XBTUSD.csv"))),
        *adapt.tardis_book(adapt.read_csv(required("l2/tardis_deribit_incremental_book_L2_BTC-PERPETUAL.csv"))),
    ]


def _ib(required: Required, _: RequiredGlob) -> list[MarketEvent]:
    return [
        *adapt.ib_trades(adapt.read_ib(required("ib_async/historical_trade_ticks.ndjson.gz")), "IB-TICKS"),
        *adapt.ib_quotes(adapt.read_ib(required("ib_async/historical_bid_ask_ticks.ndjson.gz")), "IB-TICKS"),
        *adapt.ib_bars(adapt.read_ib(required("ib_async/historical_bars.ndjson.gz")), "IB-BARS", "1m"),
    ]


def _alpaca(_: Required, required_glob: RequiredGlob) -> list[MarketEvent]:
    paths = required_glob("alpaca/rest/stock_data__*.json", 21) + required_glob("alpaca/rest/crypto_data__*.json", 7)
    return [event for path in paths for event in adapt.alpaca_events(*adapt.read_wrapped(path))]


def _polygon(_: Required, required_glob: RequiredGlob) -> list[MarketEvent]:
    return [
        *(
            bar
            for path in required_glob("polygon/rest/v2_aggs_*.json", 3)
            for bar in adapt.polygon_aggregates(adapt.exact_json(path.read_text(encoding="utf-8")), "1d")
        ),
        *(
            adapt.polygon_open_close(adapt.exact_json(path.read_text(encoding="utf-8")))
            for path in required_glob("polygon/rest/v1_open-close_*.json", 1)
        ),
    ]


def _yahoo(_: Required, required_glob: RequiredGlob) -> list[MarketEvent]:
    return [bar for path in required_glob("yahoo/*.json", 6) for bar in adapt.yahoo_bars(adapt.read_yahoo(path)).bars]


def _stooq(required: Required, _: RequiredGlob) -> list[MarketEvent]:
    return list(adapt.stooq_daily(adapt.read_csv(required("stooq/spy_us_daily_stooq_head60.csv")), "SPY"))


def _lean(required: Required, _: RequiredGlob) -> list[MarketEvent]:
    trade_day, trade_rows = adapt.read_lean(required("lean/equity/usa/minute/aapl/20140605_trade.zip"))
    quote_day, quote_rows = adapt.read_lean(required("lean/equity/usa/minute/aapl/20140605_quote.zip"))
    return [
        *adapt.lean_trade_bars(trade_day, trade_rows, "AAPL"),
        *adapt.lean_quotes(quote_day, quote_rows, "AAPL"),
    ]


SOURCES = {
    "tardis": (_tardis, 11),
    "ib": (_ib, 1414),
    "alpaca": (_alpaca, 46),
    "polygon": (_polygon, 5),
    "yahoo": (_yahoo, 9),
    "stooq": (_stooq, 60),
    "lean": (_lean, 1516),
}


@pytest.mark.conformance
@pytest.mark.parametrize("source", list(SOURCES))
def test_every_event_round_trips_through_the_codec(
    required: Required, required_glob: RequiredGlob, source: str
) -> None:
    """Each event decodes back equal to itself, and re-encoding the decoded event gives the same bytes."""
    load, count = SOURCES[source]
    events = load(required, required_glob)
    assert len(events) == count
    for event in events:
        line = encode_event(event)
        decoded = decode_line(line)
        assert decoded == Success(event), line
        # Decimal equality is numeric (644.8 == 644.8000); the bytes show no digit was lost either.
        assert encode_event(decoded.unwrap()) == line
