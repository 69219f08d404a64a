"""The example provider: what it declares, and how it runs (mdc's WebSocket runner does the work)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Final

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
from .protocol import ExampleProtocol

DEFAULT_URL: Final = "ws://127.0.0.1:8765/feed"
EXIT_NOPERM: Final = 77


class ExampleProvider:
    """A WebSocket feed of trades and quotes (see :mod:`mdc_provider_example.protocol`)."""

    info: Final = ProviderInfo(
        name=PROVIDER,
        summary="example WebSocket feed of trades and quotes (the plugin template)",
        capabilities=frozenset({Capability.REALTIME_TRADES, Capability.REALTIME_QUOTES}),
        needs_credentials=True,
        options=(
            OptionSpec("url", f"the server's WebSocket URL (default {DEFAULT_URL})"),
            OptionSpec("feed", "the feed name stamped into the stream id (default live)"),
        ),
        symbol_types=("equity",),
        credentials=(CredentialSpec("token", env="EXAMPLE_TOKEN", help="the feed's access token"),),
    )

    async def capture(self, request: CaptureRequest, emit: Emit, context: CaptureContext) -> None:
        """Stream until cancelled; mdc's runner reconnects, resubscribes and fails over."""
        url, make_protocol = self._connection(request, context)
        await run_websocket_feed(
            provider=PROVIDER, make_protocol=make_protocol, url=url, request=request, emit=emit, context=context
        )

    async def probe(self, request: CaptureRequest, context: CaptureContext) -> None:
        """Connect and authenticate, then close (mdc uses it to fail back after a failover)."""
        url, make_protocol = self._connection(request, context)
        await probe_websocket_feed(provider=PROVIDER, make_protocol=make_protocol, url=url)

    def _connection(
        self, request: CaptureRequest, context: CaptureContext
    ) -> tuple[str, Callable[[], ExampleProtocol]]:
        token = context.credentials(PROVIDER).get("token")
        if not token:
            raise ProviderError("example needs a token: set EXAMPLE_TOKEN (or use the keyring)", EXIT_NOPERM)
        stream = f"{PROVIDER}.{request.options.get('feed', 'live')}"
        return request.options.get("url", DEFAULT_URL), partial(ExampleProtocol, token, stream)


provider = ExampleProvider()
