"""What the IB tests share: a capture context, a request, the session script, running capture() to a count."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import trio

from mdc.core.events import MarketEvent
from mdc.core.live import Backoff, Breaker
from mdc.core.provider import CaptureRequest, FeedState, ProviderReject, RawLine, Resilience

FIXTURES = Path(__file__).resolve().parent / "fixtures"
NS = 1_000_000_000


def script(name: str = "session.json") -> dict[str, Any]:
    """A fake-TWS script from the fixtures."""
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def fast(**extra: Any) -> Resilience:
    """Resilience for tests: quick backoff, a quick heartbeat, no stale watch unless asked."""
    settings: dict[str, Any] = {
        "backoff": Backoff(base_s=0.01, cap_s=0.05),
        "breaker": Breaker(threshold=3, cooldown_ns=10 * NS),
        "idle_timeout_s": 1.0,
        "stale_after_s": 3600.0,
    }
    settings.update(extra)
    return Resilience(**settings)


def request(symbols: Sequence[str], url: str, resilience: Resilience | None = None, **options: str) -> CaptureRequest:
    """A capture request for the fake TWS at ``url``."""
    return CaptureRequest(
        symbols=tuple(symbols),
        options={"url": url, "connect-timeout": "2", **options},
        resilience=resilience or fast(),
    )


class Context:
    """A CaptureContext that records what the provider says (its clock is read from the loop thread too)."""

    def __init__(self, symbols: Sequence[str], *, session: bool = True) -> None:
        self.wanted = frozenset(symbols)
        self.changed = trio.Event()
        self.reports: list[tuple[FeedState, str]] = []
        self.rejects: list[ProviderReject] = []
        self.session = session

    def now_ns(self) -> int:
        return time.time_ns()

    def report(self, provider: str, state: FeedState, detail: str = "") -> None:
        assert provider == "ib"
        self.reports.append((state, detail))

    def reject(self, provider: str, reject: ProviderReject) -> None:
        self.rejects.append(reject)

    def symbols(self) -> frozenset[str]:
        return self.wanted

    async def symbols_changed(self) -> frozenset[str]:
        await self.changed.wait()
        self.changed = trio.Event()
        return self.wanted

    def change(self, symbols: Sequence[str]) -> None:
        self.wanted = frozenset(symbols)
        self.changed.set()

    def credentials(self, provider: str) -> Mapping[str, str]:
        return {}

    def in_session(self, symbol: str) -> bool:
        return self.session

    def details(self, state: FeedState) -> list[str]:
        return [detail for reported, detail in self.reports if reported is state]


class Sink:
    """An emit that collects events and cancels the capture once it holds ``count`` (or a predicate holds)."""

    def __init__(self, count: int, scope: trio.CancelScope | None = None) -> None:
        self.count = count
        self.events: list[MarketEvent] = []
        self.scope = scope or trio.CancelScope()

    async def __call__(self, items: Sequence[MarketEvent | RawLine]) -> None:
        for item in items:
            assert not isinstance(item, bytes)
            self.events.append(item)
        if len(self.events) >= self.count:
            self.scope.cancel()

    def of(self, kind: str) -> list[MarketEvent]:
        return [event for event in self.events if kind == event.TYPE]


def trio_test(function: Callable[..., Awaitable[None]]) -> Callable[..., None]:
    """Run an async test function under trio.run (the suite has no pytest-trio)."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> None:
        trio.run(functools.partial(function, *args, **kwargs))

    return run
