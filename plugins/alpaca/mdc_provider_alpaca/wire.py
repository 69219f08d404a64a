"""Alpaca's stock stream messages as documented, for msgspec to decode straight from the wire.

Field names are the wire's one-letter keys (docs.alpaca.markets, "Real-time
Stock Data"); every message is tagged by ``T``. Numbers that are prices or sizes
are ``Decimal``: msgspec reads the JSON text itself, so ``451.10`` stays
``451.10``. Fields the docs list but mdc does not need are still declared, so
that a wrong type in them is noticed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, TypeAlias

import msgspec


class TradeMessage(msgspec.Struct, tag_field="T", tag="t", gc=False):
    """``t``: a trade."""

    S: str
    t: str
    p: Decimal
    s: Decimal
    i: int | None = None
    x: str | None = None
    c: tuple[str, ...] = ()
    z: str | None = None


class QuoteMessage(msgspec.Struct, tag_field="T", tag="q", gc=False):
    """``q``: a quote (sizes in round lots, as the feed sends them)."""

    S: str
    t: str
    bp: Decimal
    bs: Decimal
    ap: Decimal
    ask_size: Decimal = msgspec.field(name="as")
    bx: str | None = None
    ax: str | None = None
    c: tuple[str, ...] = ()
    z: str | None = None


class BarMessage(msgspec.Struct, tag_field="T", tag="b", gc=False):
    """``b``: a minute bar; ``t`` is the start of the minute."""

    S: str
    t: str
    o: Decimal
    h: Decimal
    l: Decimal  # noqa: E741 - the wire's name
    c: Decimal
    v: Decimal
    vw: Decimal | None = None
    n: int | None = None


class UpdatedBarMessage(BarMessage, tag="u", gc=False):
    """``u``: a minute bar sent again because late trades changed it."""


class DailyBarMessage(BarMessage, tag="d", gc=False):
    """``d``: the day's bar so far."""


class StatusMessage(msgspec.Struct, tag_field="T", tag="s", gc=False):
    """``s``: a trading status (halt, resumption ...)."""

    S: str
    t: str
    sc: str
    sm: str = ""
    rc: str | None = None
    rm: str = ""
    z: str | None = None


class LuldMessage(msgspec.Struct, tag_field="T", tag="l", gc=False):
    """``l``: limit up-limit down price bands."""

    S: str
    t: str
    u: Decimal
    d: Decimal
    i: str | None = None
    z: str | None = None


class CorrectionMessage(msgspec.Struct, tag_field="T", tag="c", gc=False):
    """``c``: a trade correction (original ``o*`` and corrected ``c*`` fields)."""

    S: str
    t: str
    op: Decimal
    os: Decimal
    cp: Decimal
    cs: Decimal
    x: str | None = None
    oi: int | None = None
    oc: tuple[str, ...] = ()
    ci: int | None = None
    cc: tuple[str, ...] = ()
    z: str | None = None


class CancelMessage(msgspec.Struct, tag_field="T", tag="x", gc=False):
    """``x``: a trade cancelled (``a`` = C) or declared an error (``a`` = E)."""

    S: str
    t: str
    a: str
    i: int | None = None
    x: str | None = None
    p: Decimal | None = None
    s: Decimal | None = None
    z: str | None = None


class Success(msgspec.Struct, tag_field="T", tag="success", gc=False):
    """``success``: ``connected`` or ``authenticated``."""

    msg: str = ""


class ServerError(msgspec.Struct, tag_field="T", tag="error", gc=False):
    """``error``: a numbered server error (see the protocol for what each means)."""

    code: int | None = None
    msg: str = ""


class Subscription(msgspec.Struct, tag_field="T", tag="subscription", gc=False):
    """``subscription``: every channel's symbols after a subscribe or unsubscribe."""

    trades: tuple[str, ...] = ()
    quotes: tuple[str, ...] = ()
    bars: tuple[str, ...] = ()
    updated_bars: tuple[str, ...] = msgspec.field(default=(), name="updatedBars")
    daily_bars: tuple[str, ...] = msgspec.field(default=(), name="dailyBars")
    statuses: tuple[str, ...] = ()
    lulds: tuple[str, ...] = ()
    corrections: tuple[str, ...] = ()
    cancel_errors: tuple[str, ...] = msgspec.field(default=(), name="cancelErrors")

    def symbols(self) -> tuple[str, ...]:
        """Every symbol on any channel, sorted."""
        channels = (self.trades, self.quotes, self.bars, self.updated_bars, self.daily_bars)
        return tuple(sorted({symbol for channel in (*channels, self.statuses, self.lulds) for symbol in channel}))


Control: TypeAlias = Success | ServerError | Subscription
"""A control message, for the protocol."""

DataMessage: TypeAlias = (
    TradeMessage
    | QuoteMessage
    | BarMessage
    | UpdatedBarMessage
    | DailyBarMessage
    | StatusMessage
    | LuldMessage
    | CorrectionMessage
    | CancelMessage
)
Message: TypeAlias = DataMessage | Control

NOT_MAPPED: Final = {
    "o": "crypto order book (T=o): order books come from the crypto stream, not the stock stream",
    "i": "order imbalance (T=i): mdc has no imbalance event, and this provider does not subscribe to them",
    "n": "news (T=n): news comes from the news stream, not the stock stream",
}
"""Documented message types this provider rejects, and why."""

KINDS: Final = {
    "t": "trade",
    "q": "quote",
    "b": "bar",
    "u": "updated bar",
    "d": "daily bar",
    "s": "status",
    "l": "LULD",
    "c": "correction",
    "x": "cancel",
    "success": "success",
    "error": "error",
    "subscription": "subscription",
}
"""Message type -> what reject reasons call it."""
