"""The polygon provider's options, credentials and registration."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
import trio
from mdc_provider_polygon.provider import Settings, provider, settings

from mdc.core.provider import CaptureRequest, FeedState, ProviderError, ProviderReject
from mdc.io.plugins import load_provider


class Context:
    """A capture context with fixed credentials and nothing else."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self._credentials = credentials

    def now_ns(self) -> int:
        return 0

    def report(self, provider: str, state: FeedState, detail: str = "") -> None:
        pass

    def reject(self, provider: str, reject: ProviderReject) -> None:
        pass

    def symbols(self) -> frozenset[str]:
        return frozenset({"SPY"})

    async def symbols_changed(self) -> frozenset[str]:
        await trio.sleep_forever()
        raise AssertionError

    def credentials(self, provider: str) -> Mapping[str, str]:
        return self._credentials

    def in_session(self, symbol: str) -> bool:
        return True


def test_defaults_are_the_real_time_cluster_with_trades_and_quotes() -> None:
    """No options: wss://socket.polygon.io/stocks, stream polygon.stocks, channels T and Q."""
    assert settings({}) == Settings("wss://socket.polygon.io/stocks", "polygon.stocks", ("T", "Q"))


def test_the_delayed_feed_has_its_own_endpoint_stream_and_no_quotes() -> None:
    """--feed delayed: the 15-minute cluster, stream polygon.delayed, trades only (quotes are real time only)."""
    assert settings({"feed": "delayed"}) == Settings("wss://delayed.polygon.io/stocks", "polygon.delayed", ("T",))


def test_url_overrides_the_endpoint_but_not_the_stream() -> None:
    """--url points elsewhere (a local server); the stream still says which feed it stands for."""
    chosen = settings({"url": "ws://127.0.0.1:9/stocks", "feed": "delayed"})
    assert (chosen.url, chosen.stream) == ("ws://127.0.0.1:9/stocks", "polygon.delayed")


def test_channels_are_read_case_blind_and_without_repeats() -> None:
    """``-o channels=t, am,T`` -> T and AM, in the order given."""
    assert settings({"channels": "t, am,T"}).channels == ("T", "AM")


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"feed": "sip"}, "polygon: unknown feed 'sip' (realtime or delayed)"),
        ({"channels": "T,LULD"}, "polygon: unknown channel LULD (give some of T,Q,A,AM)"),
        ({"channels": " , "}, "polygon: unknown channel (none given) (give some of T,Q,A,AM)"),
    ],
)
def test_bad_options_are_usage_errors(options: dict[str, str], words: str) -> None:
    """An unknown feed or channel stops with exit 2 and says what is allowed."""
    with pytest.raises(ProviderError) as caught:
        settings(options)
    assert (str(caught.value), caught.value.exit_code) == (words, 2)


def test_a_missing_key_stops_with_77_naming_the_variable() -> None:
    """No api_key credential: ProviderError exit 77 that says to set POLYGON_API_KEY."""

    async def capture() -> None:
        async def emit(items: object) -> None:
            pass

        await provider.capture(CaptureRequest(symbols=("SPY",)), emit, Context({}))

    with pytest.raises(ProviderError) as caught:
        trio.run(capture)
    assert caught.value.exit_code == 77
    assert "POLYGON_API_KEY" in str(caught.value)


def test_the_entry_point_finds_the_provider() -> None:
    """``mdc.providers`` has ``polygon``; it needs an api_key read from POLYGON_API_KEY."""
    loaded = load_provider("polygon")
    assert loaded.info.name == "polygon"
    assert [(spec.name, spec.env) for spec in loaded.info.credentials] == [("api_key", "POLYGON_API_KEY")]
    assert {option.name for option in loaded.info.options} == {"url", "feed", "channels"}
