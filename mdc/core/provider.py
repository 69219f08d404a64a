"""The provider plugin contract, shared by the built-in simulator and every plugin.

A provider is an object with an ``info`` attribute (:class:`ProviderInfo`) and
an async ``capture`` method. Distributions register one under the
:data:`ENTRY_POINT_GROUP` entry-point group; ``mdc.io.plugins`` finds them, so
a third party adds a provider by installing a package. The contract is typing
only: the core imports no async library.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Final, Protocol

from attrs import field, frozen

from .events import MarketEvent

ENTRY_POINT_GROUP: Final = "mdc.providers"


class Capability(enum.Enum):
    """What a provider can deliver."""

    REALTIME_TRADES = "realtime-trades"
    REALTIME_QUOTES = "realtime-quotes"
    REALTIME_DEPTH = "realtime-depth"
    REALTIME_BARS = "realtime-bars"
    HISTORICAL_TRADES = "historical-trades"
    HISTORICAL_QUOTES = "historical-quotes"
    HISTORICAL_BARS = "historical-bars"
    FAULT_INJECTION = "fault-injection"


@frozen
class OptionSpec:
    """One provider-specific option of ``mdc-capture``.

    Attributes:
        name: the option name without dashes, e.g. ``seed``.
        help: one line for ``--list-providers`` and errors.
    """

    name: str
    help: str


@frozen
class ProviderInfo:
    """What a provider declares about itself.

    Attributes:
        name: the name users type (``mdc-capture NAME``).
        summary: one line.
        capabilities: what it delivers.
        needs_credentials: whether it needs an account.
        options: the ``mdc-capture`` options it understands beyond the common ones.
        symbol_types: kinds of instrument it serves (``equity``, ``crypto`` ...).
        rate_limit: a human description of its limits, when it has any.
    """

    name: str
    summary: str
    capabilities: frozenset[Capability]
    needs_credentials: bool = False
    options: tuple[OptionSpec, ...] = ()
    symbol_types: tuple[str, ...] = ()
    rate_limit: str | None = None


@frozen
class CaptureRequest:
    """What ``mdc-capture`` asks a provider for.

    Attributes:
        symbols: the symbols, already checked against the symbol grammar.
        options: provider-specific options by name (only those in ``info.options``).
        max_events: stop after this many events, or None.
        duration_ns: stop after this much wall time, or None.
        start_ns: the wall clock at start, nanoseconds since the epoch (time comes in as data).
    """

    symbols: tuple[str, ...]
    options: Mapping[str, str] = field(factory=dict)
    max_events: int | None = None
    duration_ns: int | None = None
    start_ns: int = 0


RawLine = bytes
"""A line to write out as it is (fault injection writes malformed lines on purpose)."""

Emit = Callable[[Sequence[MarketEvent | RawLine]], Awaitable[None]]
"""Hands a batch of output to the shell, which encodes and writes it in order."""


class ProviderError(Exception):
    """A provider cannot start or go on (bad option, unreachable, refused credentials).

    Attributes:
        exit_code: the exit code the shell should use (69 unavailable, 2 usage ...).
    """

    def __init__(self, message: str, exit_code: int = 69) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Provider(Protocol):
    """A source of market events."""

    @property
    def info(self) -> ProviderInfo:
        """What the provider declares about itself."""
        ...

    async def capture(self, request: CaptureRequest, emit: Emit) -> None:
        """Produce events for ``request`` through ``emit`` until done or cancelled.

        Raises:
            ProviderError: the provider cannot start or go on.
        """
        ...


__all__ = [
    "ENTRY_POINT_GROUP",
    "Capability",
    "CaptureRequest",
    "Emit",
    "OptionSpec",
    "Provider",
    "ProviderError",
    "ProviderInfo",
    "RawLine",
]
