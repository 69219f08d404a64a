"""The provider object and its options: what it declares, what it refuses before connecting."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import trio
from mdc_provider_alpaca.options import CHANNELS, DEFAULT_CHANNELS, TEST_CHANNELS, Settings, read_settings
from mdc_provider_alpaca.provider import provider
from returns.result import Failure, Success

from mdc.core.provider import Capability, CaptureRequest, CredentialSpec, FeedState, ProviderError, ProviderReject
from mdc.io.plugins import load_provider

LOCAL = "ws://127.0.0.1:1"


class Context:
    """A capture context with fixed credentials that must not be asked to connect."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self._credentials = credentials

    def now_ns(self) -> int:
        return 0

    def report(self, provider: str, state: FeedState, detail: str = "") -> None:
        raise AssertionError("no connection was expected")

    def reject(self, provider: str, reject: ProviderReject) -> None:
        raise AssertionError("no message was expected")

    def symbols(self) -> frozenset[str]:
        return frozenset({"SPY"})

    async def symbols_changed(self) -> frozenset[str]:
        await trio.sleep_forever()
        raise AssertionError

    def credentials(self, provider: str) -> Mapping[str, str]:
        return self._credentials

    def in_session(self, symbol: str) -> bool:
        return True


async def _nothing(items: object) -> None:
    raise AssertionError("no events were expected")


def capture(options: Mapping[str, str], credentials: Mapping[str, str]) -> ProviderError:
    """The error capture raises before it connects."""
    request = CaptureRequest(symbols=("SPY",), options=options)
    with pytest.raises(ProviderError) as raised:
        trio.run(provider.capture, request, _nothing, Context(credentials))
    return raised.value


def test_the_entry_point_loads_the_provider() -> None:
    """``alpaca`` in the mdc.providers group is this provider."""
    assert load_provider("alpaca") is provider


def test_it_declares_alpacas_own_credential_variables() -> None:
    """key_id and secret_key, read from APCA_API_KEY_ID and APCA_API_SECRET_KEY like Alpaca's tools."""
    assert [(spec.name, spec.env) for spec in provider.info.credentials] == [
        ("key_id", "APCA_API_KEY_ID"),
        ("secret_key", "APCA_API_SECRET_KEY"),
    ]
    assert all(isinstance(spec, CredentialSpec) for spec in provider.info.credentials)
    assert provider.info.needs_credentials


def test_it_declares_its_options_and_capabilities() -> None:
    """feed, url and channels; trades, quotes and bars in real time."""
    assert [option.name for option in provider.info.options] == ["feed", "url", "channels"]
    assert provider.info.capabilities == {
        Capability.REALTIME_TRADES,
        Capability.REALTIME_QUOTES,
        Capability.REALTIME_BARS,
    }


@pytest.mark.parametrize(
    ("credentials", "missing"),
    [({}, "no APCA_API_KEY_ID and no APCA_API_SECRET_KEY"), ({"key_id": "K"}, "no APCA_API_SECRET_KEY")],
)
def test_missing_credentials_exit_77_naming_the_variables(credentials: dict[str, str], missing: str) -> None:
    """Without both credentials capture refuses to start, with exit status 77."""
    error = capture({}, credentials)
    assert error.exit_code == 77
    assert missing in str(error)


def test_a_bad_option_is_a_usage_error() -> None:
    """An unknown feed: exit 2 before the credentials are even looked at."""
    error = capture({"feed": "nasdaq"}, {})
    assert error.exit_code == 2
    assert "--feed must be one of iex, sip, delayed_sip, test, boats, overnight" in str(error)


@pytest.mark.parametrize(
    ("options", "settings"),
    [
        ({}, Settings("iex", "wss://stream.data.alpaca.markets/v2/iex", DEFAULT_CHANNELS)),
        ({"feed": "sip"}, Settings("sip", "wss://stream.data.alpaca.markets/v2/sip", DEFAULT_CHANNELS)),
        ({"feed": "test"}, Settings("test", "wss://stream.data.alpaca.markets/v2/test", TEST_CHANNELS)),
        ({"feed": "boats"}, Settings("boats", "wss://stream.data.alpaca.markets/v1beta1/boats", DEFAULT_CHANNELS)),
        (
            {"url": "ws://127.0.0.1:1/v2/delayed_sip"},
            Settings("delayed_sip", "ws://127.0.0.1:1/v2/delayed_sip", DEFAULT_CHANNELS),
        ),
        ({"url": "ws://127.0.0.1:1/proxy"}, Settings("iex", "ws://127.0.0.1:1/proxy", DEFAULT_CHANNELS)),
        (
            {"url": "ws://127.0.0.1:1/v2/test", "feed": "sip"},
            Settings("sip", "ws://127.0.0.1:1/v2/test", DEFAULT_CHANNELS),
        ),
        ({"channels": "all"}, Settings("iex", "wss://stream.data.alpaca.markets/v2/iex", CHANNELS)),
        (
            {"channels": " bars , bars,dailyBars"},
            Settings("iex", "wss://stream.data.alpaca.markets/v2/iex", ("bars", "dailyBars")),
        ),
    ],
)
def test_options_become_settings(options: dict[str, str], settings: Settings) -> None:
    """Feed, URL (its path names the feed when --feed is not given) and channels."""
    assert read_settings(options) == Success(settings)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"feed": "IEX"}, "--feed must be one of"),
        ({"url": "http://127.0.0.1/v2/iex"}, "--url must be a ws:// or wss:// URL"),
        ({"channels": ""}, "-o channels: give at least one of"),
        ({"channels": "trades,imbalances"}, "-o channels: unknown channel 'imbalances'"),
    ],
)
def test_bad_options_say_what_is_wrong(options: dict[str, str], message: str) -> None:
    """Each mistake names the option and what it takes."""
    result = read_settings(options)
    assert isinstance(result, Failure)
    assert message in result.failure()
