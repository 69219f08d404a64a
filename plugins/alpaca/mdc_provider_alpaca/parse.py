"""Alpaca stock stream frames -> mdc events. Pure: bytes and a receive time in, events out.

The server sends JSON arrays of messages, each tagged by ``T`` (documented at
docs.alpaca.markets, "Real-time Stock Data" and "WebSocket Stream"):

=====  ==================  ==================================================
``T``  message             becomes
=====  ==================  ==================================================
t      trade               ``trade``
q      quote               ``quote`` (a price of 0 is an empty side)
b      minute bar          ``bar`` 1m on ``alpaca.FEED``
u      updated minute bar  ``bar`` 1m on ``alpaca.FEED.updated_bars``
d      daily bar           ``bar`` 1d on ``alpaca.FEED`` (it grows all day)
s      trading status      ``status``
l      LULD bands          ``luld``
c      trade correction    ``trade_correction``
x      trade cancel/error  ``trade_cancel`` (``a``: C cancel, E error)
=====  ==================  ==================================================

``success``, ``error`` and ``subscription`` are control messages, handed to
the protocol. Anything else is rejected with its raw text: a frame that is not
JSON or not an array, an element that is not an object, an unknown ``T``, the
crypto order book (``o``), order imbalances (``i``) and news (``n``), which
belong to other streams or have no mdc event, and messages whose fields have
the wrong type, a timestamp that is not RFC 3339, a number that is not finite
or a symbol outside mdc's grammar.

Prices and sizes are decoded by msgspec straight from the JSON text into
``Decimal`` (``451.10`` stays ``451.10``); timestamps keep all nine digits.
The tape (``z``) is left out: it follows from the symbol's listing, and the
status codes it qualifies are distinct between the CTA and UTP tapes.

>>> frame = b'[{"T":"t","S":"AAPL","i":96921,"x":"D","p":126.550,"s":1,"t":"2021-02-22T15:51:44.208Z"}]'
>>> trade = parse_frame(frame, 0, Streams.of("iex")).events[0]
>>> trade.price, trade.ts, trade.stream
(Decimal('126.550'), '2021-02-22T15:51:44.208000000Z', 'alpaca.iex')
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Final

import msgspec
from attrs import frozen

from mdc.core.events import Bar, Luld, MarketEvent, Quote, Status, Trade, TradeCancel, TradeCorrection
from mdc.core.provider import ProviderReject
from mdc.core.symbols import symbol_problem
from mdc.core.timestamps import Timestamp, canonical, from_ns, is_canonical

from .wire import (
    KINDS,
    NOT_MAPPED,
    BarMessage,
    CancelMessage,
    Control,
    CorrectionMessage,
    DailyBarMessage,
    LuldMessage,
    Message,
    QuoteMessage,
    StatusMessage,
    TradeMessage,
    UpdatedBarMessage,
)

PROVIDER: Final = "alpaca"
_NINE_ZEROS: Final = "000000000"

_FRAME: Final = msgspec.json.Decoder(list[Message])
_ONE: Final = msgspec.json.Decoder(Message)
_RAW_ARRAY: Final = msgspec.json.Decoder(list[msgspec.Raw])
_ANY: Final = msgspec.json.Decoder()

# ------------------------------------------------------------------ results


@frozen
class Streams:
    """The stream ids a connection stamps on its events.

    Attributes:
        main: ``alpaca.FEED``, for everything but updated bars.
        updated_bars: ``alpaca.FEED.updated_bars``: a bar here replaces the bar with the
            same symbol, interval and ``ts`` on ``main``.
    """

    main: str
    updated_bars: str

    @classmethod
    def of(cls, feed: str) -> Streams:
        """The streams of a feed (``iex`` -> ``alpaca.iex``, ``alpaca.iex.updated_bars``)."""
        main = f"{PROVIDER}.{feed}"
        return cls(main, f"{main}.updated_bars")


@frozen
class Parsed:
    """What one frame holds, every element accounted for once.

    Attributes:
        events: market events, in the order of their messages.
        controls: control messages, in order.
        rejects: elements (or the whole frame) that could not be understood, with the raw text.
    """

    events: tuple[MarketEvent, ...] = ()
    controls: tuple[Control, ...] = ()
    rejects: tuple[ProviderReject, ...] = ()


class _Bad(Exception):
    """A message decoded but its content is unusable (the reason is the message)."""


class _Control(Exception):
    """A message with no converter (a control message): the frame is sorted one message at a time."""


# ------------------------------------------------------------------ parsing


def parse_frame(frame: str | bytes, received_ns: int, streams: Streams) -> Parsed:
    """Turn one WebSocket message from the server into events, controls and rejects.

    Never raises for bad input: whatever cannot be understood is rejected with
    its raw text, so every element ends up as exactly one event, control or reject.

    Args:
        frame: the message as received (text, or bytes of a binary frame).
        received_ns: when it was received, nanoseconds since the epoch (``ts_recv``).
        streams: the stream ids to stamp.

    Returns:
        The frame's contents.
    """
    ts_recv = from_ns(received_ns)
    try:
        messages = _FRAME.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _parse_slowly(frame, ts_recv, streams)
    try:
        events = [_CONVERTERS.get(type(message), _control)(message, ts_recv, streams) for message in messages]
    except _Control:  # the handshake's frames: sort events from controls one by one
        return _sort(frame, messages, ts_recv, streams)
    except _Bad:  # one bad element: redo the frame element by element to find it and keep the rest
        return _parse_slowly(frame, ts_recv, streams)
    return Parsed(tuple(events))


def _sort(frame: str | bytes, messages: list[Message], ts_recv: Timestamp, streams: Streams) -> Parsed:
    """A frame holding control messages: the events and the controls, each in order."""
    events: list[MarketEvent] = []
    controls: list[Control] = []
    try:
        for message in messages:
            convert = _CONVERTERS.get(type(message))
            if convert is None:
                controls.append(message)  # type: ignore[arg-type]
            else:
                events.append(convert(message, ts_recv, streams))
    except _Bad:
        return _parse_slowly(frame, ts_recv, streams)
    return Parsed(tuple(events), tuple(controls))


def _parse_slowly(frame: str | bytes, ts_recv: Timestamp, streams: Streams) -> Parsed:
    """The frame element by element, each bad one rejected with its own raw text."""
    try:
        elements = _RAW_ARRAY.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return Parsed(rejects=(ProviderReject(_text(frame), _frame_problem(frame)),))
    events: list[MarketEvent] = []
    controls: list[Control] = []
    rejects: list[ProviderReject] = []
    for element in elements:
        raw = bytes(element)
        try:
            message = _ONE.decode(raw)
            convert = _CONVERTERS.get(type(message))
            if convert is None:
                controls.append(message)
            else:
                events.append(convert(message, ts_recv, streams))
        except msgspec.DecodeError as error:
            rejects.append(ProviderReject(_text(raw), _element_problem(raw, error)))
        except _Bad as error:
            rejects.append(ProviderReject(_text(raw), f"bad {KINDS[_tag(message)]} ({_tag(message)}): {error}"))
    return Parsed(tuple(events), tuple(controls), tuple(rejects))


def _text(raw: str | bytes) -> str:
    return raw if isinstance(raw, str) else raw.decode("utf-8", "backslashreplace")


def _tag(message: Message) -> str:
    return type(message).__struct_config__.tag  # type: ignore[return-value]


def _frame_problem(frame: str | bytes) -> str:
    try:
        value = _ANY.decode(frame)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return "not JSON"
    return f"not a JSON array of messages (got {_json_kind(value)})"


def _element_problem(raw: bytes, error: msgspec.DecodeError) -> str:
    value = _ANY.decode(raw)  # it came out of a valid array: it is valid JSON
    if not isinstance(value, dict):
        return f"not a JSON object (got {_json_kind(value)})"
    kind = value.get("T")
    if kind is None:
        return "no message type (T)"
    if not isinstance(kind, str):
        return f"message type T is not a string (got {_json_kind(kind)})"
    if kind in NOT_MAPPED:
        return NOT_MAPPED[kind]
    if kind not in KINDS:
        return f"unknown message type T={kind!r}"
    return f"bad {KINDS[kind]} ({kind}): {error}"


def _json_kind(value: object) -> str:
    match value:
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
        case _:
            return "null"


# ------------------------------------------------------------------ fields


def _timestamp(text: str, name: str = "t") -> Timestamp:
    """Alpaca's RFC 3339 time as a canonical timestamp; the shapes Alpaca writes skip the regex."""
    length = len(text)
    if length == 30:
        if text[29] == "Z" and _second_ok(text[:20]) and text[20:29].isdigit() and text.isascii():
            return Timestamp(text)
    elif text[-1:] == "Z" and text.isascii():
        if 20 < length < 30:  # trailing zeros of the fraction cut, as Go writes them: .208Z (or even .Z)
            if _second_ok(text[:20]) and (length == 21 or text[20:-1].isdigit()):
                return Timestamp(text[:-1] + _PADDING[length])
        elif length == 20 and _second_ok(text[:19] + "."):  # whole seconds (bars)
            return Timestamp(text[:19] + ".000000000Z")
    return _timestamp_slowly(text, name)


_PADDING: Final = {length: _NINE_ZEROS[: 30 - length] + "Z" for length in range(21, 30)}
"""Length of a time with its fraction cut -> the zeros and ``Z`` that make it 30 characters."""


@lru_cache(maxsize=4096)
def _second_ok(prefix: str) -> bool:
    """Whether ``YYYY-MM-DDTHH:MM:SS.`` names a real second (consecutive messages share it)."""
    return is_canonical(prefix + "000000000Z")


def _timestamp_slowly(text: str, name: str) -> Timestamp:
    result = canonical(text)
    value: Timestamp | None = result.value_or(None)
    if value is None:
        raise _Bad(f"{name} {result.failure()} (got {text!r})")
    return value


def _symbol(symbol: str) -> str:
    if symbol_problem(symbol) is not None:
        raise _Bad(f"S {symbol_problem(symbol)} (got {symbol!r})")
    return symbol


def _finite(*named: tuple[str, Decimal | None]) -> None:
    """Raise for the first number that is not finite (msgspec reads "NaN" strings as Decimal NaN)."""
    for name, value in named:
        if value is not None and not value.is_finite():
            raise _Bad(f"{name} is not a finite number (got {value})")


def _control(message: Message, ts_recv: Timestamp, streams: Streams) -> MarketEvent:
    """What :func:`parse_frame`'s fast path calls for a message with no converter."""
    raise _Control


def _ident(value: int | None) -> str | None:
    return None if value is None else str(value)


# ------------------------------------------------------------------ messages -> events


def _trade(message: TradeMessage, ts_recv: Timestamp, streams: Streams) -> Trade:
    price, size, symbol = message.p, message.s, message.S
    if not (price.is_finite() and size.is_finite()):
        _finite(("p", price), ("s", size))
    if symbol_problem(symbol) is not None:
        _symbol(symbol)
    return Trade(
        symbol=symbol,
        ts=_timestamp(message.t),
        ts_recv=ts_recv,
        provider=PROVIDER,
        stream=streams.main,
        price=price,
        size=size,
        exchange=message.x,
        conditions=message.c,
        trade_id=None if message.i is None else str(message.i),
    )


def _quote(message: QuoteMessage, ts_recv: Timestamp, streams: Streams) -> Quote:
    bid, bid_size, ask, ask_size, symbol = message.bp, message.bs, message.ap, message.ask_size, message.S
    if not (bid.is_finite() and bid_size.is_finite() and ask.is_finite() and ask_size.is_finite()):
        _finite(("bp", bid), ("bs", bid_size), ("ap", ask), ("as", ask_size))
    if symbol_problem(symbol) is not None:
        _symbol(symbol)
    return Quote(
        symbol=symbol,
        ts=_timestamp(message.t),
        ts_recv=ts_recv,
        provider=PROVIDER,
        stream=streams.main,
        bid_price=bid if bid else None,  # the feed writes an empty side as price 0
        bid_size=bid_size,
        ask_price=ask if ask else None,
        ask_size=ask_size,
        bid_exchange=message.bx,
        ask_exchange=message.ax,
    )


def _bar(interval: str, updated: bool) -> Callable[[BarMessage, Timestamp, Streams], Bar]:  # noqa: FBT001
    def convert(message: BarMessage, ts_recv: Timestamp, streams: Streams) -> Bar:
        _finite(("o", message.o), ("h", message.h), ("l", message.l), ("c", message.c), ("v", message.v))
        _finite(("vw", message.vw))
        return Bar(
            symbol=_symbol(message.S),
            ts=_timestamp(message.t),
            ts_recv=ts_recv,
            provider=PROVIDER,
            stream=streams.updated_bars if updated else streams.main,
            interval=interval,
            open=message.o,
            high=message.h,
            low=message.l,
            close=message.c,
            volume=message.v,
            vwap=message.vw,
            trade_count=message.n,
        )

    return convert


def _status(message: StatusMessage, ts_recv: Timestamp, streams: Streams) -> Status:
    return Status(
        symbol=_symbol(message.S),
        ts=_timestamp(message.t),
        ts_recv=ts_recv,
        provider=PROVIDER,
        stream=streams.main,
        status=message.sc,
        message=message.sm,
        reason=message.rc or None,
        reason_message=message.rm,
    )


def _luld(message: LuldMessage, ts_recv: Timestamp, streams: Streams) -> Luld:
    _finite(("u", message.u), ("d", message.d))
    return Luld(
        symbol=_symbol(message.S),
        ts=_timestamp(message.t),
        ts_recv=ts_recv,
        provider=PROVIDER,
        stream=streams.main,
        limit_up=message.u,
        limit_down=message.d,
        indicator=message.i,
    )


def _correction(message: CorrectionMessage, ts_recv: Timestamp, streams: Streams) -> TradeCorrection:
    _finite(("op", message.op), ("os", message.os), ("cp", message.cp), ("cs", message.cs))
    return TradeCorrection(
        symbol=_symbol(message.S),
        ts=_timestamp(message.t),
        ts_recv=ts_recv,
        provider=PROVIDER,
        stream=streams.main,
        original_id=_ident(message.oi),
        original_price=message.op,
        original_size=message.os,
        original_conditions=message.oc,
        corrected_id=_ident(message.ci),
        corrected_price=message.cp,
        corrected_size=message.cs,
        corrected_conditions=message.cc,
        exchange=message.x,
    )


_ACTIONS: Final = {"C": "cancel", "E": "error"}


def _cancel(message: CancelMessage, ts_recv: Timestamp, streams: Streams) -> TradeCancel:
    action = _ACTIONS.get(message.a)
    if action is None:
        raise _Bad(f"a must be C (cancel) or E (error) (got {message.a!r})")
    _finite(("p", message.p), ("s", message.s))
    return TradeCancel(
        symbol=_symbol(message.S),
        ts=_timestamp(message.t),
        ts_recv=ts_recv,
        provider=PROVIDER,
        stream=streams.main,
        action=action,
        trade_id=_ident(message.i),
        price=message.p,
        size=message.s,
        exchange=message.x,
    )


_CONVERTERS: Final[dict[type, Callable[..., MarketEvent]]] = {
    TradeMessage: _trade,
    QuoteMessage: _quote,
    BarMessage: _bar("1m", updated=False),
    UpdatedBarMessage: _bar("1m", updated=True),
    DailyBarMessage: _bar("1d", updated=False),
    StatusMessage: _status,
    LuldMessage: _luld,
    CorrectionMessage: _correction,
    CancelMessage: _cancel,
}
