"""The ``ib`` provider: Interactive Brokers through TWS or IB Gateway, via ib_async, bridged to trio.

Not a WebSocket provider: TWS speaks its own socket protocol, which ib_async
implements on asyncio. :meth:`IbProvider.capture` runs ib_async's loop in one
long-lived thread (:class:`~mdc_provider_ib.bridge.LoopThread`) and on the trio
side only reads what each connection delivers (:mod:`mdc_provider_ib.session`),
hands events to ``emit``, reports status, follows symbol changes and watches
for silent symbols. Reconnects back off with full jitter and a circuit
breaker (:mod:`mdc.core.live`), as the WebSocket providers do.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Final

import trio
from ib_async import IB
from returns.result import Failure

from mdc.core.events import Integrity, MarketEvent
from mdc.core.live import Breaker, allows, delay, failed, stale, succeeded
from mdc.core.provider import (
    Capability,
    CaptureContext,
    CaptureRequest,
    Emit,
    FeedState,
    ProviderError,
    ProviderInfo,
    ProviderReject,
    ProviderUnavailable,
)
from mdc.core.timestamps import NS_PER_SECOND, from_ns
from mdc.io.tasks import one_error

from .bridge import LoopThread, Outbox
from .contracts import resolve
from .options import OPTIONS, plan_from
from .parse import PROVIDER
from .session import Batch, Connection, Ended, Fatal, Message, Plan, Report

CHANNEL_CAPACITY: Final = 256
"""Batches in flight from the loop thread to trio (each is one TWS packet's worth)."""
STOP_WAIT_S: Final = 5.0
EXIT_USAGE: Final = 2


class IbProvider:
    """Interactive Brokers market data: tick-by-tick trades and quotes, depth, 5-second bars, top of book.

    Args:
        ib_factory: makes each connection's :class:`ib_async.IB` (tests inject theirs).
        rng: the jitter source (tests pass a seeded one).
    """

    info: Final = ProviderInfo(
        name=PROVIDER,
        summary="Interactive Brokers via TWS or IB Gateway (ib_async): tick-by-tick, depth, 5 s bars",
        capabilities=frozenset(
            {
                Capability.REALTIME_TRADES,
                Capability.REALTIME_QUOTES,
                Capability.REALTIME_DEPTH,
                Capability.REALTIME_BARS,
            }
        ),
        options=OPTIONS,
        symbol_types=("stock", "etf", "index", "future", "forex", "option"),
        rate_limit="TWS takes 50 messages/s (ib_async sends at most 45); depth and tick-by-tick "
        "subscriptions are limited per account (3 each unless market data boosters raise it)",
    )

    def __init__(self, ib_factory: Callable[[], IB] = IB, rng: random.Random | None = None) -> None:
        self._factory = ib_factory
        self._rng = rng or random.Random()

    async def capture(self, request: CaptureRequest, emit: Emit, context: CaptureContext) -> None:
        """Capture until cancelled, reconnecting as the request's resilience says.

        Raises:
            ProviderError: bad options or symbols (2), no permission (77), IB refused a symbol (2).
            ProviderUnavailable: the breaker opened (TWS down or unreachable).
        """
        plan = _plan(request)
        _quiet_ib_async()
        thread = LoopThread()
        try:
            await self._run(plan, thread, request, emit, context)
        finally:
            await thread.close()

    async def probe(self, request: CaptureRequest, context: CaptureContext) -> None:
        """Connect to TWS and close again.

        Raises:
            ProviderError: TWS is still unreachable (ProviderUnavailable) or refuses the client.
        """
        plan = _plan(request)
        _quiet_ib_async()
        thread = LoopThread()
        try:
            with trio.fail_after(plan.connect_timeout_s * 2 + 1):
                await _Run(self._factory, plan, thread, context, None, {}).connect_only()
        except trio.TooSlowError:
            raise ProviderUnavailable(f"ib: no answer from {plan.url}") from None
        finally:
            await thread.close()

    async def _run(
        self, plan: Plan, thread: LoopThread, request: CaptureRequest, emit: Emit, context: CaptureContext
    ) -> None:
        resilience = request.resilience
        breaker: Breaker = resilience.breaker
        attempt = 0
        last_error = ""
        qualified: dict[str, object] = {}
        while True:
            allowed = allows(breaker, context.now_ns())
            if allowed is None:
                raise ProviderUnavailable(f"ib: down after {breaker.failures} failed attempts ({last_error})")
            breaker = allowed
            context.report(PROVIDER, FeedState.CONNECTING, plan.url)
            ended = await _Run(self._factory, plan, thread, context, emit, qualified, request).run()
            last_error = ended.reason
            if ended.healthy:  # it worked for a while: start counting afresh
                breaker, attempt = succeeded(breaker), 0
            context.report(PROVIDER, FeedState.DISCONNECTED, last_error)
            breaker = failed(breaker, context.now_ns())
            await trio.sleep(delay(resilience.backoff, attempt, self._rng.random()))
            attempt += 1


provider: Final = IbProvider()


class _Run:
    """The trio side of one connection."""

    def __init__(  # noqa: PLR0917
        self,
        factory: Callable[[], IB],
        plan: Plan,
        thread: LoopThread,
        context: CaptureContext,
        emit: Emit | None,
        qualified: dict[str, object],
        request: CaptureRequest | None = None,
    ) -> None:
        self.plan = plan
        self.thread = thread
        self.context = context
        self.emit = emit
        self.request = request
        self.send, self.receive = trio.open_memory_channel[Message](CHANNEL_CAPACITY)
        outbox = Outbox(self.send, trio.lowlevel.current_trio_token())
        wanted = context.symbols() if emit is not None else frozenset()
        self.connection = Connection(plan, factory, outbox, context.now_ns, wanted, qualified)  # type: ignore[arg-type]
        self.last_seen: dict[str, int] = {}
        self.since: int | None = None

    async def run(self) -> Ended:
        """Run the connection until it ends; its end says why.

        Raises:
            ProviderError: IB said something retrying cannot fix.
        """
        future = self.thread.submit(self.connection.run())
        try:
            with one_error():
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._follow)
                    nursery.start_soon(self._watch_stale)
                    ended = await self._read()
                    nursery.cancel_scope.cancel()
            return ended
        finally:
            await self._stop(future)

    async def connect_only(self) -> None:
        """Connect, then stop as soon as TWS has answered (a probe)."""
        future = self.thread.submit(self.connection.run())
        try:
            async for message in self.receive:
                match message:
                    case Report(state=FeedState.CONNECTED):
                        return
                    case Fatal(text, code):
                        raise ProviderError(text, code)
                    case Ended(reason):
                        raise ProviderUnavailable(f"ib: {reason}")
        finally:
            await self._stop(future)

    async def _stop(self, future: concurrent.futures.Future[None]) -> None:
        with trio.CancelScope(shield=True):
            self.receive.close()  # a send blocked on a full channel fails at once
            self.thread.call(self.connection.stop)
            with trio.move_on_after(STOP_WAIT_S):
                await trio.to_thread.run_sync(concurrent.futures.wait, [future], STOP_WAIT_S)

    async def _read(self) -> Ended:
        assert self.emit is not None  # noqa: S101 # a capture's run
        async for message in self.receive:
            match message:
                case Batch(items):
                    events: list[MarketEvent] = []
                    for item in items:
                        if isinstance(item, ProviderReject):
                            self.context.reject(PROVIDER, item)
                        else:
                            events.append(item)
                    if events:
                        now = self.context.now_ns()
                        for event in events:
                            self.last_seen[event.symbol] = now
                        await self.emit(events)
                case Report(state, detail):
                    if state is FeedState.SUBSCRIBED and self.since is None:
                        self.since = self.context.now_ns()
                    self.context.report(PROVIDER, state, detail)
                case Fatal(text, code):
                    raise ProviderError(text, code)
                case Ended():
                    return message
        return Ended("the connection's messages stopped", healthy=False)  # pragma: no cover - run() always ends

    async def _follow(self) -> None:
        while True:
            wanted = await self.context.symbols_changed()
            self.thread.call(self.connection.change, wanted)

    async def _watch_stale(self) -> None:
        assert self.request is not None  # noqa: S101 # a capture's run
        after = self.request.resilience.stale_after_s
        threshold = int(after * NS_PER_SECOND)
        while True:
            await trio.sleep(max(after / 4, 0.05))
            if self.since is None or self.emit is None:
                continue
            now = self.context.now_ns()
            wanted = self.context.symbols()
            silent = [
                symbol
                for symbol in stale(self.last_seen, wanted, self.since, now, threshold)
                if self.context.in_session(symbol)
            ]
            if not silent:
                continue
            self.thread.call(self.connection.resubscribe, silent)
            for symbol in silent:
                self.last_seen[symbol] = now
            await self.emit([_stale_event(self.plan.stream, symbol, now, after) for symbol in silent])


def _plan(request: CaptureRequest) -> Plan:
    """The plan for a request, every symbol checked against the contract grammar and file (exit 2 if not)."""
    entries: dict[str, object] = {}
    path = request.options.get("contracts")
    if path is not None:
        try:
            entries = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise ProviderError(f"ib: -o contracts={path}: {error.strerror or error}", EXIT_USAGE) from None
        except tomllib.TOMLDecodeError as error:
            raise ProviderError(f"ib: -o contracts={path}: not TOML: {error}", EXIT_USAGE) from None
    result = plan_from(request.options, request.depth_levels, request.resilience.idle_timeout_s, entries)
    if isinstance(result, Failure):
        raise ProviderError(f"ib: {result.failure()}", EXIT_USAGE)
    plan = result.unwrap()
    for symbol in request.symbols:
        match resolve(symbol, plan.specs):
            case Failure(problem):
                raise ProviderError(f"ib: {symbol}: {problem}", EXIT_USAGE)
    return plan


def _quiet_ib_async() -> None:
    """ib_async logs every IB message at error level; mdc says what matters itself, on stderr, once."""
    logger = logging.getLogger("ib_async")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def _stale_event(stream: str, symbol: str, now_ns: int, after_s: float) -> Integrity:
    now = from_ns(now_ns)
    return Integrity(
        symbol=symbol,
        ts=now,
        ts_recv=now,
        provider=PROVIDER,
        stream=stream,
        kind="stale",
        expected=f"events within {after_s:g} s",
        received="none",
        description=f"no events for {after_s:g} s in the trading session while the connection lived; resubscribed",
    )
