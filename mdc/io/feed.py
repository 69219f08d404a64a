"""The WebSocket feed runner: connects, authenticates, subscribes, keeps it alive.

Every WebSocket provider (Alpaca, Polygon, third parties) supplies a sans-I/O
:class:`~mdc.core.provider.WireProtocol`; :func:`run_websocket_feed` does the
rest, the same way for all of them:

* connect with ``trio-websocket``, call ``opened()``, feed every message to
  ``received()``, send what each reaction says, subscribe every wanted symbol
  once authenticated;
* a connection that answers no ping within the idle timeout is dead (a silent
  connection), and so is one the server closes or that never opens;
* reconnect with exponential backoff and full jitter, resubscribing everything;
  the provider's circuit breaker counts consecutive failures and, when it
  opens, :class:`~mdc.core.provider.ProviderUnavailable` tells the shell to
  fail over (or to wait out the cooldown when there is nothing to fail over to);
* a subscribed symbol silent for ``stale_after`` in its trading session, while
  the connection lives, is resubscribed and reported as ``integrity stale``;
* symbols added to or removed from the wanted set (config reload, SIGHUP) are
  subscribed or unsubscribed without a reconnect;
* server errors that retrying cannot fix (credentials refused, no entitlement,
  too many symbols) end the run with their exit code; messages that cannot be
  parsed are rejected to stderr with the raw message, never a crash.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Final

import trio
from trio_websocket import (
    ConnectionClosed,
    ConnectionRejected,
    ConnectionTimeout,
    HandshakeError,
    WebSocketConnection,
    open_websocket_url,
)

from mdc.core.events import Integrity
from mdc.core.live import (
    Breaker,
    BreakerState,
    SubscriptionChange,
    Subscriptions,
    allows,
    delay,
    failed,
    on_connected,
    resubscribe,
    stale,
    succeeded,
    want,
)
from mdc.core.provider import (
    CaptureContext,
    CaptureRequest,
    Emit,
    FeedError,
    FeedState,
    ProviderError,
    ProviderUnavailable,
    Reaction,
    WireProtocol,
)
from mdc.core.timestamps import NS_PER_SECOND, from_ns

from .tasks import one_error

MAX_MESSAGE_BYTES: Final = 16 << 20
MESSAGE_QUEUE: Final = 16
"""Messages trio-websocket reads ahead; when full it stops reading, and TCP pushes back on the server."""
RECEIVE_BYTES: Final = 1 << 16
"""Bytes read from the socket at once: trio-websocket's 4 KiB default cuts a busy feed's frames
(tens of messages, several KiB each) into several reads, each a round through wsproto and trio."""
CLOSE_TIMEOUT_S: Final = 2.0
"""How long to wait for the server's answer to our close (a dead server never answers)."""


class _Dropped(Exception):
    """The connection is to be dropped and retried."""


def _describe(error: BaseException) -> str:
    match error:
        case HandshakeError() if error.__cause__ is not None:
            return _describe(error.__cause__)
        case ConnectionRejected():
            return f"the server refused the WebSocket (HTTP {error.status_code})"
        case ConnectionTimeout():
            return "the server did not complete the WebSocket handshake in time"
        case HandshakeError():
            return f"WebSocket handshake failed ({type(error).__name__})"
        case ConnectionClosed():
            reason = error.reason
            if reason is None:
                return "closed by the server"
            return f"closed by the server (code {reason.code}{', ' + reason.reason if reason.reason else ''})"
        case trio.TooSlowError():
            return "silent connection (no answer to a ping)"
        case OSError():
            return error.strerror or str(error)
        case _:
            return str(error)


async def run_websocket_feed(
    *,
    provider: str,
    make_protocol: Callable[[], WireProtocol],
    url: str,
    request: CaptureRequest,
    emit: Emit,
    context: CaptureContext,
    rng: random.Random | None = None,
) -> None:
    """Run a WebSocket feed until cancelled, reconnecting as the request's resilience says.

    Args:
        provider: the provider's name (for status and messages).
        make_protocol: a fresh protocol state machine for each connection.
        url: the WebSocket URL.
        request: what to capture (resilience settings included).
        emit: where events go (the shell's bounded queue).
        context: clock, status, rejects, wanted symbols, trading sessions.
        rng: the source of jitter (tests pass a seeded one).

    Raises:
        ProviderError: the server refused something retrying cannot fix (its exit code).
        ProviderUnavailable: the breaker opened.
    """
    rng = rng or random.Random()
    resilience = request.resilience
    breaker: Breaker = resilience.breaker
    attempt = 0
    last_error = ""
    while True:
        allowed = allows(breaker, context.now_ns())
        if allowed is None:
            raise ProviderUnavailable(f"{provider}: down after {breaker.failures} failed attempts ({last_error})")
        breaker = allowed
        context.report(provider, FeedState.CONNECTING, url)
        healthy = trio.Event()
        try:
            async with _open(url, resilience.idle_timeout_s) as connection:
                context.report(provider, FeedState.CONNECTED, url)
                connected = _Connection(
                    provider=provider,
                    connection=connection,
                    protocol=make_protocol(),
                    request=request,
                    emit=emit,
                    context=context,
                )
                await connected.run(healthy)
            last_error = "closed"
        except ProviderError:
            raise
        except (ConnectionClosed, HandshakeError, OSError, trio.TooSlowError, _Dropped) as error:
            last_error = _describe(error)
        if healthy.is_set():  # it worked for a while: start counting afresh
            breaker, attempt = succeeded(breaker), 0
        context.report(provider, FeedState.DISCONNECTED, last_error)
        breaker = failed(breaker, context.now_ns())
        if breaker.state is BreakerState.OPEN:
            # the shell waits out the cooldown or fails over (a backoff longer than the cooldown
            # must not let this loop half-open the breaker again and again on its own)
            raise ProviderUnavailable(f"{provider}: down after {breaker.failures} failed attempts ({last_error})")
        await trio.sleep(delay(resilience.backoff, attempt, rng.random()))
        attempt += 1


async def probe_websocket_feed(
    *, provider: str, make_protocol: Callable[[], WireProtocol], url: str, timeout_s: float = 10.0
) -> None:
    """Connect and authenticate, then close (the shell checks a failed-over provider with it).

    Raises:
        ProviderError: still down, or the credentials are refused.
    """
    protocol = make_protocol()
    try:
        with trio.fail_after(timeout_s):
            async with _open(url, timeout_s) as connection:
                if await _react(provider, connection, protocol.opened(), None):
                    return
                while True:
                    message = await connection.get_message()
                    if await _react(provider, connection, protocol.received(message, 0), None):
                        return
    except ProviderError:
        raise
    except (ConnectionClosed, HandshakeError, OSError, trio.TooSlowError, _Dropped) as error:
        raise ProviderUnavailable(f"{provider}: {_describe(error)}") from error


def _open(url: str, timeout_s: float) -> AbstractAsyncContextManager[WebSocketConnection]:
    """Open a WebSocket; a server that does not finish the handshake or the close in time is given up on."""
    return open_websocket_url(
        url,
        max_message_size=MAX_MESSAGE_BYTES,
        message_queue_size=MESSAGE_QUEUE,
        receive_buffer_size=RECEIVE_BYTES,
        connect_timeout=timeout_s,
        disconnect_timeout=min(timeout_s, CLOSE_TIMEOUT_S),
    )


async def _react(
    provider: str, connection: WebSocketConnection, reaction: Reaction, context: CaptureContext | None
) -> bool:
    """Apply the non-event parts of a reaction; True when it says the credentials were accepted."""
    if context is not None:
        for reject in reaction.rejects:
            context.reject(provider, reject)
    if reaction.error is not None:
        _raise(provider, reaction.error)
    for message in reaction.send:
        await connection.send_message(message)
    return reaction.authenticated


def _raise(provider: str, error: FeedError) -> None:
    code = f" (code {error.code})" if error.code is not None else ""
    if error.failure.fatal:
        raise ProviderError(f"{provider}: {error.message}{code}", error.failure.exit_code)
    raise _Dropped(f"{provider} server error: {error.message}{code}")


class _Connection:
    """One connection's life: handshake, subscriptions, data, heartbeats, stale symbols."""

    def __init__(
        self,
        *,
        provider: str,
        connection: WebSocketConnection,
        protocol: WireProtocol,
        request: CaptureRequest,
        emit: Emit,
        context: CaptureContext,
    ) -> None:
        self.provider = provider
        self.connection = connection
        self.protocol = protocol
        self.resilience = request.resilience
        self.emit = emit
        self.context = context
        self.last_seen: dict[str, int] = {}
        self.subscriptions = Subscriptions(wanted=context.symbols())
        self.since = context.now_ns()

    async def run(self, healthy: trio.Event) -> None:
        with one_error():  # one task's failure ends the connection: raise the one that explains it
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.heartbeat)
                nursery.start_soon(self.follow_changes)
                nursery.start_soon(self.watch_stale)
                await self.react(self.protocol.opened())
                while True:
                    message = await self.connection.get_message()
                    now = self.context.now_ns()
                    reaction = self.protocol.received(message, now)
                    await self.react(reaction)
                    if reaction.subscribed:
                        self.context.report(self.provider, FeedState.SUBSCRIBED, ",".join(reaction.subscribed))
                    if reaction.events:
                        for event in reaction.events:
                            self.last_seen[event.symbol] = now
                        healthy.set()
                        await self.emit(reaction.events)

    async def react(self, reaction: Reaction) -> None:
        if await _react(self.provider, self.connection, reaction, self.context):
            self.since = self.context.now_ns()
            self.context.report(self.provider, FeedState.AUTHENTICATED)
            self.subscriptions, change = on_connected(want(self.subscriptions, self.context.symbols())[0])
            await self.apply(change)

    async def apply(self, change: SubscriptionChange) -> None:
        """Send a subscription change; a symbol (re)subscribed now is timed for staleness from now."""
        messages: tuple[str, ...] = ()
        if change.unsubscribe:
            messages += self.protocol.unsubscribe(change.unsubscribe)
        if change.subscribe:
            messages += self.protocol.subscribe(change.subscribe)
            now = self.context.now_ns()
            self.last_seen.update(dict.fromkeys(change.subscribe, now))
        for message in messages:
            await self.connection.send_message(message)

    async def follow_changes(self) -> None:
        while True:
            wanted = await self.context.symbols_changed()
            self.subscriptions, change = want(self.subscriptions, wanted)
            await self.apply(change)

    async def heartbeat(self) -> None:
        interval = max(self.resilience.idle_timeout_s / 3, 0.05)
        while True:
            await trio.sleep(interval)
            with trio.fail_after(self.resilience.idle_timeout_s):
                await self.connection.ping()

    async def watch_stale(self) -> None:
        after = self.resilience.stale_after_s
        threshold = int(after * NS_PER_SECOND)
        while True:
            await trio.sleep(max(after / 4, 0.05))
            active = self.subscriptions.active
            now = self.context.now_ns()
            silent = [
                symbol
                for symbol in stale(self.last_seen, active, self.since, now, threshold)
                if self.context.in_session(symbol)
            ]
            if not silent:
                continue
            await self.apply(resubscribe(self.subscriptions, silent))
            stream = self.protocol.stream
            await self.emit([_stale_event(self.provider, stream, symbol, now, after) for symbol in silent])


def _stale_event(provider: str, stream: str, symbol: str, now_ns: int, after_s: float) -> Integrity:
    now = from_ns(now_ns)
    return Integrity(
        symbol=symbol,
        ts=now,
        ts_recv=now,
        provider=provider,
        stream=stream,
        kind="stale",
        expected=f"events within {after_s:g} s",
        received="none",
        description=f"no events for {after_s:g} s in the trading session while the connection lived; resubscribed",
    )
