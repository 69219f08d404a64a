"""What the local Alpaca server sends, and the TCP line it can freeze or cut (see :mod:`tests.servers.alpaca`)."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from typing import Any

import msgspec

from mdc.core.timestamps import from_ns

FEEDS = {
    "v2/iex": "iex",
    "v2/sip": "sip",
    "v2/delayed_sip": "delayed_sip",
    "v2/test": "test",
    "v1beta1/boats": "boats",
    "v1beta1/overnight": "overnight",
}
"""Path -> feed name (docs.alpaca.markets, "Real-time Stock Data": ``{version}/{feed}``)."""
CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
CHANNEL_OF = {
    "t": "trades",
    "c": "trades",  # corrections come with trades
    "x": "trades",  # and so do cancels/errors
    "q": "quotes",
    "b": "bars",
    "u": "updatedBars",
    "d": "dailyBars",
    "s": "statuses",
    "l": "lulds",
}
TEST_SYMBOL = "FAKEPACA"


class _Tag(msgspec.Struct):
    T: Any = None
    S: Any = None


class Script(msgspec.Struct):
    """A replay script: frames (arrays of messages, ``{"raw": TEXT}`` or ``{"sleep": S}``) and a repeat count."""

    frames: list[msgspec.Raw] = []
    repeat: int = 1

    def replayed(self) -> list[bytes | dict[str, Any]]:
        """The frames: arrays as their raw JSON text (numbers go out exactly as written), the rest decoded."""
        return [
            bytes(frame) if bytes(frame).lstrip()[:1] == b"[" else msgspec.json.decode(frame) for frame in self.frames
        ]


_TAG = msgspec.json.Decoder(_Tag)
_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])


def filtered(frame: bytes, channels: dict[str, set[str]]) -> str | None:
    """A script frame as sent to a client with these subscriptions; None when nothing of it is for them.

    A message whose ``T`` has no channel (garbage a script sends on purpose) always passes.
    """
    kept = []
    for raw in _ELEMENTS.decode(frame):
        try:
            tag = _TAG.decode(raw)
        except msgspec.ValidationError:
            tag = _Tag()
        channel = CHANNEL_OF.get(tag.T) if isinstance(tag.T, str) else None
        if channel is None or tag.S in channels[channel] or "*" in channels[channel]:
            kept.append(bytes(raw).decode())
    return "[" + ",".join(kept) + "]" if kept else None


def rfc3339(nanos: int) -> str:
    """A time as Alpaca writes it: nanoseconds with trailing zeros cut (Go's RFC3339Nano)."""
    text = from_ns(nanos)
    fraction = text[20:29].rstrip("0")
    return f"{text[:19]}.{fraction}Z" if fraction else f"{text[:19]}Z"


def _price(cents: int) -> str:
    whole, part = divmod(cents, 100)
    return f"{whole}.{part:02d}".rstrip("0").rstrip(".")


def synthetic(channels: dict[str, set[str]], feed: str, count: int, batch: int, seed: int) -> Iterator[str]:
    """Frames of ``count`` trades and quotes (-1: for ever) for the subscribed symbols, ``batch`` per frame.

    Prices walk in cents from a seeded start; bids stay below asks; times start
    now and step 997 ns, so that every message is a valid event.
    """
    rng = random.Random(seed)
    cents: dict[str, int] = {}
    now = time.time_ns()
    made = 0
    for trade_id in itertools.count(1):
        if 0 <= count <= made:
            return
        symbols = sorted((channels["trades"] | channels["quotes"]) - {"*"})
        if feed == "test":
            symbols = [symbol for symbol in symbols if symbol == TEST_SYMBOL]
        if not symbols:
            return
        size = batch if count < 0 else min(batch, count - made)
        messages = []
        for index in range(size):
            symbol = symbols[(made + index) % len(symbols)]
            mid = cents.setdefault(symbol, rng.randrange(2_000, 60_000))
            mid = cents[symbol] = max(200, mid + rng.randint(-3, 3))
            ts = rfc3339(now + (made + index) * 997)
            trade = symbol in channels["trades"] and (symbol not in channels["quotes"] or (made + index) % 2 == 0)
            if trade:
                messages.append(
                    f'{{"T":"t","S":"{symbol}","i":{trade_id * batch + index},"x":"V","p":{_price(mid)},'
                    f'"s":{rng.randint(1, 500)},"c":["@"],"z":"B","t":"{ts}"}}'
                )
            else:
                messages.append(
                    f'{{"T":"q","S":"{symbol}","bx":"V","bp":{_price(mid - 1)},"bs":{rng.randint(1, 9)},'
                    f'"ax":"V","ap":{_price(mid + 1)},"as":{rng.randint(1, 9)},"c":["R"],"z":"B","t":"{ts}"}}'
                )
        made += size
        yield "[" + ",".join(messages) + "]"
