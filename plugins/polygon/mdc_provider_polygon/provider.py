"""The ``polygon`` provider: options and credentials in, mdc's WebSocket runner does the rest.

``mdc-capture polygon SPY AAPL [--feed realtime|delayed] [-o channels=T,Q,A,AM] [--url URL]``
connects to Polygon's (Massive's) stocks cluster, authenticates with the API
key, subscribes each symbol to the chosen channels and writes trades, quotes
and bars. Reconnects, heartbeats, silent symbols, symbol changes and failover
are :func:`mdc.io.feed.run_websocket_feed`'s; the protocol is
:class:`~mdc_provider_polygon.protocol.PolygonProtocol`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from attrs import frozen

from mdc.core.provider import (
    Capability,
    CaptureContext,
    CaptureRequest,
    CredentialSpec,
    Emit,
    OptionSpec,
    ProviderError,
    ProviderInfo,
)
from mdc.io.feed import probe_websocket_feed, run_websocket_feed

from .parse import PROVIDER
from .protocol import CHANNELS, PolygonProtocol

FEEDS: Final = {
    "realtime": ("wss://socket.polygon.io/stocks", "polygon.stocks", ("T", "Q")),
    "delayed": ("wss://delayed.polygon.io/stocks", "polygon.delayed", ("T",)),
}
"""Feed -> (URL, stream id, default channels). Quotes are real time only (Polygon's spec)."""
API_KEY_ENV: Final = "POLYGON_API_KEY"
EXIT_USAGE: Final = 2
EXIT_CREDENTIALS: Final = 77
PROBE_TIMEOUT_S: Final = 10.0


@frozen
class Settings:
    """What the options ask for.

    Attributes:
        url: the WebSocket URL.
        stream: the stream id on every event.
        channels: the channels each symbol is subscribed to.
    """

    url: str
    stream: str
    channels: tuple[str, ...]


def settings(options: Mapping[str, str]) -> Settings:
    """Read the ``url``, ``feed`` and ``channels`` options.

    Args:
        options: the provider options by name.

    Returns:
        The settings.

    Raises:
        ProviderError: an unknown feed or channel (exit 2).
    """
    feed = options.get("feed", "realtime")
    if feed not in FEEDS:
        raise ProviderError(f"polygon: unknown feed {feed!r} (realtime or delayed)", EXIT_USAGE)
    url, stream, default = FEEDS[feed]
    channels = default
    if "channels" in options:
        named = tuple(dict.fromkeys(part.strip().upper() for part in options["channels"].split(",") if part.strip()))
        unknown = [channel for channel in named if channel not in CHANNELS]
        if unknown or not named:
            raise ProviderError(
                f"polygon: unknown channel {', '.join(unknown) or '(none given)'} (give some of {','.join(CHANNELS)})",
                EXIT_USAGE,
            )
        channels = named
    return Settings(url=options.get("url", url), stream=stream, channels=channels)


def _api_key(context: CaptureContext) -> str:
    key = context.credentials(PROVIDER).get("api_key", "")
    if not key:
        raise ProviderError(
            f"polygon: no API key: set {API_KEY_ENV}, or store it in the keyring (service mdc, user polygon:api_key),"
            " or give api_key under [providers.polygon] in the config file",
            EXIT_CREDENTIALS,
        )
    return key


class PolygonProvider:
    """Polygon's stocks WebSocket: trades, quotes, second and minute aggregates."""

    info: Final = ProviderInfo(
        name=PROVIDER,
        summary="Polygon.io (Massive) stocks WebSocket: trades, NBBO quotes, 1s and 1m aggregates",
        capabilities=frozenset({Capability.REALTIME_TRADES, Capability.REALTIME_QUOTES, Capability.REALTIME_BARS}),
        needs_credentials=True,
        options=(
            OptionSpec("url", "connect here instead of Polygon's own endpoint (tests, proxies)"),
            OptionSpec(
                "feed", "'realtime' (default, stream polygon.stocks) or 'delayed' (15 minutes, polygon.delayed)"
            ),
            OptionSpec(
                "channels", "comma list of T (trades), Q (quotes), A (1s bars), AM (1m bars); default T,Q (delayed: T)"
            ),
        ),
        symbol_types=("equity",),
        rate_limit="one connection per cluster per API key unless Polygon raises it; no symbol limit",
        credentials=(CredentialSpec("api_key", env=API_KEY_ENV, help="your Polygon (Massive) API key"),),
    )

    async def capture(self, request: CaptureRequest, emit: Emit, context: CaptureContext) -> None:
        """Capture until cancelled, reconnecting as the request's resilience says.

        Raises:
            ProviderError: a bad option (exit 2), no API key or a refused one (exit 77).
            ProviderUnavailable: the breaker opened.
        """
        chosen = settings(request.options)
        api_key = _api_key(context)
        await run_websocket_feed(
            provider=PROVIDER,
            make_protocol=lambda: PolygonProtocol(api_key=api_key, stream=chosen.stream, channels=chosen.channels),
            url=chosen.url,
            request=request,
            emit=emit,
            context=context,
        )

    async def probe(self, request: CaptureRequest, context: CaptureContext) -> None:
        """Connect and authenticate, then close (used to fail back to this provider).

        Raises:
            ProviderError: still down, or the key is refused.
        """
        chosen = settings(request.options)
        api_key = _api_key(context)
        await probe_websocket_feed(
            provider=PROVIDER,
            make_protocol=lambda: PolygonProtocol(api_key=api_key, stream=chosen.stream, channels=chosen.channels),
            url=chosen.url,
            timeout_s=PROBE_TIMEOUT_S,
        )


provider: Final = PolygonProvider()
"""The entry point (``mdc.providers``: ``polygon``)."""
