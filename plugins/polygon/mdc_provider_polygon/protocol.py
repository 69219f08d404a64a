"""One connection to Polygon's stocks WebSocket, as a state machine without I/O.

The conversation (Polygon's WebSocket quickstart; the official client's
``websocket/__init__.py``)::

    server: [{"ev":"status","status":"connected","message":"Connected Successfully"}]
    client: {"action":"auth","params":"<API key>"}
    server: [{"ev":"status","status":"auth_success","message":"authenticated"}]
        or  [{"ev":"status","status":"auth_failed","message":"authentication failed"}]
    client: {"action":"subscribe","params":"T.SPY,Q.SPY"}
    server: [{"ev":"status","status":"success","message":"subscribed to: T.SPY"}] ...
    server: [{"ev":"T",...},{"ev":"Q",...}] ...
    client: {"action":"unsubscribe","params":"T.SPY,Q.SPY"}

Status messages and what they do here:

* ``connected``: send the credentials (once per connection).
* ``auth_success`` (and the older ``success`` / ``authenticated``): authenticated; mdc subscribes.
* ``success`` ``subscribed to: T.SPY,...``: those symbols are confirmed; other ``success`` words are
  informational (unsubscribe confirmations and the like).
* ``auth_failed``: the key was refused (exit 77), or, when the words are about the plan
  ("Your plan doesn't include websocket access"), the account is not entitled (exit 77).
* ``max_connections``: another connection uses the key (Polygon allows one per cluster):
  reconnect with backoff, counted by the breaker.
* ``auth_timeout``: the server gave up waiting for the credentials: reconnect.
* ``error``: "not authorized" and plan words mean not entitled (exit 77); a refused key is
  ``auth``; connection-limit words are ``max_connections``; any other error is rejected to
  stderr with the frame and the capture goes on.
* any other status: rejected to stderr with the frame (the capture goes on).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import msgspec

from mdc.core.provider import FeedError, FeedFailure, ProviderReject, Reaction

from .parse import StatusMessage, parse_frame

CHANNELS: Final = ("T", "Q", "A", "AM")
"""The stocks channels this provider subscribes to (trades, quotes, second and minute aggregates)."""

_NOT_ENTITLED: Final = re.compile(r"not authori[sz]ed|not entitled|entitlement|your plan|upgrade|pricing", re.I)
_CONNECTIONS: Final = re.compile(r"maximum number of .*connections|max_connections|connection limit", re.I)
_AUTH: Final = re.compile(r"auth", re.I)
_SUBSCRIBED: Final = "subscribed to:"
_ENCODER: Final = msgspec.json.Encoder()


class PolygonProtocol:
    """One connection of Polygon's stocks WebSocket (sans I/O).

    Args:
        api_key: the key sent in the ``auth`` message; it goes into no other message,
            error or reject.
        stream: the stream id stamped on events (``polygon.stocks``, ``polygon.delayed``).
        channels: the channels each symbol is subscribed to, a subset of :data:`CHANNELS`.
    """

    def __init__(self, *, api_key: str, stream: str, channels: Sequence[str]) -> None:
        self._api_key = api_key
        self._stream = stream
        self._channels = tuple(channels)
        self._auth_sent = False

    def __repr__(self) -> str:
        return f"PolygonProtocol(stream={self._stream!r}, channels={self._channels!r})"

    @property
    def stream(self) -> str:
        """The stream id stamped on events."""
        return self._stream

    def opened(self) -> Reaction:
        """Nothing to send yet: Polygon greets first (``connected``), then the client authenticates."""
        return Reaction()

    def received(self, message: str | bytes, received_ns: int) -> Reaction:
        """React to one frame: its events, plus what its status messages ask for.

        Args:
            message: the frame as received.
            received_ns: when it arrived.

        Returns:
            Events, messages to send, rejects, and whether this frame authenticated,
            confirmed symbols or reported an error.
        """
        parsed = parse_frame(message, received_ns, self._stream)
        if not parsed.statuses:
            return Reaction(events=parsed.events, rejects=parsed.rejects)
        send: list[str] = []
        rejects = list(parsed.rejects)
        subscribed: list[str] = []
        authenticated = False
        error: FeedError | None = None
        for status in parsed.statuses:
            match status.status:
                case "connected":
                    if not self._auth_sent:
                        self._auth_sent = True
                        send.append(_ENCODER.encode({"action": "auth", "params": self._api_key}).decode())
                case "auth_success":
                    authenticated = True
                case "success":
                    words = status.message.strip()
                    if words.lower() == "authenticated":  # the form Polygon's servers used before auth_success
                        authenticated = True
                    elif words.lower().startswith(_SUBSCRIBED):
                        subscribed.extend(_symbols(words[len(_SUBSCRIBED) :]))
                case _:
                    found = _failure(status)
                    if found is None:
                        rejects.append(ProviderReject(_text(message), _unexpected(status)))
                    elif error is None:
                        error = found
        return Reaction(
            events=parsed.events,
            send=tuple(send),
            rejects=tuple(rejects),
            authenticated=authenticated,
            subscribed=tuple(dict.fromkeys(subscribed)),
            error=error,
        )

    def subscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The message that subscribes every symbol to every channel (``T.SPY,Q.SPY,...``)."""
        return self._action("subscribe", symbols)

    def unsubscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The message that unsubscribes every symbol from every channel."""
        return self._action("unsubscribe", symbols)

    def _action(self, action: str, symbols: Sequence[str]) -> tuple[str, ...]:
        if not symbols:
            return ()
        params = ",".join(f"{channel}.{symbol}" for symbol in symbols for channel in self._channels)
        return (_ENCODER.encode({"action": action, "params": params}).decode(),)


def _symbols(topics: str) -> list[str]:
    """``T.SPY,Q.SPY, AM.BRK.B`` -> ``SPY, SPY, BRK.B`` (the channel is up to the first dot)."""
    found = []
    for topic in topics.split(","):
        channel, dot, symbol = topic.strip().partition(".")
        if dot and channel and symbol:
            found.append(symbol)
    return found


def _failure(status: StatusMessage) -> FeedError | None:
    """The error a status message reports, or None when it reports none this module knows."""
    words = status.message or status.status
    said = f"server said {status.status}: {status.message}" if status.message else f"server said {status.status}"
    match status.status:
        case "auth_failed":
            if _NOT_ENTITLED.search(words):
                return FeedError(FeedFailure.NOT_ENTITLED, f"the account is not entitled to this feed ({said})")
            return FeedError(FeedFailure.AUTH, f"the API key was refused ({said})")
        case "max_connections":
            return FeedError(FeedFailure.CONNECTION_LIMIT, f"too many connections for this API key ({said})")
        case "auth_timeout":
            return FeedError(FeedFailure.PROTOCOL, f"the server timed out waiting for the credentials ({said})")
        case "error":
            if _CONNECTIONS.search(words):
                return FeedError(FeedFailure.CONNECTION_LIMIT, f"too many connections for this API key ({said})")
            if _NOT_ENTITLED.search(words):
                return FeedError(FeedFailure.NOT_ENTITLED, f"the account is not entitled to this data ({said})")
            if _AUTH.search(words):
                return FeedError(FeedFailure.AUTH, f"the API key was refused ({said})")
    return None


def _unexpected(status: StatusMessage) -> str:
    if status.status == "error":
        return f"server error: {status.message}"
    return f"unknown status {status.status!r}"


def _text(message: str | bytes) -> str:
    return message if isinstance(message, str) else message.decode("utf-8", "replace")
