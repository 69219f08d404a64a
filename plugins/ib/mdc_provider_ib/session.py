"""One TWS connection, run on the ib_async loop thread: connect, qualify, subscribe, tap, heartbeat.

Data is taken where IB's API hands it over: the ``EWrapper`` callbacks of
ib_async's :class:`~ib_async.wrapper.Wrapper` (``tickByTickAllLast``,
``tickByTickBidAsk``, ``updateMktDepthL2`` (``updateMktDepth`` calls it),
``realtimeBar``, ``priceSizeTick``/``tickSize``, ``error``). Each is wrapped on
the connection's own wrapper instance: ib_async's method runs first, as
always, then the tap builds ib_async's own data object from the same
arguments and normalises it (:mod:`mdc_provider_ib.parse`). Tapping there,
rather than reading ``Ticker.tickByTicks`` after each packet, keeps two things
ib_async's tickers drop: IB's own timestamp of a tick-by-tick tick
(ib_async stamps the packet's arrival instead), and the arrival order across
symbols and kinds within a packet. Everything a packet produced goes to trio
as one batch, in arrival order.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final

from attrs import define, frozen
from ib_async import (
    IB,
    Contract,
    MktDepthData,
    RealTimeBar,
    RealTimeBarList,
    StartupFetchNONE,
    TickAttribBidAsk,
    TickAttribLast,
    TickByTickAllLast,
    TickByTickBidAsk,
)
from returns.result import Failure, Success

from mdc.core.events import Integrity, MarketEvent
from mdc.core.provider import FeedState, ProviderReject
from mdc.core.timestamps import from_ns

from . import parse
from .bridge import Outbox
from .contracts import ContractSpec, resolve, to_contract
from .errors import FATAL_EXIT, Action, classify

KINDS: Final = ("trades", "quotes", "depth", "bars", "top")
_TICK_TYPES: Final = {"trades": "AllLast", "quotes": "BidAsk", "depth": "mktDepth", "top": "mktData"}


@frozen
class Plan:
    """What every connection of one capture does (fixed for the run).

    Attributes:
        host: TWS / IB Gateway host.
        port: its API port.
        client_id: the API client id.
        market_data: IB's market data type, 1 live, 2 frozen, 3 delayed, 4 delayed-frozen.
        stream: the stream id stamped on events (``ib.live``).
        kinds: what to subscribe per symbol (see :data:`KINDS`).
        depth_rows: book rows per side per symbol (the config's ``depth_levels``).
        default_rows: book rows for the others.
        smart_depth: ask for IB's SMART (aggregated) depth.
        skip_not_entitled: carry on without a stream IB will not send for lack of permission.
        connect_timeout_s: how long connecting (and qualifying a contract) may take.
        idle_timeout_s: a heartbeat unanswered this long is a dead connection.
        specs: contract-file entries by symbol.
    """

    host: str
    port: int
    client_id: int
    market_data: int
    stream: str
    kinds: tuple[str, ...]
    depth_rows: Mapping[str, int]
    default_rows: int
    smart_depth: bool
    skip_not_entitled: bool
    connect_timeout_s: float
    idle_timeout_s: float
    specs: Mapping[str, ContractSpec]

    @property
    def url(self) -> str:
        """Where it connects, as ``tws://host:port``."""
        return f"tws://{self.host}:{self.port}"


@frozen
class Batch:
    """Events and rejects one packet produced, in arrival order."""

    items: tuple[MarketEvent | ProviderReject, ...]


@frozen
class Report:
    """A connection state change for the status."""

    state: FeedState
    detail: str = ""


@frozen
class Ended:
    """The connection is over; ``healthy`` when it delivered data before it ended."""

    reason: str
    healthy: bool


@frozen
class Fatal:
    """Something retrying cannot fix: the run ends with ``exit_code``."""

    message: str
    exit_code: int


Message = Batch | Report | Ended | Fatal


@define
class _Request:
    symbol: str
    kind: str
    contract: Contract
    bars: RealTimeBarList | None = None


class Connection:
    """One connection's life on the loop thread (every method runs there).

    Args:
        plan: what to do.
        factory: makes the :class:`ib_async.IB` (tests inject theirs).
        outbox: where messages for trio go.
        clock: the wall clock in nanoseconds (the receive time of each callback).
        wanted: the symbols to subscribe once connected.
        qualified: contracts qualified by earlier connections, by symbol (filled in here).
    """

    def __init__(  # noqa: PLR0917
        self,
        plan: Plan,
        factory: Callable[[], IB],
        outbox: Outbox[Message],
        clock: Callable[[], int],
        wanted: frozenset[str],
        qualified: dict[str, Contract],
    ) -> None:
        self.plan = plan
        self.factory = factory
        self.outbox = outbox
        self.clock = clock
        self.wanted = set(wanted)
        self.qualified = qualified
        self.ib: IB | None = None
        self.requests: dict[int, _Request] = {}
        self.subscribed: set[str] = set()
        self.healthy = False
        self._pending: list[MarketEvent | ProviderReject] = []
        self._dirty: set[int] = set()
        self._tops: dict[int, tuple[object, ...]] = {}
        self._flush_due = False
        self._done = asyncio.Event()
        self._reason = ""
        self._fatal: Fatal | None = None
        self._no_contract = ""
        self._last_error = ""
        self._tasks: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------- life

    async def run(self) -> None:
        """Connect, subscribe and keep the connection alive until it ends; the last message says why."""
        ib = self.ib = self.factory()
        self.tap(ib)
        ib.disconnectedEvent += self._disconnected
        try:
            await asyncio.wait_for(
                ib.connectAsync(
                    self.plan.host,
                    self.plan.port,
                    clientId=self.plan.client_id,
                    timeout=self.plan.connect_timeout_s,
                    readonly=True,
                    fetchFields=StartupFetchNONE,
                ),
                self.plan.connect_timeout_s * 2,
            )
        except (OSError, TimeoutError) as error:
            self._end(self._last_error or _describe(error))
        if not self._done.is_set():
            self.outbox.put(Report(FeedState.CONNECTED, self.plan.url))
            ib.reqMarketDataType(self.plan.market_data)
            self._spawn(self._subscribe(sorted(self.wanted)))
            await self._heartbeat(ib)
        for task in self._tasks:
            task.cancel()
        self._flush()
        ib.disconnectedEvent -= self._disconnected
        ib.disconnect()
        self.outbox.put(self._fatal or Ended(self._reason, self.healthy))

    def stop(self) -> None:
        """End the connection (trio is done with it)."""
        self._end("stopped")

    def _end(self, reason: str) -> None:
        if not self._done.is_set():
            self._reason = reason
            self._done.set()

    def _fail(self, message: str, exit_code: int) -> None:
        if self._fatal is None:
            self._fatal = Fatal(message, exit_code)
        self._end(message)

    def _disconnected(self) -> None:
        self._end(self._last_error or "TWS closed the connection")

    async def _heartbeat(self, ib: IB) -> None:
        interval = max(self.plan.idle_timeout_s / 3, 0.05)
        while not self._done.is_set():
            try:
                await asyncio.wait_for(self._done.wait(), interval)
            except TimeoutError:
                pass
            else:
                return
            try:
                await asyncio.wait_for(ib.reqCurrentTimeAsync(), self.plan.idle_timeout_s)
            except TimeoutError:
                self._end(f"silent connection (no answer to a heartbeat in {self.plan.idle_timeout_s:g} s)")
            except ConnectionError as error:
                self._end(self._last_error or _describe(error))

    def _spawn(self, coroutine: object) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coroutine)  # type: ignore[call-overload]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- subscriptions

    def change(self, wanted: frozenset[str]) -> None:
        """Follow a new wanted set: cancel the symbols gone, subscribe the new ones."""
        self.wanted = set(wanted)
        if self.ib is None or not self.ib.isConnected():
            return
        self._cancel(sorted(self.subscribed - wanted))
        self._spawn(self._subscribe(sorted(wanted - self.subscribed)))

    def resubscribe(self, symbols: list[str]) -> None:
        """Cancel and request again (a silent symbol, or IB's 1101: data lost)."""
        live = [symbol for symbol in symbols if symbol in self.subscribed]
        self._cancel(live)
        for symbol in live:
            self._start(symbol, self.qualified[symbol])

    async def _subscribe(self, symbols: list[str]) -> None:
        for symbol in symbols:
            contract = await self._qualify(symbol)
            if contract is None or self._done.is_set():
                return
            if symbol in self.wanted and symbol not in self.subscribed:
                self._start(symbol, contract)
        if self.subscribed:
            self.outbox.put(Report(FeedState.SUBSCRIBED, ",".join(sorted(self.subscribed))))

    async def _qualify(self, symbol: str) -> Contract | None:
        known = self.qualified.get(symbol)
        if known is not None:
            return known
        match resolve(symbol, self.plan.specs):
            case Failure(problem):
                self._fail(f"ib: {symbol}: {problem}", 2)
                return None
            case Success(spec):
                pass
        assert self.ib is not None  # noqa: S101 # subscriptions start once connected
        self._no_contract = ""
        try:
            found = await asyncio.wait_for(
                self.ib.qualifyContractsAsync(to_contract(spec), returnAll=True), self.plan.connect_timeout_s
            )
        except TimeoutError:
            self._end(f"no answer to the contract details request for {symbol} in {self.plan.connect_timeout_s:g} s")
            return None
        except ConnectionError as error:
            self._end(self._last_error or _describe(error))
            return None
        match found:
            case [Contract() as contract]:
                self.qualified[symbol] = contract
                return contract
            case [list() as candidates]:
                names = ", ".join(sorted({_name(item) for item in candidates if isinstance(item, Contract)}))
                self._fail(f"ib: {symbol}: ambiguous contract ({spec.describe()}): IB has {names}", 2)
            case _:
                said = f": IB 200: {self._no_contract}" if self._no_contract else ""
                self._fail(f"ib: {symbol}: no security definition ({spec.describe()}){said}", 2)
        return None

    def _start(self, symbol: str, contract: Contract) -> None:
        ib, plan = self.ib, self.plan
        assert ib is not None  # noqa: S101 # subscriptions start once connected
        for kind in plan.kinds:
            bars = None
            match kind:
                case "trades" | "quotes":
                    ticker = ib.reqTickByTickData(contract, _TICK_TYPES[kind])
                case "depth":
                    rows = plan.depth_rows.get(symbol, plan.default_rows)
                    ticker = ib.reqMktDepth(contract, rows, plan.smart_depth)
                    self._record(parse.empty_book(symbol=symbol, stream=plan.stream, received_ns=self.clock()))
                case "top":
                    ticker = ib.reqMktData(contract, "", snapshot=False, regulatorySnapshot=False)
                case _:
                    show = "MIDPOINT" if contract.secType == "CASH" else "TRADES"
                    bars = ib.reqRealTimeBars(contract, 5, show, useRTH=False)
            request_id = bars.reqId if bars is not None else ib.wrapper.ticker2ReqId[_TICK_TYPES[kind]][ticker]
            self.track(request_id, symbol, kind, contract, bars)
        self.subscribed.add(symbol)

    def track(
        self, request_id: int, symbol: str, kind: str, contract: Contract, bars: RealTimeBarList | None = None
    ) -> None:
        """Route the data of IB request ``request_id`` to ``symbol`` as ``kind`` (see :data:`KINDS`)."""
        self.requests[request_id] = _Request(symbol, kind, contract, bars)

    def _cancel(self, symbols: list[str]) -> None:
        for request_id, request in list(self.requests.items()):
            if request.symbol in symbols:
                self._cancel_request(request_id)
        self.subscribed.difference_update(symbols)

    def _cancel_request(self, request_id: int) -> None:
        request = self.requests.pop(request_id)
        self._tops.pop(request_id, None)
        ib = self.ib
        if ib is None or not ib.isConnected():
            return
        match request.kind:
            case "trades" | "quotes":
                ib.cancelTickByTickData(request.contract, _TICK_TYPES[request.kind])
            case "depth":
                ib.cancelMktDepth(request.contract, self.plan.smart_depth)
            case "top":
                ib.cancelMktData(request.contract)
            case _:
                if request.bars is not None:
                    ib.cancelRealTimeBars(request.bars)

    # ---------------------------------------------------------------- the tap

    def tap(self, ib: IB) -> None:
        """Wrap the EWrapper callbacks of ``ib``'s wrapper so that their data comes here too."""
        self.ib = ib
        wrapper = ib.wrapper

        def also(name: str, handler: Callable[..., None]) -> Callable[..., None]:
            original = getattr(wrapper, name)

            def tapped(*args: object) -> None:
                try:
                    original(*args)
                finally:  # ib_async's own method may fail on a request it does not know; the tap still sees it
                    handler(*args)

            return tapped

        def top(name: str) -> Callable[..., None]:
            original = getattr(wrapper, name)

            def tick(request_id: int, *args: object) -> None:
                original(request_id, *args)
                request = self.requests.get(request_id)
                if request is not None and request.kind == "top":
                    self._dirty.add(request_id)
                    self._schedule()

            return tick

        for name, function in (
            ("tickByTickAllLast", also("tickByTickAllLast", self._on_last)),
            ("tickByTickBidAsk", also("tickByTickBidAsk", self._on_bid_ask)),
            ("updateMktDepthL2", also("updateMktDepthL2", self._on_depth)),
            ("realtimeBar", also("realtimeBar", self._on_bar)),
            ("error", also("error", self._on_error)),
            ("priceSizeTick", top("priceSizeTick")),
            ("tickSize", top("tickSize")),
        ):
            setattr(wrapper, name, function)

    def _on_last(  # noqa: PLR0917 # IB's EWrapper signature
        self,
        request_id: int,
        tick_type: int,
        time: int,
        price: float,
        size: float,
        attributes: TickAttribLast,
        exchange: str,
        conditions: str,
    ) -> None:
        request = self.requests.get(request_id)
        if request is None:
            return
        tick = TickByTickAllLast(tick_type, _utc(time), price, size, attributes, exchange, conditions)
        self._record(parse.trade(tick, symbol=request.symbol, stream=self.plan.stream, received_ns=self.clock()))

    def _on_bid_ask(  # noqa: PLR0917 # IB's EWrapper signature
        self,
        request_id: int,
        time: int,
        bid: float,
        ask: float,
        bid_size: float,
        ask_size: float,
        attributes: TickAttribBidAsk,
    ) -> None:
        request = self.requests.get(request_id)
        if request is None:
            return
        tick = TickByTickBidAsk(_utc(time), bid, ask, bid_size, ask_size, attributes)
        self._record(parse.quote(tick, symbol=request.symbol, stream=self.plan.stream, received_ns=self.clock()))

    def _on_depth(  # noqa: PLR0917 # IB's EWrapper signature
        self,
        request_id: int,
        position: int,
        market_maker: str,
        operation: int,
        side: int,
        price: float,
        size: float,
        smart: bool = False,  # noqa: FBT001, FBT002 # IB's EWrapper signature
    ) -> None:
        request = self.requests.get(request_id)
        if request is None:
            return
        received = self.clock()
        update = MktDepthData(_utc(received // 1_000_000_000), position, market_maker, operation, side, price, size)
        self._record(parse.depth(update, symbol=request.symbol, stream=self.plan.stream, received_ns=received))

    def _on_bar(  # noqa: PLR0917 # IB's EWrapper signature
        self,
        request_id: int,
        time: int,
        open_: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        wap: float,
        count: int,
    ) -> None:
        request = self.requests.get(request_id)
        if request is None:
            return
        bar = RealTimeBar(_utc(time), -1, open_, high, low, close, volume, wap, count)
        self._record(parse.realtime_bar(bar, symbol=request.symbol, stream=self.plan.stream, received_ns=self.clock()))

    def _on_error(self, request_id: int, code: int, message: str, _advanced: str = "") -> None:
        request = self.requests.get(request_id)
        where = f"{request.symbol} {request.kind}: " if request is not None else ""
        said = f"{where}IB {code}: {message}"
        action = classify(code)
        match action:
            case Action.IGNORE:
                pass
            case Action.NOTICE | Action.RESTORED:
                self.outbox.put(Report(FeedState.CONNECTED, said))
            case Action.CONNECTIVITY_LOST:
                self.outbox.put(Report(FeedState.DISCONNECTED, f"{said}; waiting for TWS to reconnect"))
            case Action.RESUBSCRIBE:
                self.outbox.put(Report(FeedState.CONNECTED, f"{said}; resubscribing"))
                self._lost(said)
            case Action.RECONNECT:
                self._last_error = said
                self._end(said)
            case Action.BOOK_RESET if request is not None:
                self._book_reset(request.symbol, said)
            case Action.NO_CONTRACT if request is None:
                self._no_contract = message  # a contract details request: _qualify says it
            case Action.NOT_ENTITLED if request is not None and self.plan.skip_not_entitled:
                self._cancel_request(request_id)
                self.outbox.put(Report(FeedState.CONNECTED, f"{said}; skipped (not-entitled=skip)"))
            case Action.NO_CONTRACT | Action.NOT_ENTITLED | Action.LIMIT | Action.UNSUPPORTED:
                self._fail(f"ib: {said}", FATAL_EXIT[action])
            case _:
                raw = f"error reqId={request_id} code={code}: {message}"
                self._record(ProviderReject(raw, f"{where}IB error code mdc does not handle"))

    def _lost(self, said: str) -> None:
        now = from_ns(self.clock())
        for symbol in sorted(self.subscribed):
            self._record(
                Integrity(
                    symbol=symbol,
                    ts=now,
                    ts_recv=now,
                    provider=parse.PROVIDER,
                    stream=self.plan.stream,
                    kind="sequence_gap",
                    description=f"{said}: data was lost while TWS was cut off from IB; resubscribed",
                )
            )
        self.resubscribe(sorted(self.subscribed))

    def _book_reset(self, symbol: str, said: str) -> None:
        received = self.clock()
        now = from_ns(received)
        self._record(
            Integrity(
                symbol=symbol,
                ts=now,
                ts_recv=now,
                provider=parse.PROVIDER,
                stream=self.plan.stream,
                kind="book_reset",
                description=f"{said}: IB reset the depth book; it is rebuilt from the updates that follow",
            )
        )
        self._record(parse.empty_book(symbol=symbol, stream=self.plan.stream, received_ns=received))

    # ---------------------------------------------------------------- batching

    def _record(self, item: MarketEvent | ProviderReject) -> None:
        self._pending.append(item)
        self._schedule()

    def _schedule(self) -> None:
        if not self._flush_due:
            self._flush_due = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """Send what the packet produced (called once the loop is done with the packet)."""
        self._flush_due = False
        self._top_quotes()
        if not self._pending:
            return
        items, self._pending = tuple(self._pending), []
        if any(not isinstance(item, ProviderReject) for item in items):
            self.healthy = True
        self.outbox.put(Batch(items))

    def _top_quotes(self) -> None:
        if not self._dirty or self.ib is None:
            return
        received = self.clock()
        for request_id in sorted(self._dirty):
            request, ticker = self.requests.get(request_id), self.ib.wrapper.reqId2Ticker.get(request_id)
            if request is None or ticker is None:
                continue
            numbers = tuple(_finite(value) for value in (ticker.bid, ticker.bidSize, ticker.ask, ticker.askSize))
            if numbers == self._tops.get(request_id):
                continue
            self._tops[request_id] = numbers
            bid, bid_size, ask, ask_size = (value if value is not None else -1.0 for value in numbers)
            self._pending.append(
                parse.top_quote(
                    bid,
                    bid_size,
                    ask,
                    ask_size,
                    ts_ns=received,
                    symbol=request.symbol,
                    stream=self.plan.stream + ".top",
                    received_ns=received,
                )
            )
        self._dirty.clear()


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _name(contract: Contract) -> str:
    return contract.localSymbol or f"{contract.symbol} {contract.lastTradeDateOrContractMonth}".strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timed out connecting to TWS"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__
