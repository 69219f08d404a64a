"""One connection to Alpaca's stock stream, as a sans-I/O state machine (mdc's ``WireProtocol``).

The handshake (docs.alpaca.markets, "WebSocket Stream")::

    < [{"T":"success","msg":"connected"}]
    > {"action":"auth","key":"KEY_ID","secret":"SECRET_KEY"}
    < [{"T":"success","msg":"authenticated"}]        or  [{"T":"error","code":402,"msg":"auth failed"}]
    > {"action":"subscribe","trades":["SPY"],"quotes":["SPY"],...}
    < [{"T":"subscription","trades":["SPY"],...,"corrections":["SPY"],"cancelErrors":["SPY"]}]

mdc's runner subscribes only once a reaction says ``authenticated``, so no
event is emitted before the credentials are known to be good. Server errors
become :class:`~mdc.core.provider.FeedError` by code (see :data:`FAILURES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from mdc.core.provider import FeedError, FeedFailure, Reaction

from .parse import Parsed, Streams, parse_frame
from .wire import ServerError, Subscription, Success

FAILURES: Final[dict[int, tuple[FeedFailure, str]]] = {
    400: (FeedFailure.PROTOCOL, "the server could not read a message mdc sent (or a symbol in it)"),
    401: (FeedFailure.PROTOCOL, "a subscription was sent before authentication"),
    402: (FeedFailure.AUTH, "the key id and secret key were refused (APCA_API_KEY_ID, APCA_API_SECRET_KEY)"),
    403: (FeedFailure.PROTOCOL, "the connection was already authenticated"),
    404: (FeedFailure.PROTOCOL, "authentication took too long"),
    405: (FeedFailure.SYMBOL_LIMIT, "the account's plan allows fewer symbols; subscribe fewer"),
    406: (FeedFailure.CONNECTION_LIMIT, "another connection with these credentials is open"),
    407: (FeedFailure.PROTOCOL, "mdc read too slowly and the server dropped it"),
    408: (FeedFailure.NOT_ENTITLED, "the account has no access to market data v2"),
    409: (FeedFailure.NOT_ENTITLED, "the account's subscription does not include this feed; try --feed iex"),
    410: (FeedFailure.BAD_REQUEST, "a channel is not available on this feed; change -o channels"),
    411: (FeedFailure.NOT_ENTITLED, "the credentials lack the scope for the data stream"),
    500: (FeedFailure.PROTOCOL, "the server had an internal error"),
}
"""Server error code -> what it means for the run, and a hint. Any other code is a protocol failure."""

_ENCODER: Final = msgspec.json.Encoder()


class AlpacaProtocol:
    """The state machine of one connection.

    Args:
        feed: the feed name (the stream id is ``alpaca.FEED``).
        channels: the channels every symbol is subscribed to.
        key_id: the API key id.
        secret_key: the API secret key (it is sent to the server and nowhere else).
    """

    def __init__(self, *, feed: str, channels: Sequence[str], key_id: str, secret_key: str) -> None:
        self._streams = Streams.of(feed)
        self._channels = tuple(channels)
        self._auth = _ENCODER.encode({"action": "auth", "key": key_id, "secret": secret_key}).decode()
        self._auth_sent = False

    def __repr__(self) -> str:
        return f"AlpacaProtocol(stream={self._streams.main!r}, channels={self._channels!r})"  # never the secret

    @property
    def stream(self) -> str:
        """``alpaca.FEED``."""
        return self._streams.main

    def opened(self) -> Reaction:
        """Nothing to send yet: the server speaks first (``connected``)."""
        return Reaction()

    def received(self, message: str | bytes, received_ns: int) -> Reaction:
        """One frame from the server.

        Args:
            message: the frame.
            received_ns: when it arrived (``ts_recv`` of its events).

        Returns:
            Its events and rejects; the auth message after ``connected``;
            ``authenticated`` after the server accepted it; confirmed symbols; a server error.
        """
        parsed = parse_frame(message, received_ns, self._streams)
        if not parsed.controls:
            return Reaction(events=parsed.events, rejects=parsed.rejects)
        return self._control(parsed)

    def subscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The subscribe message for ``symbols`` on every channel of this connection."""
        return (self._change("subscribe", symbols),)

    def unsubscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """The unsubscribe message for ``symbols`` on every channel of this connection."""
        return (self._change("unsubscribe", symbols),)

    def _change(self, action: str, symbols: Sequence[str]) -> str:
        message: dict[str, object] = {"action": action}
        message.update((channel, list(symbols)) for channel in self._channels)
        return _ENCODER.encode(message).decode()

    def _control(self, parsed: Parsed) -> Reaction:
        send: list[str] = []
        authenticated = False
        subscribed: tuple[str, ...] = ()
        error: FeedError | None = None
        for control in parsed.controls:
            match control:
                case Success(msg="connected") if not self._auth_sent:
                    send.append(self._auth)
                    self._auth_sent = True
                case Success(msg="authenticated"):
                    authenticated = True
                case Success():
                    pass  # informational (a repeated "connected"): nothing to do
                case ServerError() if error is None:
                    error = feed_error(control)
                case ServerError():
                    pass  # the first error decides; control messages come one per frame anyway
                case Subscription():
                    subscribed = control.symbols()
        return Reaction(
            events=parsed.events,
            send=tuple(send),
            rejects=parsed.rejects,
            authenticated=authenticated,
            subscribed=subscribed,
            error=error,
        )


def feed_error(error: ServerError) -> FeedError:
    """What a server error means for the run.

    >>> feed_error(ServerError(code=402, msg="auth failed")).failure
    <FeedFailure.AUTH: 'auth'>
    >>> feed_error(ServerError(code=406, msg="connection limit exceeded")).message
    'connection limit exceeded: another connection with these credentials is open'

    Args:
        error: the ``error`` message.

    Returns:
        The failure, in words that name what to do, with the server's code.
    """
    failure, hint = FAILURES.get(error.code or 0, (FeedFailure.PROTOCOL, "an error this provider does not know"))
    said = error.msg or "server error"
    return FeedError(failure=failure, message=f"{said}: {hint}", code=error.code)
