"""Alpaca frames -> events: every message type, exact prices and times, and rejects that keep the raw text."""

from __future__ import annotations

import doctest
import json
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mdc_provider_alpaca import options, parse, protocol
from mdc_provider_alpaca.parse import Parsed, Streams, parse_frame
from mdc_provider_alpaca.wire import ServerError, Subscription, Success

from mdc.core.codec import encode_event
from mdc.core.events import Bar, Luld, Quote, Status, Trade, TradeCancel, TradeCorrection
from mdc.core.timestamps import Timestamp, to_ns

RECEIVED_NS = to_ns("2026-01-05T14:30:00.000000001Z")
RECEIVED = Timestamp("2026-01-05T14:30:00.000000001Z")
STREAMS = Streams.of("iex")
ENVELOPE: dict[str, Any] = {"ts_recv": RECEIVED, "provider": "alpaca", "stream": "alpaca.iex"}


def parsed(*messages: dict[str, Any] | str) -> Parsed:
    """Parse one frame holding these messages (dicts are encoded, strings go in verbatim)."""
    parts = [message if isinstance(message, str) else json.dumps(message) for message in messages]
    return parse_frame("[" + ",".join(parts) + "]", RECEIVED_NS, STREAMS)


def only(*messages: dict[str, Any] | str) -> object:
    """The single event a frame gives (and that it gives nothing else)."""
    result = parsed(*messages)
    assert (result.controls, result.rejects) == ((), ()), result
    (event,) = result.events
    return event


def test_a_trade_becomes_a_trade_event() -> None:
    """The docs' trade: price, size, exchange, conditions and id; the tape is left out."""
    message = (
        '{"T":"t","i":96921,"S":"AAPL","x":"D","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z","c":["@","I"],"z":"C"}'
    )
    assert only(message) == Trade(
        symbol="AAPL",
        ts=Timestamp("2021-02-22T15:51:44.208000000Z"),
        price=Decimal("126.55"),
        size=Decimal(1),
        exchange="D",
        conditions=("@", "I"),
        trade_id="96921",
        **ENVELOPE,
    )


def test_a_quote_becomes_a_quote_event() -> None:
    """The docs' quote: both sides with their exchanges, nanoseconds kept."""
    message = (
        '{"T":"q","S":"AMD","bx":"U","bp":87.66,"bs":1,"ax":"Q","ap":87.68,"as":4,'
        '"t":"2021-02-22T15:51:45.335689322Z","c":["R"],"z":"C"}'
    )
    assert only(message) == Quote(
        symbol="AMD",
        ts=Timestamp("2021-02-22T15:51:45.335689322Z"),
        bid_price=Decimal("87.66"),
        bid_size=Decimal(1),
        ask_price=Decimal("87.68"),
        ask_size=Decimal(4),
        bid_exchange="U",
        ask_exchange="Q",
        **ENVELOPE,
    )


def test_a_quote_price_of_zero_is_an_empty_side() -> None:
    """bp 0 (no bid) becomes bid_price null with its size, which mdc-validate then accepts."""
    message = '{"T":"q","S":"SPY","bp":0,"bs":0,"ap":451.12,"as":1,"t":"2024-01-18T15:30:45.2Z"}'
    event = only(message)
    assert isinstance(event, Quote)
    assert (event.bid_price, event.bid_size, event.ask_price) == (None, Decimal(0), Decimal("451.12"))


BAR = (
    '"S":"SPY","o":388.985,"h":389.13,"l":388.975,"c":389.12,"v":49378,"n":461,"vw":389.062639,'
    '"t":"2021-02-22T19:15:00Z"'
)


@pytest.mark.parametrize(
    ("kind", "interval", "stream"),
    [("b", "1m", "alpaca.iex"), ("u", "1m", "alpaca.iex.updated_bars"), ("d", "1d", "alpaca.iex")],
)
def test_bars_carry_their_interval_and_updated_bars_their_own_stream(kind: str, interval: str, stream: str) -> None:
    """b is a 1m bar, d the day's 1d bar, u a 1m bar on alpaca.FEED.updated_bars; vwap and count kept."""
    assert only(f'{{"T":"{kind}",{BAR}}}') == Bar(
        symbol="SPY",
        ts=Timestamp("2021-02-22T19:15:00.000000000Z"),
        ts_recv=RECEIVED,
        provider="alpaca",
        stream=stream,
        interval=interval,
        open=Decimal("388.985"),
        high=Decimal("389.13"),
        low=Decimal("388.975"),
        close=Decimal("389.12"),
        volume=Decimal(49378),
        vwap=Decimal("389.062639"),
        trade_count=461,
    )


def test_a_trading_status_becomes_a_status_event() -> None:
    """Status and reason codes with their words, as the tape writes them."""
    message = {
        "T": "s",
        "S": "AAPL",
        "sc": "H",
        "sm": "Trading Halt",
        "rc": "T12",
        "rm": "Trading Halted; For information requested by NASDAQ",
        "t": "2021-02-22T19:15:00Z",
        "z": "C",
    }
    assert only(message) == Status(
        symbol="AAPL",
        ts=Timestamp("2021-02-22T19:15:00.000000000Z"),
        status="H",
        message="Trading Halt",
        reason="T12",
        reason_message="Trading Halted; For information requested by NASDAQ",
        **ENVELOPE,
    )


def test_an_empty_reason_code_is_no_reason() -> None:
    """rc "" (a resumption has no reason) becomes reason null."""
    event = only({"T": "s", "S": "AAPL", "sc": "T", "sm": "Trading Resumption", "rc": "", "t": "2021-02-22T19:25:00Z"})
    assert isinstance(event, Status)
    assert event.reason is None


def test_a_luld_becomes_a_luld_event() -> None:
    """The docs' LULD: both bands and the indicator."""
    message = '{"T":"l","S":"IONM","u":3.24,"d":2.65,"i":"B","t":"2023-04-06T13:34:45.565004401Z","z":"C"}'
    assert only(message) == Luld(
        symbol="IONM",
        ts=Timestamp("2023-04-06T13:34:45.565004401Z"),
        limit_up=Decimal("3.24"),
        limit_down=Decimal("2.65"),
        indicator="B",
        **ENVELOPE,
    )


def test_a_correction_becomes_a_trade_correction_event() -> None:
    """The docs' correction: original and corrected id, price, size and conditions."""
    message = (
        '{"T":"c","S":"EEM","x":"M","oi":52983525033527,"op":39.1582,"os":440000,"oc":[" ","7"],'
        '"ci":52983525034326,"cp":39.1809,"cs":440000,"cc":[" ","7"],"z":"B","t":"2023-04-06T14:25:06.542305024Z"}'
    )
    assert only(message) == TradeCorrection(
        symbol="EEM",
        ts=Timestamp("2023-04-06T14:25:06.542305024Z"),
        original_id="52983525033527",
        original_price=Decimal("39.1582"),
        original_size=Decimal(440000),
        original_conditions=(" ", "7"),
        corrected_id="52983525034326",
        corrected_price=Decimal("39.1809"),
        corrected_size=Decimal(440000),
        corrected_conditions=(" ", "7"),
        exchange="M",
        **ENVELOPE,
    )


@pytest.mark.parametrize(("code", "action"), [("C", "cancel"), ("E", "error")])
def test_a_cancel_or_error_becomes_a_trade_cancel_event(code: str, action: str) -> None:
    """a = C is a cancel, a = E an error; the trade's id, price, size and venue are kept."""
    message = (
        f'{{"T":"x","S":"GOOGL","i":465,"x":"D","p":105.31,"s":300,"a":"{code}","z":"C",'
        '"t":"2023-04-06T13:15:42.83540958Z"}'
    )
    assert only(message) == TradeCancel(
        symbol="GOOGL",
        ts=Timestamp("2023-04-06T13:15:42.835409580Z"),
        action=action,
        trade_id="465",
        price=Decimal("105.31"),
        size=Decimal(300),
        exchange="D",
        **ENVELOPE,
    )


@pytest.mark.parametrize("price", ["451.10", "0.0001", "126.550", "1E+2", "99999999.99999999"])
def test_prices_keep_the_text_they_came_in_with(price: str) -> None:
    """A price is the Decimal of its JSON literal (msgspec reads the text, not a float): 451.10 stays 451.10."""
    event = only(f'{{"T":"t","S":"SPY","p":{price},"s":1,"t":"2024-01-18T15:30:45Z"}}')
    assert isinstance(event, Trade)
    assert event.price.as_tuple() == Decimal(price).as_tuple()
    assert f'"price":{Decimal(price):f}'.encode() in encode_event(event)


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("2021-02-22T15:51:45.335689322Z", "2021-02-22T15:51:45.335689322Z"),
        ("2023-04-06T13:15:42.83540958Z", "2023-04-06T13:15:42.835409580Z"),
        ("2021-02-22T15:51:44.208Z", "2021-02-22T15:51:44.208000000Z"),
        ("2021-02-22T19:15:00Z", "2021-02-22T19:15:00.000000000Z"),
        ("2021-02-22T14:15:00.000000007-05:00", "2021-02-22T19:15:00.000000007Z"),
        ("2024-02-29T23:59:59.999999999Z", "2024-02-29T23:59:59.999999999Z"),
    ],
)
def test_timestamps_keep_every_nanosecond(written: str, canonical: str) -> None:
    """RFC 3339 times of any precision become canonical UTC with nine digits, nothing rounded."""
    event = only({"T": "t", "S": "SPY", "p": 1, "s": 1, "t": written})
    assert isinstance(event, Trade)
    assert event.ts == canonical


def test_ts_recv_is_the_receive_time_given() -> None:
    """Every event of a frame carries the receive time the caller passed."""
    result = parsed(
        {"T": "t", "S": "A", "p": 1, "s": 1, "t": "2024-01-18T15:30:45Z"},
        {"T": "l", "S": "A", "u": 2, "d": 1, "t": "2024-01-18T15:30:45Z"},
    )
    assert {event.ts_recv for event in result.events} == {RECEIVED}


def test_control_messages_go_to_the_protocol() -> None:
    """success, error and subscription are controls, not events nor rejects."""
    result = parsed(
        {"T": "success", "msg": "connected"},
        {"T": "error", "code": 402, "msg": "auth failed"},
        {"T": "subscription", "trades": ["AAPL"], "quotes": [], "cancelErrors": ["AAPL"]},
    )
    assert result.events == result.rejects == ()
    assert result.controls == (
        Success(msg="connected"),
        ServerError(code=402, msg="auth failed"),
        Subscription(trades=("AAPL",), cancel_errors=("AAPL",)),
    )


GOOD = '{"T":"t","S":"AAPL","i":3,"p":126.56,"s":2,"t":"2021-02-22T15:51:44.300Z"}'


@pytest.mark.parametrize(
    ("frame", "raw", "reason"),
    [
        ("<html>502 Bad Gateway</html>", "<html>502 Bad Gateway</html>", "not JSON"),
        ('[{"T":"t","S":"AAPL"', '[{"T":"t","S":"AAPL"', "not JSON"),
        ("", "", "not JSON"),
        ('{"T":"t"}', '{"T":"t"}', "not a JSON array of messages (got an object)"),
        ("42", "42", "not a JSON array of messages (got a number)"),
        ("[42]", "42", "not a JSON object (got a number)"),
        ('[{"S":"AAPL"}]', '{"S":"AAPL"}', "no message type (T)"),
        ('[{"T":7}]', '{"T":7}', "message type T is not a string (got a number)"),
        ('[{"T":"zz"}]', '{"T":"zz"}', "unknown message type T='zz'"),
        ('[{"T":"o","S":"BTC/USD"}]', '{"T":"o","S":"BTC/USD"}', parse.NOT_MAPPED["o"]),
        ('[{"T":"i","S":"INAQU"}]', '{"T":"i","S":"INAQU"}', parse.NOT_MAPPED["i"]),
        (
            '[{"T":"t","S":"A","p":1,"s":1}]',
            '{"T":"t","S":"A","p":1,"s":1}',
            "bad trade (t): Object missing required field `t`",
        ),
        (
            '[{"T":"t","S":1,"p":1,"s":1,"t":"2021-02-22T15:51:44Z"}]',
            '{"T":"t","S":1,"p":1,"s":1,"t":"2021-02-22T15:51:44Z"}',
            "bad trade (t): Expected `str`, got `int` - at `$.S`",
        ),
        (
            '[{"T":"t","S":"A","p":1.5,"s":1,"t":"2021-02-30T15:51:44Z"}]',
            '{"T":"t","S":"A","p":1.5,"s":1,"t":"2021-02-30T15:51:44Z"}',
            "bad trade (t): t names no real date and time (got '2021-02-30T15:51:44Z')",
        ),
        (
            '[{"T":"q","S":"A","bp":"NaN","bs":1,"ap":2,"as":1,"t":"2021-02-22T15:51:44Z"}]',
            '{"T":"q","S":"A","bp":"NaN","bs":1,"ap":2,"as":1,"t":"2021-02-22T15:51:44Z"}',
            "bad quote (q): bp is not a finite number (got NaN)",
        ),
        (
            '[{"T":"x","S":"A","a":"Q","t":"2021-02-22T15:51:44Z"}]',
            '{"T":"x","S":"A","a":"Q","t":"2021-02-22T15:51:44Z"}',
            "bad cancel (x): a must be C (cancel) or E (error) (got 'Q')",
        ),
        (
            '[{"T":"l","S":"../etc","u":2,"d":1,"t":"2021-02-22T15:51:44Z"}]',
            '{"T":"l","S":"../etc","u":2,"d":1,"t":"2021-02-22T15:51:44Z"}',
            "bad LULD (l): S symbol must not contain \"..\" (got '../etc')",
        ),
    ],
)
def test_what_cannot_be_understood_is_rejected_with_its_raw_text(frame: str, raw: str, reason: str) -> None:
    """One reject per bad frame or element, holding the text as received and saying why."""
    result = parse_frame(frame, RECEIVED_NS, STREAMS)
    assert result.events == result.controls == ()
    assert [(reject.raw, reject.reason) for reject in result.rejects] == [(raw, reason)]


def test_a_bad_element_leaves_the_good_ones_of_its_frame_in_order() -> None:
    """A frame with a bad message in the middle gives the others' events, in order, and one reject."""
    first = '{"T":"t","S":"AAPL","i":1,"p":1,"s":1,"t":"2021-02-22T15:51:44.1Z"}'
    bad = '{"T":"t","S":"AAPL","i":2,"p":"a lot","s":1,"t":"2021-02-22T15:51:44.2Z"}'
    result = parsed(first, bad, GOOD)
    assert [event.trade_id for event in result.events] == ["1", "3"]  # type: ignore[union-attr]
    assert [reject.raw for reject in result.rejects] == [bad]


def test_a_binary_frame_is_read_as_json_and_its_raw_text_kept_readable() -> None:
    """Bytes that are not UTF-8 are rejected with the bytes escaped, never a crash."""
    (reject,) = parse_frame(b"\x00\xffbinary", RECEIVED_NS, STREAMS).rejects
    assert reject == parse.ProviderReject("\x00\\xffbinary", "not JSON")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=12,
)
FIELDS = st.sampled_from(["S", "t", "p", "s", "bp", "bs", "ap", "as", "o", "h", "l", "c", "v", "u", "d", "a", "i", "x"])
VALUES = st.integers(0, 500) | JSON
MESSAGE = st.fixed_dictionaries(
    {"T": st.sampled_from(["t", "q", "b", "u", "d", "s", "l", "c", "x", "o", "zz", "success", "error"])},
    optional={
        "S": st.sampled_from(["SPY", "BRK.B", "", "a b"]) | JSON,
        "t": st.sampled_from(["2024-01-18T15:30:45.1Z", "2024-01-18T15:30:45Z", "nope"]) | JSON,
        "p": st.decimals(allow_nan=True, places=4).map(str) | st.integers() | JSON,
    },
).flatmap(
    lambda base: st.dictionaries(FIELDS, st.integers(0, 500) | JSON, max_size=6).map(lambda more: {**more, **base})
)


@given(st.binary(max_size=200))
def test_random_bytes_never_raise_and_are_rejected_whole(frame: bytes) -> None:
    """Any bytes: no exception; what is not a JSON array is exactly one reject with its text."""
    result = parse_frame(frame, RECEIVED_NS, STREAMS)
    try:
        is_array = isinstance(msgspec.json.decode(frame), list)
    except msgspec.DecodeError:
        is_array = False
    if not is_array:
        assert (result.events, result.controls, len(result.rejects)) == ((), (), 1)


@given(st.lists(MESSAGE | JSON, max_size=8))
def test_every_element_of_an_array_is_accounted_for_once(elements: list[Any]) -> None:
    """Each element of a frame becomes exactly one event, control or reject."""
    result = parse_frame(json.dumps(elements), RECEIVED_NS, STREAMS)
    assert len(result.events) + len(result.controls) + len(result.rejects) == len(elements)


@pytest.mark.parametrize("module", [parse, options, protocol])
def test_the_doctests_pass(module: object) -> None:
    """The examples in the modules' docstrings hold (the plugin is outside pytest's doctest paths)."""
    failures, tried = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert (failures, tried > 0) == (0, True)
