"""The ``alpaca`` provider: what it declares, and how it runs (mdc's WebSocket runner does the work)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final

from returns.result import Failure

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

from .options import CHANNELS, DEFAULT_CHANNELS, FEEDS, Settings, read_settings
from .parse import PROVIDER
from .protocol import AlpacaProtocol

EXIT_USAGE: Final = 2
EXIT_NOPERM: Final = 77
KEY_ID: Final = CredentialSpec("key_id", env="APCA_API_KEY_ID", help="Alpaca API key id")
SECRET_KEY: Final = CredentialSpec("secret_key", env="APCA_API_SECRET_KEY", help="Alpaca API secret key")


class AlpacaProvider:
    """Alpaca's market data stream v2 for US stocks (see :mod:`mdc_provider_alpaca.protocol`)."""

    info: Final = ProviderInfo(
        name=PROVIDER,
        summary="Alpaca market data stream v2: US stock trades, quotes, bars, statuses, LULDs, corrections",
        capabilities=frozenset({Capability.REALTIME_TRADES, Capability.REALTIME_QUOTES, Capability.REALTIME_BARS}),
        needs_credentials=True,
        options=(
            OptionSpec("feed", f"{', '.join(FEEDS)} (default: iex, or the feed --url names)"),
            OptionSpec("url", "the stream's WebSocket URL (default: Alpaca's, for the feed)"),
            OptionSpec(
                "channels",
                f"comma-separated channels of {', '.join(CHANNELS)}, or all "
                f"(default {','.join(DEFAULT_CHANNELS)}; trades,quotes,bars on the test feed)",
            ),
        ),
        symbol_types=("equity",),
        rate_limit="one connection per feed for most plans; the free IEX plan allows 30 symbols for trades and quotes",
        credentials=(KEY_ID, SECRET_KEY),
    )

    async def capture(self, request: CaptureRequest, emit: Emit, context: CaptureContext) -> None:
        """Stream until cancelled; mdc's runner reconnects, resubscribes and fails over.

        Raises:
            ProviderError: a bad option (exit 2), missing or refused credentials (77), too many symbols (2).
        """
        settings, make_protocol = _connection(request, context)
        url = settings.url
        await run_websocket_feed(
            provider=PROVIDER, make_protocol=make_protocol, url=url, request=request, emit=emit, context=context
        )

    async def probe(self, request: CaptureRequest, context: CaptureContext) -> None:
        """Connect and authenticate, then close (mdc uses it to fail back after a failover).

        Raises:
            ProviderError: still down, or the credentials are refused.
        """
        settings, make_protocol = _connection(request, context)
        await probe_websocket_feed(provider=PROVIDER, make_protocol=make_protocol, url=settings.url)


def _connection(request: CaptureRequest, context: CaptureContext) -> tuple[Settings, Callable[[], AlpacaProtocol]]:
    result = read_settings(request.options)
    if isinstance(result, Failure):
        raise ProviderError(f"{PROVIDER}: {result.failure()}", EXIT_USAGE)
    settings = result.unwrap()
    credentials = context.credentials(PROVIDER)
    key_id, secret_key = credentials.get(KEY_ID.name), credentials.get(SECRET_KEY.name)
    if not key_id or not secret_key:
        missing = [spec.env for spec in (KEY_ID, SECRET_KEY) if not credentials.get(spec.name)]
        raise ProviderError(
            f"{PROVIDER}: no {' and no '.join(str(name) for name in missing)}: set "
            f"{KEY_ID.env} and {SECRET_KEY.env} (or keep them in the keyring, service mdc, "
            f"users {PROVIDER}:{KEY_ID.name} and {PROVIDER}:{SECRET_KEY.name}, or in the config file)",
            EXIT_NOPERM,
        )
    make_protocol = partial(
        AlpacaProtocol, feed=settings.feed, channels=settings.channels, key_id=key_id, secret_key=secret_key
    )
    return settings, make_protocol


provider: Final = AlpacaProvider()
