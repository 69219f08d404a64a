"""The provider's options (``--feed``, ``--url``, ``-o channels=...``) read into settings. Pure.

>>> settings = read_settings({"feed": "sip", "channels": "trades,bars"}).unwrap()
>>> settings.url, settings.channels
('wss://stream.data.alpaca.markets/v2/sip', ('trades', 'bars'))
>>> read_settings({"url": "ws://127.0.0.1:8765/v2/test"}).unwrap().feed
'test'
>>> read_settings({"channels": "trades,orderbooks"}).failure()
"-o channels: unknown channel 'orderbooks' (known: trades, quotes, bars, updatedBars, dailyBars, statuses, lulds)"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from attrs import frozen
from returns.result import Failure, Result, Success

HOST: Final = "wss://stream.data.alpaca.markets"
FEEDS: Final = {
    "iex": "v2/iex",
    "sip": "v2/sip",
    "delayed_sip": "v2/delayed_sip",
    "test": "v2/test",
    "boats": "v1beta1/boats",
    "overnight": "v1beta1/overnight",
}
"""Feed name -> its path on the stream host (the docs' ``{version}/{feed}``)."""
DEFAULT_FEED: Final = "iex"
CHANNELS: Final = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
"""The stock stream's channels, named as in the subscribe message (trades bring corrections and cancels)."""
DEFAULT_CHANNELS: Final = ("trades", "quotes", "statuses", "lulds")
TEST_CHANNELS: Final = ("trades", "quotes", "bars")
"""The test feed's defaults: the documented example of the test stream subscribes these."""


@frozen
class Settings:
    """Where to connect and what to subscribe.

    Attributes:
        feed: the feed name (``iex``, ``sip`` ...), also the stream id's suffix.
        url: the WebSocket URL.
        channels: the channels each symbol is subscribed to.
    """

    feed: str
    url: str
    channels: tuple[str, ...]


def read_settings(options: Mapping[str, str]) -> Result[Settings, str]:
    """Settings from the provider's options.

    The feed is ``feed`` if given, else the last part of ``url`` when that names
    a feed (``ws://127.0.0.1:8765/v2/sip`` is ``sip``), else ``iex``. The URL is
    ``url`` if given, else the feed's URL on Alpaca's stream host. Channels are
    ``channels`` (comma-separated, or ``all``), else trades, quotes, statuses and
    LULDs (trades, quotes and bars on the test feed).

    Args:
        options: the provider's options by name, as given.

    Returns:
        The settings, or a message saying which option is wrong.
    """
    url = options.get("url")
    feed = options.get("feed")
    if feed is None:
        last = urlsplit(url).path.rstrip("/").rpartition("/")[2] if url else ""
        feed = last if last in FEEDS else DEFAULT_FEED
    elif feed not in FEEDS:
        return Failure(f"--feed must be one of {', '.join(FEEDS)} (got {feed!r})")
    if url is not None and urlsplit(url).scheme not in ("ws", "wss"):
        return Failure(f"--url must be a ws:// or wss:// URL (got {url!r})")
    channels = _channels(options.get("channels"), TEST_CHANNELS if feed == "test" else DEFAULT_CHANNELS)
    if isinstance(channels, str):
        return Failure(channels)
    return Success(Settings(feed=feed, url=url or f"{HOST}/{FEEDS[feed]}", channels=channels))


def _channels(text: str | None, default: tuple[str, ...]) -> tuple[str, ...] | str:
    if text is None:
        return default
    if text.strip() == "all":
        return CHANNELS
    names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
    if not names:
        return f"-o channels: give at least one of {', '.join(CHANNELS)}"
    for name in names:
        if name not in CHANNELS:
            return f"-o channels: unknown channel {name!r} (known: {', '.join(CHANNELS)})"
    return names
