"""The example feed's messages -> mdc events. Pure: no I/O, no clock (the receive time comes in).

The server sends one JSON object per WebSocket message::

    {"ev":"trade","sym":"SPY","seq":17,"px":451.10,"qty":100,"t":1764080000123456789}
    {"ev":"quote","sym":"SPY","bid":451.09,"bsz":300,"ask":451.11,"asz":200,"t":1764080000123456789}

Numbers are decoded straight into :class:`~decimal.Decimal` by msgspec, which
keeps the literal as written (``451.10`` stays ``451.10``): never go through
float. ``t`` is nanoseconds since the epoch.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Final

import msgspec

from mdc.core.events import MarketEvent, Quote, Trade
from mdc.core.provider import ProviderReject
from mdc.core.timestamps import from_ns

PROVIDER: Final = "example"


Nanos = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""Nanoseconds since the epoch, as far as mdc's timestamps reach."""


class TradeMessage(msgspec.Struct, tag_field="ev", tag="trade"):
    """A trade as the server writes it."""

    sym: str
    seq: int
    px: Decimal
    qty: Decimal
    t: Nanos


class QuoteMessage(msgspec.Struct, tag_field="ev", tag="quote"):
    """A quote as the server writes it."""

    sym: str
    bid: Decimal | None
    bsz: Decimal
    ask: Decimal | None
    asz: Decimal
    t: Nanos


_DATA: Final = msgspec.json.Decoder(TradeMessage | QuoteMessage)


def parse_data(raw: str | bytes, stream: str, received_ns: int) -> MarketEvent | ProviderReject:
    """One data message -> an event, or a reject saying why.

    Args:
        raw: the message as received.
        stream: the stream id to stamp on the event.
        received_ns: when it was received (the shell's clock).

    Returns:
        The event, or a :class:`~mdc.core.provider.ProviderReject` with the raw message.

    >>> parse_data('{"ev":"trade","sym":"SPY","seq":1,"px":451.10,"qty":100,"t":0}', "example.live", 5).price
    Decimal('451.10')
    >>> parse_data('{"ev":"trade","sym":"SPY"}', "example.live", 5).reason
    'Object missing required field `seq`'
    """
    try:
        message = _DATA.decode(raw)
    except msgspec.DecodeError as error:
        return ProviderReject(raw if isinstance(raw, str) else raw.decode(errors="replace"), str(error))
    now = from_ns(received_ns)
    if isinstance(message, TradeMessage):
        return Trade(
            symbol=message.sym,
            ts=from_ns(message.t),
            ts_recv=now,
            provider=PROVIDER,
            stream=stream,
            seq=message.seq,
            price=message.px,
            size=message.qty,
        )
    return Quote(
        symbol=message.sym,
        ts=from_ns(message.t),
        ts_recv=now,
        provider=PROVIDER,
        stream=stream,
        bid_price=message.bid,
        bid_size=message.bsz,
        ask_price=message.ask,
        ask_size=message.asz,
    )
