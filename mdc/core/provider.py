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
from .live import Backoff, Breaker

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
class CredentialSpec:
    """One credential a provider needs.

    Attributes:
        name: its name in the config file and the keyring (``key_id``, ``secret_key``).
        env: the environment variable the provider's own tools read (``APCA_API_KEY_ID``), if any.
        help: one line for ``--list-providers``.
    """

    name: str
    env: str | None = None
    help: str = ""


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
        credentials: the credentials it needs, in the order it asks for them.
    """

    name: str
    summary: str
    capabilities: frozenset[Capability]
    needs_credentials: bool = False
    options: tuple[OptionSpec, ...] = ()
    symbol_types: tuple[str, ...] = ()
    rate_limit: str | None = None
    credentials: tuple[CredentialSpec, ...] = ()


@frozen
class Resilience:
    """How a live provider behaves when the network or the server misbehaves.

    Attributes:
        backoff: reconnect delays (exponential, full jitter).
        breaker: when to give up on a provider for a while (and fail over to the next).
        idle_timeout_s: a connection silent this long (no data, no heartbeat) is dead.
        stale_after_s: a subscribed symbol silent this long in its trading session is resubscribed.
    """

    backoff: Backoff = field(factory=Backoff)
    breaker: Breaker = field(factory=Breaker)
    idle_timeout_s: float = 30.0
    stale_after_s: float = 120.0


RawLine = bytes
"""A line to write out as it is (fault injection writes malformed lines on purpose)."""

Emit = Callable[[Sequence[MarketEvent | RawLine]], Awaitable[None]]
"""Hands a batch of output to the shell, which encodes and writes it in order."""


@frozen
class CaptureRequest:
    """What ``mdc-capture`` asks a provider for.

    Attributes:
        symbols: the symbols, already checked against the symbol grammar.
        options: provider-specific options by name (only those in ``info.options``).
        max_events: stop after this many events, or None.
        duration_ns: stop after this much wall time, or None.
        start_ns: the wall clock at start, nanoseconds since the epoch (time comes in as data).
        resilience: reconnects, breaker, idle and stale timeouts (live providers).
        depth_levels: book levels wanted per symbol (config ``[symbols.X] depth_levels``); a
            depth-capable provider uses its own default for a symbol not in it.
    """

    symbols: tuple[str, ...]
    options: Mapping[str, str] = field(factory=dict)
    max_events: int | None = None
    duration_ns: int | None = None
    start_ns: int = 0
    resilience: Resilience = field(factory=Resilience)
    depth_levels: Mapping[str, int] = field(factory=dict)


# ------------------------------------------------------------------ live wire protocols


class FeedFailure(enum.Enum):
    """What a feed's server said went wrong, and so what the shell does about it."""

    AUTH = "auth"
    """Credentials refused: fatal, exit 77."""
    NOT_ENTITLED = "not-entitled"
    """The account may not have this feed or data: fatal, exit 77."""
    SYMBOL_LIMIT = "symbol-limit"
    """More symbols than the plan allows: fatal, exit 2."""
    BAD_REQUEST = "bad-request"
    """A request the server will never accept as configured (a channel the feed lacks): fatal, exit 2."""
    CONNECTION_LIMIT = "connection-limit"
    """Too many connections for the account: retried with backoff, counted by the breaker."""
    PROTOCOL = "protocol"
    """Something the client cannot handle: the connection is dropped and retried."""

    @property
    def fatal(self) -> bool:
        """Whether retrying cannot help."""
        return self in (FeedFailure.AUTH, FeedFailure.NOT_ENTITLED, FeedFailure.SYMBOL_LIMIT, FeedFailure.BAD_REQUEST)

    @property
    def exit_code(self) -> int:
        """The exit code the shell uses when this ends the run."""
        codes = {
            FeedFailure.AUTH: 77,
            FeedFailure.NOT_ENTITLED: 77,
            FeedFailure.SYMBOL_LIMIT: 2,
            FeedFailure.BAD_REQUEST: 2,
        }
        return codes.get(self, 69)


@frozen
class FeedError:
    """A server error, as data.

    Attributes:
        failure: its kind.
        message: what the server said, in words (never a credential).
        code: the server's own code, when it gives one.
    """

    failure: FeedFailure
    message: str
    code: int | str | None = None


@frozen
class ProviderReject:
    """A provider message that could not be turned into events.

    Attributes:
        raw: the message as received (or the part of it that failed).
        reason: why.
    """

    raw: str
    reason: str


@frozen
class Reaction:
    """What a wire protocol makes of one message (or of the connection opening).

    Attributes:
        events: market events to emit, in order.
        send: messages to send to the server, in order.
        rejects: parts of the message that could not be parsed.
        authenticated: the server accepted the credentials with this message.
        subscribed: symbols the server confirmed with this message.
        error: a server error this message reported.
    """

    events: tuple[MarketEvent, ...] = ()
    send: tuple[str, ...] = ()
    rejects: tuple[ProviderReject, ...] = ()
    authenticated: bool = False
    subscribed: tuple[str, ...] = ()
    error: FeedError | None = None


class WireProtocol(Protocol):
    """One connection's worth of a provider's protocol, without the I/O (a sans-I/O state machine).

    The shell (``mdc.io.feed``) opens the connection, calls :meth:`opened`,
    feeds every message to :meth:`received`, sends what the reactions say,
    subscribes once authenticated, and handles reconnects, timeouts and
    failover. A protocol never raises for bad input: it rejects.
    """

    @property
    def stream(self) -> str:
        """The feed id stamped on every event (``alpaca.iex``, ``polygon.stocks``)."""
        ...

    def opened(self) -> Reaction:
        """The connection is open (send credentials now, or wait for the server's greeting)."""
        ...

    def received(self, message: str | bytes, received_ns: int) -> Reaction:
        """One message from the server, received at ``received_ns``."""
        ...

    def subscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """Messages that subscribe ``symbols`` to every channel this protocol was asked for."""
        ...

    def unsubscribe(self, symbols: Sequence[str]) -> tuple[str, ...]:
        """Messages that unsubscribe ``symbols``."""
        ...


class FeedState(enum.Enum):
    """What a live provider reports about its connection (for status and the dashboard)."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    AUTHENTICATED = "authenticated"
    SUBSCRIBED = "subscribed"
    DISCONNECTED = "disconnected"


class CaptureContext(Protocol):
    """What ``mdc-capture`` gives a provider besides its request: the clock, status, changes, credentials."""

    def now_ns(self) -> int:
        """The wall clock, in nanoseconds since the epoch."""
        ...

    def report(self, provider: str, state: FeedState, detail: str = "") -> None:
        """Tell the status (stderr, --status-file) how the connection is."""
        ...

    def reject(self, provider: str, reject: ProviderReject) -> None:
        """A provider message that could not be parsed (written to stderr as a reject line)."""
        ...

    def symbols(self) -> frozenset[str]:
        """The symbols wanted now (they change when the config file changes or SIGHUP arrives)."""
        ...

    async def symbols_changed(self) -> frozenset[str]:
        """Wait until the wanted symbols change, and return them."""
        ...

    def credentials(self, provider: str) -> Mapping[str, str]:
        """The provider's resolved credentials (environment, keyring, config file), or empty."""
        ...

    def in_session(self, symbol: str) -> bool:
        """Whether ``symbol``'s market is open now (a silent symbol outside it is not stale)."""
        ...


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

    async def capture(self, request: CaptureRequest, emit: Emit, context: CaptureContext) -> None:
        """Produce events for ``request`` through ``emit`` until done or cancelled.

        A live provider reconnects by itself while its breaker allows, and raises
        :class:`ProviderUnavailable` once the breaker opens, so that the shell
        can fail over to the next provider.

        Raises:
            ProviderError: the provider cannot start or go on.
        """
        ...


class ProviderUnavailable(ProviderError):
    """A provider's breaker opened: it is down for now (exit 69 unless another provider takes over)."""


class Probe(Protocol):
    """A provider that can be checked without capturing (the shell probes a failed-over provider)."""

    async def probe(self, request: CaptureRequest, context: CaptureContext) -> None:
        """Connect and authenticate, then close.

        Raises:
            ProviderError: it is still down (or refuses the credentials).
        """
        ...


__all__ = [
    "ENTRY_POINT_GROUP",
    "Capability",
    "CaptureContext",
    "CaptureRequest",
    "CredentialSpec",
    "Emit",
    "FeedError",
    "FeedFailure",
    "FeedState",
    "OptionSpec",
    "Probe",
    "Provider",
    "ProviderError",
    "ProviderInfo",
    "ProviderReject",
    "ProviderUnavailable",
    "RawLine",
    "Reaction",
    "Resilience",
    "WireProtocol",
]
