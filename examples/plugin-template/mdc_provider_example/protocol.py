"""The example feed's connection, as a state machine without I/O (mdc's runner does the I/O).

The conversation::

    server: {"ev":"welcome"}
    client: {"op":"auth","token":"..."}
    server: {"ev":"authorized"}            or {"ev":"error","code":"auth_failed","msg":"..."}
    client: {"op":"subscribe","symbols":["SPY","AAPL"]}
    server: {"ev":"subscribed","symbols":["SPY","AAPL"]}
    server: {"ev":"trade",...} {"ev":"quote",...} ...
    client: {"op":"unsubscribe","symbols":["AAPL"]}

Error codes: ``auth_failed``, ``not_entitled``, ``symbol_limit``, ``busy``
(too many connections) and anything else (a protocol error).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Final

import msgspec

from mdc.core.provider import FeedError, FeedFailure, ProviderReject, Reaction

from .parse import parse_data

FAILURES: Final = {
    "auth_failed": FeedFailure.AUTH,
    "not_entitled": FeedFailure.NOT_ENTITLED,
    "symbol_limit": FeedFailure.SYMBOL_LIMIT,
    "busy": FeedFailure.CONNECTION_LIMIT,
}
_DATA_EVENTS: Final = frozenset({"trade", "quote"})


class _Envelope(msgspec.Struct):
    ev: str
    code: str = ""
    msg: str = ""
    symbols: list[str] = []


_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)


class ExampleProtocol:
    """One connection of the example feed.

    Args:
        token: the credential sent in the ``auth`` message (never put into a message for people).
        stream: the stream id stamped on events.
    """

    def __init__(self, token: str, stream: str) -> None:
        self._token = token
        self._stream = stream

    @property
    def stream(self) -> str:
        """The stream id stamped on events."""
        return self._stream

    def opened(self) -> Reaction:
        """Nothing to do: the server speaks first."""
        return Reaction()

    def received(self, message: str | bytes, received_ns: int) -> Reaction:
        """React to one message from the server."""
        try:
            envelope = _ENVELOPE.decode(message)
        except msgspec.DecodeError as error:
            raw = message if isinstance(message, str) else message.decode(errors="replace")
            return Reaction(rejects=(ProviderReject(raw, f"not a message of the example feed: {error}"),))
        if envelope.ev in _DATA_EVENTS:
            parsed = parse_data(message, self._stream, received_ns)
            if isinstance(parsed, ProviderReject):
                return Reaction(rejects=(parsed,))
            return Reaction(events=(parsed,))
        match envelope.ev:
            case "welcome":
                return Reaction(send=(json.dumps({"op": "auth", "token": self._token}),))
            case "authorized":
                return Reaction(authenticated=True)
            case "subscribed":
                return Reaction(subscribed=tuple(envelope.symbols))
            case "error":
                failure = FAILURES.get(envelope.code, FeedFailure.PROTOCOL)
                return Reaction(error=FeedError(failure, envelope.msg or envelope.code, envelope.code or None))
            case _:
                raw = message if isinstance(message, str) else message.decode(errors="replace")
                return Reaction(rejects=(ProviderReject(raw, f"unknown event {envelope.ev!r}"),))

    def subscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The message that subscribes ``symbols``."""
        return (json.dumps({"op": "subscribe", "symbols": list(symbols)}),)

    def unsubscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The message that unsubscribes ``symbols``."""
        return (json.dumps({"op": "unsubscribe", "symbols": list(symbols)}),)
