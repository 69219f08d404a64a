"""What ``mdc-capture`` runs around its providers: queue, status, failover, reloads.

* :class:`EventQueue` is the bounded queue between the network and stdout
  (50,000 events by default). Under ``block`` a full queue makes the provider
  wait (TCP pushes back on the server); under ``drop-oldest`` the oldest
  events go, are counted, and come out as ``integrity dropped`` events (one per
  provider, stream and symbol) ahead of the next batch written.
* :class:`Session` is the :class:`~mdc.core.provider.CaptureContext`: the
  clock, the wanted symbols (changed by a config reload or SIGHUP), resolved
  credentials, trading hours, and the status, which goes to stderr on every
  change and to ``--status-file`` as JSON, replaced atomically, every second.
* :class:`BookTap` (``--book``) keeps an L2 book per symbol from the depth the
  providers emit, with the core's collector (:mod:`mdc.core.book`, the one
  ``mdc-book`` runs), and adds its quotes, snapshots and integrity events to
  the stream, each right after the event that caused it.
* :func:`run_providers` runs the first provider, fails over to the next when
  one's breaker opens (or it cannot start), and keeps probing the ones before
  it, moving back as soon as one answers.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final, cast

import trio
from attrs import evolve

from mdc.core import book
from mdc.core.codec import encode_event
from mdc.core.events import Integrity, MarketEvent
from mdc.core.provider import (
    CaptureRequest,
    FeedState,
    Probe,
    Provider,
    ProviderError,
    ProviderReject,
    ProviderUnavailable,
    RawLine,
)
from mdc.core.timestamps import NS_PER_SECOND, from_ns

from .atomic import write_atomically
from .config import TradingHours
from .tasks import one_error

DEFAULT_QUEUE: Final = 50_000
REJECT_PREVIEW: Final = 300


class EventQueue:
    """A bounded queue of output items with a backpressure policy.

    Args:
        capacity: the most items held.
        drop_oldest: drop the oldest items when full (else make the producer wait).
    """

    def __init__(self, capacity: int = DEFAULT_QUEUE, *, drop_oldest: bool = False) -> None:
        self.capacity = capacity
        self.drop_oldest = drop_oldest
        self._items: deque[MarketEvent | RawLine] = deque()
        self._space = trio.Condition()
        self._ready = trio.Event()
        self._dropped: Counter[tuple[str, str, str]] = Counter()
        self.dropped_total = 0
        self.closed = False

    async def put(self, items: Sequence[MarketEvent | RawLine]) -> None:
        """Add items (waiting for room under ``block``)."""
        if len(self._items) + len(items) <= self.capacity:  # the usual case: room for the whole batch
            self._items.extend(items)
        else:
            for item in items:
                if len(self._items) >= self.capacity:
                    if self.drop_oldest:
                        self._drop()
                    else:
                        async with self._space:
                            while len(self._items) >= self.capacity:
                                self._ready.set()
                                await self._space.wait()
                self._items.append(item)
        if self._items:
            self._ready.set()

    def _drop(self) -> None:
        item = self._items.popleft()
        self.dropped_total += 1
        if not isinstance(item, bytes):
            self._dropped[(item.provider, item.stream, item.symbol)] += 1

    async def take(self) -> list[MarketEvent | RawLine]:
        """Wait for items and take them all, ``integrity dropped`` events first. [] once closed and empty."""
        while not self._items and not self._dropped and not self.closed:
            self._ready = trio.Event()
            await self._ready.wait()
        taken: list[MarketEvent | RawLine] = list(self._dropped_events())
        taken.extend(self._items)
        self._items.clear()
        async with self._space:
            self._space.notify_all()
        return taken

    def _dropped_events(self) -> list[Integrity]:
        if not self._dropped:
            return []
        now = from_ns(time.time_ns())
        events = [
            Integrity(
                symbol=symbol,
                ts=now,
                ts_recv=now,
                provider=provider,
                stream=stream,
                kind="dropped",
                expected=0,
                received=count,
                description=f"{count} event{'s' if count != 1 else ''} dropped: the queue was full"
                " (--backpressure drop-oldest)",
            )
            for (provider, stream, symbol), count in sorted(self._dropped.items())
        ]
        self._dropped.clear()
        return events

    def close(self) -> None:
        """No more items will come."""
        self.closed = True
        self._ready.set()

    def __len__(self) -> int:
        return len(self._items)


class Session:
    """The capture's :class:`~mdc.core.provider.CaptureContext`, status included.

    Args:
        symbols: the symbols wanted at start.
        credentials: resolved credentials per provider.
        hours: trading hours per symbol (default: US equity regular hours; ``/`` symbols always open).
        say: writes a line to stderr (already redacting secrets).
        status_file: where the status JSON goes, if anywhere.
    """

    def __init__(
        self,
        symbols: Sequence[str],
        credentials: Mapping[str, Mapping[str, str]],
        hours: Mapping[str, TradingHours],
        say: Callable[[str], None],
        status_file: Path | None,
    ) -> None:
        self._symbols = frozenset(symbols)
        self._changed = trio.Event()
        self._credentials = credentials
        self._hours = hours
        self._say = say
        self.status_file = status_file
        self.status: dict[str, object] = {
            "started": from_ns(time.time_ns()),
            "symbols": sorted(symbols),
            "providers": {},
            "active": None,
            "events": 0,
            "dropped": 0,
            "rejects": 0,
            "events_per_s": 0.0,
        }

    # ---------------------------------------------------------------- CaptureContext

    def now_ns(self) -> int:
        """The wall clock."""
        return time.time_ns()

    def report(self, provider: str, state: FeedState, detail: str = "") -> None:
        """Record a provider's connection state; say it on stderr."""
        providers = cast("dict[str, dict[str, object]]", self.status["providers"])
        entry = providers.setdefault(provider, {"state": "", "reconnects": 0, "since": ""})
        if state is FeedState.DISCONNECTED:
            entry["reconnects"] = cast("int", entry["reconnects"]) + 1
        entry.update(state=state.value, since=from_ns(self.now_ns()), detail=detail)
        if state in (FeedState.CONNECTING, FeedState.SUBSCRIBED):
            return  # routine; the others are worth a line
        self._say(f"{provider}: {state.value}" + (f" ({detail})" if detail else ""))

    def reject(self, provider: str, reject: ProviderReject) -> None:
        """A provider message that could not be parsed: one line on stderr with the raw message."""
        self.status["rejects"] = cast("int", self.status["rejects"]) + 1
        raw = reject.raw if len(reject.raw) <= REJECT_PREVIEW else reject.raw[:REJECT_PREVIEW] + "..."
        self._say(f"{provider}: rejected message: {reject.reason}: {_printable(raw)}")

    def symbols(self) -> frozenset[str]:
        """The symbols wanted now."""
        return self._symbols

    async def symbols_changed(self) -> frozenset[str]:
        """Wait for the wanted symbols to change."""
        await self._changed.wait()
        return self._symbols

    def credentials(self, provider: str) -> Mapping[str, str]:
        """A provider's credentials."""
        return self._credentials.get(provider, {})

    def in_session(self, symbol: str) -> bool:
        """Whether the symbol's market is open now."""
        hours = self._hours.get(symbol)
        if hours is None:
            hours = TradingHours(always=True) if "/" in symbol else TradingHours()
        return hours.is_open(self.now_ns())

    # ---------------------------------------------------------------- the shell's side

    def change_symbols(self, symbols: Sequence[str]) -> tuple[list[str], list[str]]:
        """Set the wanted symbols (a reload); returns (added, removed)."""
        new = frozenset(symbols)
        added, removed = sorted(new - self._symbols), sorted(self._symbols - new)
        if added or removed:
            self._symbols = new
            self.status["symbols"] = sorted(new)
            changed, self._changed = self._changed, trio.Event()
            changed.set()
        return added, removed

    def write_status(self, events: int, dropped: int, rate: float) -> None:
        """Replace the status file atomically with the current status."""
        self.status.update(events=events, dropped=dropped, events_per_s=round(rate, 1), updated=from_ns(self.now_ns()))
        if self.status_file is not None:
            write_atomically(self.status_file, (json.dumps(self.status, indent=1) + "\n").encode())


class BookTap:
    """The book collector between the providers and the queue (``mdc-capture --book``).

    Every event passes through unchanged, followed by what the books make of it:
    ``integrity`` (depth_invalid, book_frozen, book_reset, crossed/locked),
    ``quote`` when the best bid or ask changes, and ``snapshot`` as the
    :class:`~mdc.core.book.Emission` says: exactly what ``mdc-book`` writes for
    the same events. A provider's own snapshot replaces its book, so a
    resubscription that starts with one resets it. Raw reject lines pass through.
    """

    def __init__(self, emission: book.Emission) -> None:
        self.state = book.BookState(emission)

    def __call__(self, items: Sequence[MarketEvent | RawLine]) -> list[MarketEvent | RawLine]:
        """The batch with the books' events inserted after the events that caused them."""
        transient = book.thaw(self.state)
        out: list[MarketEvent | RawLine] = []
        derived: list[MarketEvent] = []
        for item in items:
            out.append(item)
            if isinstance(item, bytes):
                continue
            book.step_in(transient, item, derived)
            if derived:
                out.extend(derived)
                derived.clear()
        self.state = book.freeze(transient)
        return out


def _printable(text: str) -> str:
    """The text with control characters escaped as Python would (a NUL as backslash x00), one line per reject."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


def encode_items(items: Sequence[MarketEvent | RawLine]) -> bytes:
    """NDJSON for a batch of output items."""
    lines = [item if isinstance(item, bytes) else encode_event(item) for item in items]
    lines.append(b"")  # the newline after the last line
    return b"\n".join(lines)


async def run_providers(
    providers: Sequence[tuple[str, Provider]],
    request: CaptureRequest,
    emit: Callable[[Sequence[MarketEvent | RawLine]], object],
    session: Session,
    *,
    retries: int | None = None,
    options: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Run the first provider; fail over down the list when one is down, and back when it recovers.

    With a single provider there is nothing to fail over to: a down provider
    is retried after its breaker's cooldown, ``retries`` times (None: for ever).
    ``options`` gives each provider (by name) its own options in place of
    ``request.options``, so that two providers can each have their own URL or feed.

    Raises:
        ProviderError: a provider refused something retrying cannot fix, or every provider stayed down.
    """
    index = 0
    failures = 0
    while True:
        name, provider = providers[index]
        session.status["active"] = name
        switched_back: list[int] = []
        try:
            await _run_one(
                provider, index, providers, _requests(request, providers, options), emit, session, switched_back
            )
        except ProviderUnavailable as error:
            if index + 1 < len(providers):
                session.report(name, FeedState.DISCONNECTED, f"{error}; failing over to {providers[index + 1][0]}")
                index += 1
                continue
            failures += 1
            if retries is not None and failures > retries:
                raise
            session.report(name, FeedState.DISCONNECTED, f"{error}; trying again after the cooldown")
            await trio.sleep(request.resilience.breaker.cooldown_ns / NS_PER_SECOND)
            index = 0
            continue
        if switched_back:
            index = switched_back[0]
            session.report(providers[index][0], FeedState.CONNECTED, "recovered; failing back")
            continue
        return


def _requests(
    request: CaptureRequest,
    providers: Sequence[tuple[str, Provider]],
    options: Mapping[str, Mapping[str, str]] | None,
) -> list[CaptureRequest]:
    """The request for each provider, in order: the shared one with that provider's options."""
    if options is None:
        return [request] * len(providers)
    return [evolve(request, options=dict(options.get(name, request.options))) for name, _ in providers]


async def _run_one(  # noqa: PLR0917
    provider: Provider,
    index: int,
    providers: Sequence[tuple[str, Provider]],
    requests: Sequence[CaptureRequest],
    emit: Callable[[Sequence[MarketEvent | RawLine]], object],
    session: Session,
    switched_back: list[int],
) -> None:
    """Capture from one provider while probing the ones before it (it is cancelled when one recovers)."""
    with one_error():
        async with trio.open_nursery() as nursery:
            if index > 0:
                nursery.start_soon(
                    _probe_earlier, providers[:index], requests, session, switched_back, nursery.cancel_scope
                )
            await provider.capture(requests[index], emit, session)  # type: ignore[arg-type]
            nursery.cancel_scope.cancel()


async def _probe_earlier(
    earlier: Sequence[tuple[str, Provider]],
    requests: Sequence[CaptureRequest],
    session: Session,
    switched_back: list[int],
    scope: trio.CancelScope,
) -> None:
    """Every cooldown, probe the providers before the active one; cancel it when one answers."""
    cooldown_s = requests[0].resilience.breaker.cooldown_ns / NS_PER_SECOND
    while True:
        await trio.sleep(max(cooldown_s, 0.05))
        for position, (_, provider) in enumerate(earlier):
            if not hasattr(provider, "probe"):
                continue
            try:
                await cast("Probe", provider).probe(requests[position], session)
            except ProviderError:
                continue
            switched_back.append(position)
            scope.cancel()
            return


__all__ = ["DEFAULT_QUEUE", "BookTap", "EventQueue", "Session", "encode_items", "run_providers"]
