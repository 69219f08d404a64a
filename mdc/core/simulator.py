"""A deterministic market simulator: the built-in provider ``sim``.

It makes a believable equity feed for demos and tests: per symbol an L2 book of
round lots around a price that walks in ticks, with a spread of one to three
ticks (mostly one); trades that hit the book; quotes whenever the top changes,
so the quote and depth streams always agree; and a snapshot per symbol at the
start and every ``snapshot_every`` depth changes. About 59% of the output is
depth, 28% quotes and 13% trades. The events of one *burst* (a trade and the
book changes and quote it causes) share their ``ts``, as in a real feed.

Everything random comes from the :class:`RandomSource` passed in, so the same
config, start time and seed give the same events byte for byte. The shell
(:mod:`mdc.io.sim`) passes ``random.Random(seed)`` and paces the output by ``ts``.

>>> import random
>>> rng = random.Random(7)
>>> state = start(SimConfig(symbols=("AAPL",), mean_interval_ns=1_000_000), 1_795_000_000_000_000_000, rng)
>>> state, items = generate(state, rng, 25)
>>> " ".join(item.TYPE for item in items[18:])  # the book is built level by level, then trading starts
'depth depth snapshot quote trade depth quote'
>>> items[22].side, str(items[22].price), str(items[22].size)  # a buyer takes 300 of the 400 offered
('buy', '379.26', '300')

Faults (see :data:`FAULTS`) add the ways real feeds go wrong: gaps, late and
repeated trades, crossed and locked quotes, lines that are not JSON or not
valid events. A ``bytes`` item in the output is such a raw line, without its
newline.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Final, Literal, Protocol

import attrs
from attrs import field, frozen
from returns.result import Failure, Result, Success

from ._sim_book import Book, BookState, starting_ticks
from ._sim_faults import FAULTS as _FAULT_DESCRIPTIONS
from ._sim_faults import inject
from .events import MarketEvent
from .symbols import symbol_problem
from .timestamps import NS_PER_SECOND, Timestamp, from_ns

DepthModel = Literal["level", "position"]
"""How depth changes are written: by price (``set``/``delete``) or by position (``insert``/``update``/``delete``)."""

FAULTS: Final[Mapping[str, str]] = _FAULT_DESCRIPTIONS
"""Every fault name with a one-line description of what it does."""
MAX_DEPTH_LEVELS: Final = 100
"""The deepest book the simulator keeps (the cheapest symbol starts 500 ticks above zero)."""

_LATENCY_MIN_NS: Final = 20_000
_LATENCY_MEAN_NS: Final = 150_000
_LATENCY_MAX_NS: Final = 2_000_000
_SECOND_PREFIX: Final = len("2026-11-24T14:30:00.")


class RandomSource(Protocol):
    """The randomness the simulator needs; :class:`random.Random` has it."""

    def random(self) -> float:
        """A float in [0, 1)."""
        ...

    def expovariate(self, lambd: float, /) -> float:
        """An exponentially distributed float with rate ``lambd``."""
        ...


def _check_symbols(_: object, __: attrs.Attribute[tuple[str, ...]], symbols: tuple[str, ...]) -> None:
    if not symbols:
        raise ValueError("the simulator needs at least one symbol")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"symbols repeat: {', '.join(symbols)}")
    for symbol in symbols:
        problem = symbol_problem(symbol)
        if problem is not None:
            raise ValueError(f"{symbol!r}: {problem}")


def _check_faults(_: object, __: attrs.Attribute[frozenset[str]], faults: frozenset[str]) -> None:
    unknown = sorted(faults - FAULTS.keys())
    if unknown:
        raise ValueError(f"unknown faults: {', '.join(unknown)} (known: {', '.join(FAULTS)})")


@frozen(kw_only=True)
class SimConfig:
    """What to simulate.

    Attributes:
        symbols: the symbols, each with its own book.
        provider: the provider name in the events; streams are ``<provider>.trades``, ``.quotes``, ``.depth``.
        mean_interval_ns: mean simulated time between consecutive events, across all symbols
            (the events of one burst share a ``ts``; the waits between bursts make up the mean).
        depth_levels: levels per side of each book, 1 to :data:`MAX_DEPTH_LEVELS`.
        depth_model: ``level`` (price-level ``set``/``delete``) or ``position`` (``insert``/``update``/``delete``).
        faults: the faults to inject (names from :data:`FAULTS`).
        fault_rate: the probability per event of each enabled fault.
        snapshot_every: a snapshot per symbol after this many depth changes, or 0 for none
            but the one each symbol starts with.

    Raises:
        ValueError: a value is out of range (the shell checks options before building a config).
    """

    symbols: tuple[str, ...] = field(validator=_check_symbols)
    provider: str = field(default="sim", validator=attrs.validators.min_len(1))
    mean_interval_ns: int = field(validator=attrs.validators.gt(0))
    depth_levels: int = field(default=10, validator=[attrs.validators.ge(1), attrs.validators.le(MAX_DEPTH_LEVELS)])
    depth_model: DepthModel = field(default="level", validator=attrs.validators.in_(("level", "position")))
    faults: frozenset[str] = field(default=frozenset(), validator=_check_faults)
    fault_rate: float = field(default=0.01, validator=[attrs.validators.ge(0.0), attrs.validators.le(1.0)])
    snapshot_every: int = field(default=100, validator=attrs.validators.ge(0))


@frozen
class SimState:
    """The simulator between two :func:`generate` calls.

    Attributes:
        config: what is simulated.
        clock_ns: the simulated time of the next burst, in nanoseconds since the epoch.
        books: one book per symbol, in the order of ``config.symbols``.
        pending: output already made but not yet handed out.
    """

    config: SimConfig
    clock_ns: int
    books: tuple[BookState, ...]
    pending: tuple[MarketEvent | bytes, ...] = ()


def parse_faults(text: str) -> Result[frozenset[str], str]:
    """Parse the comma-separated ``--faults`` option.

    Blanks around names and empty items are ignored; ``all`` enables every fault.

    Args:
        text: e.g. ``"gap, crossed"``.

    Returns:
        ``Success`` with the fault names, or ``Failure`` with a message naming the known ones.

    >>> parse_faults("gap, crossed") == Success(frozenset({"gap", "crossed"}))
    True
    >>> parse_faults("gap,typo").failure()  # doctest: +ELLIPSIS
    'unknown fault typo (known: all, gap, out_of_order, duplicate, ...)'
    """
    names = [name for name in (part.strip() for part in text.split(",")) if name]
    unknown = [name for name in names if name != "all" and name not in FAULTS]
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        return Failure(f"unknown fault{plural} {', '.join(unknown)} (known: all, {', '.join(FAULTS)})")
    return Success(frozenset(FAULTS) if "all" in names else frozenset(names))


def start(config: SimConfig, start_ns: int, rng: RandomSource) -> SimState:
    """Open every symbol's book at ``start_ns``.

    The first output of each symbol builds its book one depth change per level,
    then a snapshot and a quote of the top.

    Args:
        config: what to simulate.
        start_ns: the simulated time of the first event, in nanoseconds since the epoch.
        rng: the random source.

    Returns:
        The state to pass to :func:`generate`.
    """
    out: list[MarketEvent | bytes] = []
    volumes: dict[int, Decimal] = {}
    clock = _Clock(start_ns, config.mean_interval_ns)
    books = []
    for symbol in config.symbols:
        first_bid, exponent = starting_ticks(symbol)
        book = _book(config, BookState(symbol, exponent), out, volumes)
        clock.stamp(book, rng)
        first = len(out)
        book.build(rng, first_bid)
        clock.advance(len(out) - first, rng)
        books.append(book.freeze())
    return SimState(config, clock.now_ns, tuple(books), tuple(out))


def generate(state: SimState, rng: RandomSource, count: int) -> tuple[SimState, list[MarketEvent | bytes]]:
    """The next ``count`` output items.

    Args:
        state: the state from :func:`start` or the previous call.
        rng: the random source (the same one across calls for reproducible output).
        count: how many items to return (none when 0 or less).

    Returns:
        The new state and the items in output order: events, and ``bytes`` for the
        raw lines of the garbage, truncated and bad_ts faults.
    """
    if count <= 0:
        return state, []
    config = state.config
    out: list[MarketEvent | bytes] = list(state.pending)
    volumes: dict[int, Decimal] = {}
    books = [_book(config, book, out, volumes) for book in state.books]
    faults = tuple(name for name in FAULTS if name in config.faults)
    rate = config.fault_rate
    clock = _Clock(state.clock_ns, config.mean_interval_ns)
    symbols = len(books)
    while len(out) < count:
        book = books[int(rng.random() * symbols)]
        clock.stamp(book, rng)
        first = len(out)
        book.step(rng)
        if faults:
            inject(book, faults, rate, rng, first)
        clock.advance(len(out) - first, rng)
    items = out[:count]
    return SimState(config, clock.now_ns, tuple(book.freeze() for book in books), tuple(out[count:])), items


def _book(config: SimConfig, state: BookState, out: list[MarketEvent | bytes], volumes: dict[int, Decimal]) -> Book:
    return Book(
        state,
        provider=config.provider,
        depth_model=config.depth_model,
        depth_levels=config.depth_levels,
        snapshot_every=config.snapshot_every,
        out=out,
        volumes=volumes,
    )


class _Clock:
    """The simulated clock during one call, with the text of the current second cached.

    Formatting a timestamp is a large share of the simulator's work, and most
    bursts fall in the same second as the one before.
    """

    __slots__ = ("_prefix", "_second", "mean_ns", "now_ns")

    def __init__(self, now_ns: int, mean_ns: int) -> None:
        self.now_ns = now_ns
        self.mean_ns = mean_ns
        self._second: int | None = None
        self._prefix = ""

    def text(self, nanos: int) -> Timestamp:
        """The canonical timestamp of ``nanos``, as :func:`~mdc.core.timestamps.from_ns` writes it."""
        second, fraction = divmod(nanos, NS_PER_SECOND)
        if second != self._second:
            self._second = second
            self._prefix = from_ns(second * NS_PER_SECOND)[:_SECOND_PREFIX]
        return Timestamp(f"{self._prefix}{fraction:09d}Z")

    def stamp(self, book: Book, rng: RandomSource) -> None:
        """Stamp the next burst: exchange time now, received after a short, right-skewed latency."""
        latency = _LATENCY_MIN_NS + int(rng.expovariate(1.0 / _LATENCY_MEAN_NS))
        book.ts = self.text(self.now_ns)
        book.ts_recv = self.text(self.now_ns + min(latency, _LATENCY_MAX_NS))

    def advance(self, events: int, rng: RandomSource) -> None:
        """Move on by an exponential wait whose mean is ``mean_ns`` per event of the burst just made."""
        self.now_ns += int(rng.expovariate(1.0 / (self.mean_ns * max(events, 1))))


__all__ = [
    "FAULTS",
    "MAX_DEPTH_LEVELS",
    "DepthModel",
    "RandomSource",
    "SimConfig",
    "SimState",
    "generate",
    "parse_faults",
    "start",
]
