"""The simulator's order book: one symbol's L2 book and the events that change it.

Private to :mod:`mdc.core.simulator`. A :class:`BookState` is the frozen value
kept between ``generate`` calls; a :class:`Book` is its mutable working copy for
one call. Each :meth:`Book.step` is one *burst*: an action on the book (a trade,
a size change, a new or vanished top level, a one-tick move of the market)
written out as the events a feed would send for it, all with the same ``ts``:
the trade first, then the depth changes, then a quote when the top changed and
a snapshot when one is due.

Prices are held as integer ticks and sizes as integer shares; both become
:class:`~decimal.Decimal` only when an event is built, through small caches,
because building a Decimal costs more than the rest of an event's arithmetic.
"""

from __future__ import annotations

import math
import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from attrs import frozen

from ._sim_feed import (
    ASK,
    BID,
    SHARES_PER_LOT,
    write_delete,
    write_insert,
    write_quote,
    write_snapshot,
    write_trade,
    write_update,
)
from .events import MarketEvent, Trade
from .timestamps import Timestamp

if TYPE_CHECKING:
    from .simulator import RandomSource

AWAY: Final = (-1, 1)
"""Tick direction from the top of a side towards its back (bids fall, asks rise)."""
MAX_SPREAD: Final = 3
"""Widest spread in ticks the book may show in a quote."""

# Burst mix, tuned so that the output is about 59% depth, 28% quotes, 13% trades, 75% of quotes one tick wide.
_IMPROVE: Final = 0.9  # when the spread is wider than a tick: chance that someone improves it
_DEEP: Final = 0.38  # size change below the top (depth only)
_TOP: Final = _DEEP + 0.15  # size change at the top (depth + quote)
_TRADE: Final = _TOP + 0.37  # a trade (trade + depth + quote)
_CANCEL: Final = _TRADE + 0.06  # the top level is cancelled (2 depth + quote)
# the rest: the market moves one tick (4 depth + quote)
_CONSUME: Final = 0.15  # share of trades that take the whole top level
_ODD_LOT_LEVEL: Final = 0.03
_ODD_LOT_TRADE: Final = 0.12
_WIDE_GAP: Final = 0.1  # chance that a new back level leaves a one-tick hole
_EXCHANGES: Final = ("XNAS", "XNAS", "XNAS", "XNYS", "XNYS", "ARCX", "BATS", "EDGX", "IEXG", "MEMX", "FINN", "FINN")
"""Trade venues (ISO 10383 MICs), repeated by rough share of volume."""
_NEVER: Final = 1 << 62


def starting_ticks(symbol: str) -> tuple[int, int]:
    """Derive a symbol's first bid and price exponent from its text, the same in every run.

    One symbol in ten trades below $1 in ticks of 0.0001; the rest between $5 and $500
    in ticks of 0.01.

    Args:
        symbol: the symbol.

    Returns:
        ``(bid in ticks, exponent)``: the price is ``ticks * 10**exponent``.

    >>> starting_ticks("AAPL")
    (37925, -2)
    """
    checksum = zlib.crc32(symbol.encode())
    if checksum % 10 == 0:
        return 1_000 + (checksum >> 4) % 9_000, -4
    return 500 + (checksum >> 4) % 49_500, -2


@frozen
class BookState:
    """One symbol's book and counters between ``generate`` calls.

    Attributes:
        symbol: the symbol.
        exponent: price = ticks * 10**exponent.
        bid_prices: bid levels in ticks, best (highest) first.
        bid_sizes: shares at each bid level.
        ask_prices: ask levels in ticks, best (lowest) first.
        ask_sizes: shares at each ask level.
        seqs: the last sequence number used on the trade, quote and depth streams.
        depth_changes: depth events since the last snapshot.
        trade_count: trades so far (the trade id).
        quoted: the top last sent as a quote: bid, bid size, ask, ask size.
        last_trades: the last two trades, oldest first (for the duplicate and out-of-order faults).
    """

    symbol: str
    exponent: int
    bid_prices: tuple[int, ...] = ()
    bid_sizes: tuple[int, ...] = ()
    ask_prices: tuple[int, ...] = ()
    ask_sizes: tuple[int, ...] = ()
    seqs: tuple[int, int, int] = (0, 0, 0)
    depth_changes: int = 0
    trade_count: int = 0
    quoted: tuple[int, int, int, int] = (0, 0, 0, 0)
    last_trades: tuple[Trade, ...] = ()


class Book:
    """The mutable working copy of a :class:`BookState` for one ``generate`` call.

    Events go to ``out``, the list shared by every book of the call; ``ts`` and
    ``ts_recv`` are set by the caller before each :meth:`step`.
    """

    __slots__ = (
        "depth_changes",
        "depth_levels",
        "depth_seq",
        "depth_stream",
        "exponent",
        "last_trades",
        "out",
        "positional",
        "prices",
        "provider",
        "quote_seq",
        "quote_stream",
        "quoted",
        "sizes",
        "snapshot_every",
        "symbol",
        "ticks",
        "trade_count",
        "trade_seq",
        "trade_stream",
        "ts",
        "ts_recv",
        "volumes",
    )

    def __init__(
        self,
        state: BookState,
        *,
        provider: str,
        depth_model: str,
        depth_levels: int,
        snapshot_every: int,
        out: list[MarketEvent | bytes],
        volumes: dict[int, Decimal],
    ) -> None:
        self.symbol = state.symbol
        self.exponent = state.exponent
        self.provider = provider
        self.trade_stream = f"{provider}.trades"
        self.quote_stream = f"{provider}.quotes"
        self.depth_stream = f"{provider}.depth"
        self.positional = depth_model == "position"
        self.depth_levels = depth_levels
        self.snapshot_every = snapshot_every or _NEVER
        self.ticks = (list(state.bid_prices), list(state.ask_prices))
        self.sizes = (list(state.bid_sizes), list(state.ask_sizes))
        self.trade_seq, self.quote_seq, self.depth_seq = state.seqs
        self.depth_changes = state.depth_changes
        self.trade_count = state.trade_count
        self.quoted = state.quoted
        self.last_trades = state.last_trades
        self.out = out
        self.prices: dict[int, Decimal] = {}
        self.volumes = volumes
        self.ts = Timestamp("")
        self.ts_recv = Timestamp("")

    def freeze(self) -> BookState:
        """The book as a value again."""
        return BookState(
            self.symbol,
            self.exponent,
            tuple(self.ticks[BID]),
            tuple(self.sizes[BID]),
            tuple(self.ticks[ASK]),
            tuple(self.sizes[ASK]),
            (self.trade_seq, self.quote_seq, self.depth_seq),
            self.depth_changes,
            self.trade_count,
            self.quoted,
            self.last_trades,
        )

    # ----------------------------------------------------------------------- numbers

    def price(self, ticks: int) -> Decimal:
        """The Decimal price of a tick count (cached)."""
        price = self.prices.get(ticks)
        if price is None:
            price = self.prices[ticks] = Decimal(f"{ticks}E{self.exponent}")
        return price

    def volume(self, shares: int) -> Decimal:
        """The Decimal of a share count (cached)."""
        volume = self.volumes.get(shares)
        if volume is None:
            volume = self.volumes[shares] = Decimal(shares)
        return volume

    # ----------------------------------------------------------------------- bursts

    def build(self, rng: RandomSource, start_ticks: int) -> None:
        """Fill an empty book around ``start_ticks`` (the best bid), one depth event per level, then a snapshot."""
        for side, top in ((BID, start_ticks), (ASK, start_ticks + 1)):
            ticks = top
            for index in range(self.depth_levels):
                if index:
                    ticks += AWAY[side] * _gap(rng)
                self.ticks[side].append(ticks)
                self.sizes[side].append(_level_size(rng, index))
                write_insert(self, side, index)
        write_snapshot(self)
        self.finish()

    def step(self, rng: RandomSource) -> None:
        """One burst: pick an action that keeps the book sound, apply it and write its events."""
        bids, asks = self.ticks
        if asks[0] - bids[0] > 1 and rng.random() < _IMPROVE:
            side = BID if rng.random() < 0.5 else ASK
            self._add_top(side, bids[0] + 1 if side == BID else asks[0] - 1, _level_size(rng, 0))
        else:
            action = rng.random()
            side = BID if rng.random() < 0.5 else ASK
            if action < _DEEP and self.depth_levels > 1:
                self._resize(rng, side, 1 + int(rng.random() ** 2 * (self.depth_levels - 1)))
            elif action < _TOP:
                self._resize(rng, side, 0)
            elif action < _TRADE:
                self._trade(rng, side)
            elif action < _CANCEL:
                gap = _gap(rng)
                if self._can_remove(side, gap, 0):
                    self._remove_top(side, gap, _level_size(rng, self.depth_levels - 1))
                else:
                    self._resize(rng, side, 0)
            else:
                self._move(rng, side)
        self.finish()

    def finish(self) -> None:
        """Close a burst: a quote when the top changed, a snapshot when one is due."""
        bids, asks = self.ticks
        bid_sizes, ask_sizes = self.sizes
        top = (bids[0], bid_sizes[0], asks[0], ask_sizes[0])
        if top != self.quoted:
            self.quoted = top
            write_quote(self, *top)
        if self.depth_changes >= self.snapshot_every:
            write_snapshot(self)

    # ----------------------------------------------------------------------- actions

    def _resize(self, rng: RandomSource, side: int, index: int) -> None:
        """Orders join or leave a level: its size changes, its price does not."""
        sizes = self.sizes[side]
        old = sizes[index]
        if rng.random() < _ODD_LOT_LEVEL:
            change = 1 + int(rng.random() * (SHARES_PER_LOT - 1))
        else:
            change = SHARES_PER_LOT * (1 + int(-math.log(1.0 - rng.random()) * (1.0 + index * 0.5)))
        sizes[index] = old - change if old > change and rng.random() < 0.5 else old + change
        write_update(self, side, index)

    def _trade(self, rng: RandomSource, side: int) -> None:
        """An aggressor hits ``side``: a buy takes the best ask, a sell the best bid."""
        level = self.sizes[side][0]
        gap = _gap(rng)
        consume = level <= SHARES_PER_LOT or rng.random() < _CONSUME
        if consume and not self._can_remove(side, gap, 0):
            if level == 1:
                self._resize(rng, side, 0)
                return
            consume = False
        if consume:
            size = level
        elif level > SHARES_PER_LOT and rng.random() >= _ODD_LOT_TRADE:
            size = SHARES_PER_LOT * (1 + int(rng.random() * min((level - 1) // SHARES_PER_LOT, 5)))
        else:
            size = 1 + int(rng.random() * min(SHARES_PER_LOT - 1, level - 1))
        write_trade(self, side, size, _EXCHANGES[int(rng.random() * len(_EXCHANGES))])
        if consume:
            self._remove_top(side, gap, _level_size(rng, self.depth_levels - 1))
        else:
            self.sizes[side][0] = level - size
            write_update(self, side, 0)

    def _move(self, rng: RandomSource, side: int) -> None:
        """The market moves a tick: the top of ``side`` goes and the other side's best steps a tick towards it."""
        gap = _gap(rng)
        if not self._can_remove(side, gap, 1):
            side = 1 - side
            if not self._can_remove(side, gap, 1):
                self._resize(rng, side, 0)
                return
        self._remove_top(side, gap, _level_size(rng, self.depth_levels - 1))
        other = 1 - side
        self._add_top(other, self.ticks[other][0] - AWAY[other], _level_size(rng, 0))

    def _can_remove(self, side: int, gap: int, narrowing: int) -> bool:
        """Whether the top of ``side`` may go: the spread stays within bounds and prices above zero."""
        ticks = self.ticks[side]
        after = ticks[1] if len(ticks) > 1 else ticks[0] + AWAY[side] * gap
        spread = after - self.ticks[BID][0] if side == ASK else self.ticks[ASK][0] - after
        return spread - narrowing <= MAX_SPREAD and ticks[-1] + AWAY[side] * gap > 0

    def _remove_top(self, side: int, gap: int, size: int) -> None:
        """The best level of ``side`` goes; a new level of ``size`` appears at the back, ``gap`` ticks behind."""
        ticks, sizes = self.ticks[side], self.sizes[side]
        write_delete(self, side, 0)
        removed = ticks.pop(0)
        sizes.pop(0)
        ticks.append((ticks[-1] if ticks else removed) + AWAY[side] * gap)
        sizes.append(size)
        write_insert(self, side, len(ticks) - 1)

    def _add_top(self, side: int, ticks: int, size: int) -> None:
        """A new best level of ``side`` at ``ticks``; the back level goes so the depth stays the same."""
        prices, sizes = self.ticks[side], self.sizes[side]
        write_delete(self, side, len(prices) - 1)
        prices.pop()
        sizes.pop()
        prices.insert(0, ticks)
        sizes.insert(0, size)
        write_insert(self, side, 0)


def _gap(rng: RandomSource) -> int:
    """Ticks between a new back level and the one before it: usually 1, sometimes 2."""
    return 2 if rng.random() < _WIDE_GAP else 1


def _level_size(rng: RandomSource, index: int) -> int:
    """Shares resting at a level ``index`` places from the top: round lots, deeper is bigger."""
    lots = 1 + int(-math.log(1.0 - rng.random()) * (3.0 + index * 0.6))
    if rng.random() < _ODD_LOT_LEVEL:
        return lots * SHARES_PER_LOT + 1 + int(rng.random() * (SHARES_PER_LOT - 1))
    return lots * SHARES_PER_LOT
