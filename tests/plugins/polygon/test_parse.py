"""Polygon frames -> mdc events: every message type, exact numbers and times, rejects that keep the raw text."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mdc_provider_polygon.parse import Parsed, StatusMessage, epoch_ns, parse_frame

from mdc.core.codec import encode_event
from mdc.core.events import Bar, Quote, Trade
from mdc.core.provider import ProviderReject

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED_NS = 1_767_623_400_500_000_000
RECEIVED = "2026-01-05T14:30:00.500000000Z"
STREAM = "polygon.stocks"


def documented(name: str) -> bytes:
    """One frame of documented.json, as the documentation writes it (numbers untouched)."""
    frames = msgspec.json.decode((FIXTURES / "documented.json").read_bytes(), type=dict[str, msgspec.Raw])
    return bytes(frames[name])


def parse(frame: str | bytes) -> Parsed:
    return parse_frame(frame, RECEIVED_NS, STREAM)


def test_documented_trade_becomes_a_trade() -> None:
    """The trades page's example: exchange and conditions as the integers' text, trade id kept, no seq."""
    assert parse(documented("trade")) == Parsed(
        events=(
            Trade(
                symbol="MSFT",
                ts="2018-09-04T04:53:38.784000000Z",
                ts_recv=RECEIVED,
                provider="polygon",
                stream=STREAM,
                seq=None,
                price=Decimal("114.125"),
                size=Decimal(100),
                exchange="4",
                conditions=("0", "12"),
                trade_id="12345",
            ),
        )
    )


def test_documented_quote_becomes_a_quote() -> None:
    """The quotes page's example: both sides with their exchanges; sizes as Polygon writes them."""
    assert parse(documented("quote")).events == (
        Quote(
            symbol="MSFT",
            ts="2018-09-04T04:53:38.784000000Z",
            ts_recv=RECEIVED,
            provider="polygon",
            stream=STREAM,
            bid_price=Decimal("114.125"),
            bid_size=Decimal(100),
            ask_price=Decimal("114.128"),
            ask_size=Decimal(160),
            bid_exchange="4",
            ask_exchange="7",
        ),
    )


def test_documented_second_aggregate_becomes_a_1s_bar_at_its_start() -> None:
    """``A``: interval 1s, ts = ``s`` (the window start), vwap = ``vw`` (not the day's ``a``)."""
    assert parse(documented("second_aggregate")).events == (
        Bar(
            symbol="SPCE",
            ts="2021-01-08T22:27:48.000000000Z",
            ts_recv=RECEIVED,
            provider="polygon",
            stream=STREAM,
            interval="1s",
            open=Decimal("25.39"),
            high=Decimal("25.39"),
            low=Decimal("25.39"),
            close=Decimal("25.39"),
            volume=Decimal(200),
            vwap=Decimal("25.3981"),
        ),
    )


def test_documented_minute_aggregate_becomes_a_1m_bar_at_its_start() -> None:
    """``AM``: interval 1m, ts = ``s``, prices below one dollar exact."""
    (bar,) = parse(documented("minute_aggregate")).events
    assert isinstance(bar, Bar)
    assert (bar.symbol, bar.interval, bar.ts) == ("GTE", "1m", "2021-01-08T22:24:00.000000000Z")
    assert (bar.open, bar.high, bar.low, bar.close) == tuple(map(Decimal, ("0.4488", "0.4489", "0.4486", "0.4486")))
    assert (bar.volume, bar.vwap, bar.trade_count) == (Decimal(4110), Decimal("0.4488"), None)


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("connected", "connected", "Connected Successfully"),
        ("auth_success", "auth_success", "authenticated"),
        ("auth_failed", "auth_failed", "authentication failed"),
        ("auth_timeout", "auth_timeout", "No authentication request received."),
        ("subscribed", "success", "subscribed to: T.MSFT"),
        ("not_authorized", "error", "not authorized"),
    ],
)
def test_status_messages_are_handed_to_the_protocol(name: str, status: str, message: str) -> None:
    """A status message is no event and no reject: it comes out as a StatusMessage."""
    assert parse(documented(name)) == Parsed(statuses=(StatusMessage(status, message),))


def test_prices_keep_the_text_polygon_wrote() -> None:
    """451.10 stays 451.10 (a Decimal from the literal, never a float), in the event and in the NDJSON line."""
    frame = (
        '[{"ev":"T","sym":"SPY","p":451.10,"s":100.0,"t":1767623400000},'
        '{"ev":"Q","sym":"SPY","bp":0.10,"bs":1,"ap":0.1000,"as":3,"t":1767623400000}]'
    )
    trade, quote = parse(frame).events
    assert isinstance(trade, Trade)
    assert isinstance(quote, Quote)
    assert (str(trade.price), str(trade.size), str(quote.bid_price), str(quote.ask_price)) == (
        "451.10",
        "100.0",
        "0.10",
        "0.1000",
    )
    assert b'"price":451.10,"size":100.0' in encode_event(trade)


@pytest.mark.parametrize(
    ("t", "ts"),
    [
        (1767623400123, "2026-01-05T14:30:00.123000000Z"),  # milliseconds, as the stocks channels document
        (1767623400123456, "2026-01-05T14:30:00.123456000Z"),  # microseconds (the LULD example)
        (1767623400123456789, "2026-01-05T14:30:00.123456789Z"),  # nanoseconds, kept to the last digit
    ],
)
def test_timestamps_convert_exactly_from_each_unit(t: int, ts: str) -> None:
    """ms, us and ns epoch integers all land on the exact nanosecond (integer arithmetic, no float)."""
    (trade,) = parse(f'[{{"ev":"T","sym":"SPY","p":1,"s":1,"t":{t}}}]').events
    assert trade.ts == ts


def test_epoch_unit_boundaries() -> None:
    """Below 10**14 milliseconds, below 10**17 microseconds, else nanoseconds."""
    assert [epoch_ns(value) for value in (10**14 - 1, 10**14, 10**17 - 1, 10**17)] == [
        (10**14 - 1) * 10**6,
        10**17,
        (10**17 - 1) * 1000,
        10**17,
    ]


def test_a_side_without_a_price_is_empty() -> None:
    """bp 0 (or no bp) means no bid: bid_price null and bid_size 0, as mdc's quote wants an empty side."""
    frame = (
        '[{"ev":"Q","sym":"SPY","bp":0,"bs":0,"ap":590.13,"as":2,"t":1767623400000},'
        '{"ev":"Q","sym":"SPY","bp":590.1,"bs":4,"t":1767623400001}]'
    )
    first, second = parse(frame).events
    assert isinstance(first, Quote)
    assert isinstance(second, Quote)
    assert (first.bid_price, first.bid_size, first.ask_price, first.ask_size) == (None, 0, Decimal("590.13"), 2)
    assert (second.bid_price, second.bid_size, second.ask_price, second.ask_size) == (Decimal("590.1"), 4, None, 0)


def test_a_frame_keeps_its_order_across_types() -> None:
    """Trades, quotes, bars and statuses mixed in one frame come out in the frame's order."""
    frame = (
        '[{"ev":"T","sym":"A","p":1,"s":1,"t":1},{"ev":"status","status":"success","message":"hi"},'
        '{"ev":"AM","sym":"B","o":1,"h":1,"l":1,"c":1,"v":1,"s":60000},{"ev":"Q","sym":"C","t":2}]'
    )
    parsed = parse(frame)
    assert [(type(event).__name__, event.symbol) for event in parsed.events] == [
        ("Trade", "A"),
        ("Bar", "B"),
        ("Quote", "C"),
    ]
    assert parsed.statuses == (StatusMessage("success", "hi"),)


def test_an_integer_trade_id_becomes_text() -> None:
    """``i`` is a string in the spec; an integer one is kept as its text rather than rejected."""
    (trade,) = parse('[{"ev":"T","sym":"SPY","i":42,"p":1,"s":1,"t":1}]').events
    assert isinstance(trade, Trade)
    assert trade.trade_id == "42"


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("this is not JSON", "not a JSON array of Polygon messages: JSON is malformed"),
        ('{"ev":"T","sym":"SPY"}', "not a JSON array of Polygon messages: Expected `array`, got `object`"),
        ("[", "not a JSON array of Polygon messages: Input data was truncated"),
    ],
)
def test_a_frame_that_is_no_array_is_one_reject_with_its_text(frame: str, reason: str) -> None:
    """Garbage frames are rejected whole, with the text as received."""
    parsed = parse(frame)
    assert (parsed.events, parsed.statuses) == ((), ())
    (reject,) = parsed.rejects
    assert reject.raw == frame
    assert reject.reason.startswith(reason)


def test_bad_messages_are_rejected_one_by_one_and_the_rest_still_count() -> None:
    """Each bad element is a reject holding its own raw text; the good trade around them is emitted."""
    bad = [
        '{"ev":"T","sym":"SPY","p":"a lot","s":1,"t":1}',
        '{"ev":"T","sym":"SPY","s":1,"t":1}',
        '{"ev":"T","sym":"SPY","p":1,"s":1,"t":1.5}',
        '{"ev":"LULD","T":"SPY","h":1,"l":1}',
        '{"sym":"SPY"}',
        "7",
        '{"ev":"T","sym":"../../etc","p":1,"s":1,"t":1}',
        '{"ev":"T","sym":"SPY","p":1,"s":1,"t":-1}',
    ]
    frame = "[" + ",".join([bad[0], '{"ev":"T","sym":"SPY","p":2,"s":3,"t":4}', *bad[1:]]) + "]"
    parsed = parse(frame)
    assert [(event.symbol, event.price) for event in parsed.events if isinstance(event, Trade)] == [("SPY", 2)]
    assert [reject.raw for reject in parsed.rejects] == bad
    assert [reject.reason for reject in parsed.rejects] == [
        "bad T message: Invalid decimal string - at `$.p`",
        "bad T message: Object missing required field `p`",
        "bad T message: Expected `int`, got `float` - at `$.t`",
        "unknown event type 'LULD'",
        "no event type (ev)",
        "not a JSON object: Expected `object`, got `int`",
        'bad T message: symbol must not contain ".." at `$.sym`',
        "bad T message: Expected `int` >= 0 - at `$.t`",
    ]


def test_a_binary_frame_is_rejected_not_raised() -> None:
    """Bytes that are no UTF-8 JSON become one reject (the text decoded with replacement characters)."""
    (reject,) = parse(b"\x00\xffbinary").rejects
    assert reject.raw == "\x00\ufffdbinary"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=12,
)
MESSAGE = st.fixed_dictionaries(
    {"ev": st.sampled_from(["T", "Q", "A", "AM", "status", "X"])},
    optional={
        key: JSON | st.integers(min_value=0, max_value=2**63) | st.sampled_from(["SPY", "BRK.B", ""])
        for key in ("sym", "p", "s", "t", "x", "i", "c", "bp", "bs", "ap", "as", "o", "h", "l", "v", "status")
    },
)


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_input_is_parsed_without_raising(frame: bytes | str) -> None:
    """Arbitrary bytes or text never raise."""
    assert isinstance(parse(frame), Parsed)


@given(st.lists(MESSAGE | JSON, max_size=8))
def test_every_message_of_an_array_is_accounted_for(messages: list[object]) -> None:
    """In a JSON array each element becomes exactly one event, status or reject."""
    parsed = parse(json.dumps(messages))
    assert len(parsed.events) + len(parsed.statuses) + len(parsed.rejects) == len(messages)
    assert all(isinstance(reject, ProviderReject) and reject.raw for reject in parsed.rejects)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=0, max_value=10**6))
def test_any_price_literal_survives_exactly(price: Decimal) -> None:
    """The Decimal equals the literal and keeps its digits (trailing zeros included)."""
    literal = f"{price:f}"
    (trade,) = parse(f'[{{"ev":"T","sym":"SPY","p":{literal},"s":1,"t":1}}]').events
    assert isinstance(trade, Trade)
    assert f"{trade.price:f}" == literal
