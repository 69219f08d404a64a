"""Polygon (Massive) stocks WebSocket frames -> mdc events; no I/O, no clock.

Every frame the server sends is a JSON array of messages tagged by ``ev``
(Polygon's stocks WebSocket documentation and its client's spec,
``.polygon/websocket.json``)::

    ev       channel                              mdc event
    T        trades                               trade
    Q        quotes (NBBO)                        quote
    A        aggregates per second                bar, interval 1s, ts = window start
    AM       aggregates per minute                bar, interval 1m, ts = window start
    status   connection, auth and subscriptions   StatusMessage, for the protocol

Numbers are decoded straight into :class:`~decimal.Decimal` by msgspec, which
keeps the literal as Polygon wrote it (``161.870`` stays ``161.870``); a float
never appears. Exchange, condition and tape ids are integers on the wire and
are kept as the text of the integer (``"4"``, ``"12"``): mdc's schema has
strings there, and Polygon's id tables (its exchanges and conditions
endpoints) say what they mean.

A message that cannot be read (not JSON, a field of the wrong type, an event
type this module does not know, a symbol outside mdc's grammar) becomes a
:class:`~mdc.core.provider.ProviderReject` holding its raw text; the rest of
the frame is still used. Nothing here raises for bad input.

Polygon's ``q`` (sequence number) is deliberately not mapped to ``seq``: the
documentation says it is "increasing and unique per ticker symbol, but will
not always be sequential (e.g., 1, 2, 6, 9, 10, 11)", and mdc-validate tracks
``seq`` per provider, stream and symbol across every event type, expecting
``+1`` steps, so every documented jump would become a false ``sequence_gap``
(and a quote numbered below the last trade a false ``out_of_order``, which
rejects the event). Events carry ``seq`` null; mdc-store deduplicates them by
content.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Final

import msgspec
from attrs import frozen

from mdc.core.events import Bar, MarketEvent, Quote, Trade
from mdc.core.provider import ProviderReject
from mdc.core.symbols import symbol_problem
from mdc.core.timestamps import Timestamp, from_ns

PROVIDER: Final = "polygon"
ZERO: Final = Decimal(0)
_MS_BELOW: Final = 10**14
"""Epoch integers below this are milliseconds (10**14 ms is the year 5138)."""
_US_BELOW: Final = 10**17
"""... below this (and from 10**14) microseconds (10**14 us is 1973); from here on nanoseconds."""

_Epoch = Annotated[int, msgspec.Meta(ge=0)]
_ID_TEXT: Final = {number: str(number) for number in range(1024)}
"""Exchange and condition ids as text, made once (they are small integers)."""
_CONDITIONS: dict[tuple[int, ...], tuple[str, ...]] = {}
"""Condition lists seen so far, as text (a few dozen combinations occur)."""
_MAX_CONDITION_SETS: Final = 4096


class _Trade(msgspec.Struct, tag_field="ev", tag="T", gc=False):
    sym: str
    p: Decimal
    s: Decimal
    t: _Epoch
    x: int | None = None
    i: str | int | None = None
    c: tuple[int, ...] = ()


class _Quote(msgspec.Struct, tag_field="ev", tag="Q", gc=False):
    sym: str
    t: _Epoch
    bp: Decimal | None = None
    bs: Decimal = ZERO
    bx: int | None = None
    ap: Decimal | None = None
    ask_size: Decimal = msgspec.field(default=ZERO, name="as")
    ax: int | None = None


class _Aggregate(msgspec.Struct, tag_field="ev", gc=False):
    sym: str
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - Polygon's name for the low
    c: Decimal
    v: Decimal
    s: _Epoch
    vw: Decimal | None = None
    n: int | None = None


class _Second(_Aggregate, tag="A"):
    pass


class _Minute(_Aggregate, tag="AM"):
    pass


class _Status(msgspec.Struct, tag_field="ev", tag="status", gc=False):
    status: str
    message: str = ""


class _Tag(msgspec.Struct, gc=False):
    ev: object = None


_Message = _Trade | _Quote | _Second | _Minute | _Status
_FRAME: Final = msgspec.json.Decoder(list[_Message])
_ELEMENTS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_ONE: Final = msgspec.json.Decoder(_Message)
_TAG: Final = msgspec.json.Decoder(_Tag)
EVENT_TYPES: Final = ("T", "Q", "A", "AM", "status")
"""The ``ev`` values this module reads."""


@frozen
class StatusMessage:
    """A ``status`` message: the server talking about the connection, not the market.

    Attributes:
        status: ``connected``, ``auth_success``, ``auth_failed``, ``success``, ``max_connections`` ...
        message: its words (``subscribed to: T.SPY``).
    """

    status: str
    message: str = ""


@frozen
class Parsed:
    """What one frame holds.

    Attributes:
        events: market events, in the frame's order.
        statuses: status messages, in order.
        rejects: messages that could not be read, each with its raw text.
    """

    events: tuple[MarketEvent, ...] = ()
    statuses: tuple[StatusMessage, ...] = ()
    rejects: tuple[ProviderReject, ...] = ()


def epoch_ns(value: int) -> int:
    """Nanoseconds since the epoch from a Polygon epoch integer, whatever its unit.

    The stocks channels document ``t``, ``s`` and ``e`` as Unix milliseconds,
    but the same documentation shows microseconds (LULD) and nanoseconds
    (imbalances) under the same words, so the unit is read off the magnitude:
    below 10**14 milliseconds (up to the year 5138), below 10**17 microseconds
    (from 1973), else nanoseconds. Integer arithmetic only: exact.

    >>> epoch_ns(1651684192462), epoch_ns(1601316752683746), epoch_ns(1601318039223013600)
    (1651684192462000000, 1601316752683746000, 1601318039223013600)
    """
    if value < _MS_BELOW:
        return value * 1_000_000
    if value < _US_BELOW:
        return value * 1_000
    return value


def parse_frame(frame: str | bytes, received_ns: int, stream: str) -> Parsed:
    """Turn one WebSocket frame from Polygon's stocks cluster into events, statuses and rejects.

    Args:
        frame: the frame's text as received.
        received_ns: when it arrived (``ts_recv`` of its events), nanoseconds since the epoch.
        stream: the stream id stamped on events (``polygon.stocks``, ``polygon.delayed``).

    Returns:
        The frame's events and status messages in order, and a reject for every
        message that could not be read (the others still count).

    >>> parsed = parse_frame('[{"ev":"T","sym":"SPY","x":4,"i":"7","p":451.10,"s":100,"t":1767623400000}]', 0, "s")
    >>> trade = parsed.events[0]
    >>> str(trade.price), trade.ts, trade.exchange, trade.seq
    ('451.10', '2026-01-05T14:30:00.000000000Z', '4', None)
    """
    try:
        messages = _FRAME.decode(frame)
    except msgspec.DecodeError:
        return _message_by_message(frame, received_ns, stream)
    recv = from_ns(received_ns)
    times: dict[int, Timestamp] = {}
    events: list[MarketEvent] = []
    statuses: list[StatusMessage] = []
    for message in messages:
        if isinstance(message, _Status):
            statuses.append(StatusMessage(message.status, message.message))
            continue
        event = _event(message, recv, stream, times)
        if event is None:  # a symbol outside the grammar: redo the frame slowly for the raw text
            return _message_by_message(frame, received_ns, stream)
        events.append(event)
    return Parsed(tuple(events), tuple(statuses))


def _message_by_message(frame: str | bytes, received_ns: int, stream: str) -> Parsed:
    """The careful path: every message on its own, so one bad message costs only itself."""
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    try:
        elements: Sequence[msgspec.Raw] = _ELEMENTS.decode(frame)
    except msgspec.DecodeError as error:
        return Parsed(rejects=(ProviderReject(text, f"not a JSON array of Polygon messages: {error}"),))
    recv = from_ns(received_ns)
    times: dict[int, Timestamp] = {}
    events: list[MarketEvent] = []
    statuses: list[StatusMessage] = []
    rejects: list[ProviderReject] = []
    for element in elements:
        raw = bytes(element).decode("utf-8", "replace")
        try:
            message = _ONE.decode(element)
        except msgspec.DecodeError as error:
            rejects.append(ProviderReject(raw, _why(element, error)))
            continue
        if isinstance(message, _Status):
            statuses.append(StatusMessage(message.status, message.message))
            continue
        event = _event(message, recv, stream, times)
        if event is None:
            problem = symbol_problem(message.sym)
            rejects.append(ProviderReject(raw, f"bad {_TAG.decode(element).ev} message: {problem} at `$.sym`"))
        else:
            events.append(event)
    return Parsed(tuple(events), tuple(statuses), tuple(rejects))


def _why(element: msgspec.Raw, error: msgspec.DecodeError) -> str:
    """A reason that names the event type when the message has a known one."""
    try:
        tag = _TAG.decode(element).ev
    except msgspec.DecodeError:
        return f"not a JSON object: {error}"
    if tag is None:
        return "no event type (ev)"
    if tag not in EVENT_TYPES:
        return f"unknown event type {tag!r}"
    return f"bad {tag} message: {error}"


def _event(
    message: _Trade | _Quote | _Second | _Minute, recv: Timestamp, stream: str, times: dict[int, Timestamp]
) -> MarketEvent | None:
    """The mdc event for one market message; None when its symbol is outside mdc's grammar.

    ``times`` caches the frame's timestamps: messages of one frame often share their millisecond.
    """
    if symbol_problem(message.sym) is not None:
        return None
    if type(message) is _Trade:
        ts = times.get(message.t)
        if ts is None:
            ts = times[message.t] = from_ns(epoch_ns(message.t))
        return Trade(
            symbol=message.sym,
            ts=ts,
            ts_recv=recv,
            provider=PROVIDER,
            stream=stream,
            price=message.p,
            size=message.s,
            exchange=None if message.x is None else _id_text(message.x),
            conditions=_conditions(message.c),
            trade_id=None if message.i is None else str(message.i),
        )
    if type(message) is _Quote:
        ts = times.get(message.t)
        if ts is None:
            ts = times[message.t] = from_ns(epoch_ns(message.t))
        bid = message.bp or None  # no bid: Polygon writes 0 (or leaves it out)
        ask = message.ap or None
        return Quote(
            symbol=message.sym,
            ts=ts,
            ts_recv=recv,
            provider=PROVIDER,
            stream=stream,
            bid_price=bid,
            bid_size=ZERO if bid is None else message.bs,
            ask_price=ask,
            ask_size=ZERO if ask is None else message.ask_size,
            bid_exchange=None if message.bx is None else _id_text(message.bx),
            ask_exchange=None if message.ax is None else _id_text(message.ax),
        )
    assert isinstance(message, _Aggregate)  # noqa: S101 - the union leaves nothing else
    return Bar(
        symbol=message.sym,
        ts=from_ns(epoch_ns(message.s)),
        ts_recv=recv,
        provider=PROVIDER,
        stream=stream,
        interval="1s" if type(message) is _Second else "1m",
        open=message.o,
        high=message.h,
        low=message.l,
        close=message.c,
        volume=message.v,
        vwap=message.vw,
        trade_count=message.n,
    )


def _id_text(number: int) -> str:
    text = _ID_TEXT.get(number)
    return str(number) if text is None else text


def _conditions(codes: tuple[int, ...]) -> tuple[str, ...]:
    text = _CONDITIONS.get(codes)
    if text is None:
        text = tuple(map(str, codes))
        if len(_CONDITIONS) < _MAX_CONDITION_SETS:
            _CONDITIONS[codes] = text
    return text
