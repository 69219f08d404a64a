"""capture() end to end: ib_async talking to the fake TWS (tests/servers/ib.py) over a real socket."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import trio
from mdc_provider_ib.provider import IbProvider

from mdc.core.events import Bar, Depth, Integrity, Quote, Snapshot, Trade
from mdc.core.live import Breaker
from mdc.core.provider import FeedState, ProviderError, ProviderUnavailable
from mdc.io.tasks import one_error
from tests.plugins.ib._support import NS, Context, Sink, fast, request, script, trio_test
from tests.servers.ib import FakeTws, serve

pytestmark = pytest.mark.timeout(60)
SPY_LAST = {"last": [1795530600, "668.10", "100", "0", "ARCA", ""]}
SPY_LAST_2 = {"last": [1795530605, "668.20", "200", "0", "ARCA", ""]}


def scripted(replies: dict[str, list[dict[str, Any]]], *more: dict[str, Any], **connection: Any) -> dict[str, Any]:
    """The session's contracts with one connection's replies (and more connections after it)."""
    made = copy.deepcopy(script())
    made["connections"] = [{"replies": replies, **connection}, *more]
    return made


async def run(
    the_script: dict[str, Any],
    symbols: list[str],
    count: int,
    *,
    context: Context | None = None,
    resilience: Any = None,
    deadline: float = 15,
    **options: str,
) -> tuple[Sink, Context, FakeTws]:
    """Capture until ``count`` events arrived (then cancel, as --max-events does)."""
    with one_error():
        return await _run(the_script, symbols, count, context, resilience, deadline, **options)


async def _run(  # noqa: PLR0917
    the_script: dict[str, Any],
    symbols: list[str],
    count: int,
    context: Context | None,
    resilience: Any,
    deadline: float,
    **options: str,
) -> tuple[Sink, Context, FakeTws]:
    async with serve(the_script) as server:
        context = context or Context(symbols)
        sink = Sink(count)
        with trio.fail_after(deadline), sink.scope:
            provider = IbProvider(rng=random.Random(7))
            await provider.capture(request(symbols, server.url, resilience, **options), sink, context)
        return sink, context, server


@trio_test
async def test_trades_and_quotes() -> None:
    """Tick-by-tick AllLast and BidAsk become trades and quotes with IB's times and exact prices."""
    sink, context, server = await run(script(), ["SPY"], 5)
    trades, quotes = sink.of("trade"), sink.of("quote")
    assert [(t.ts, t.price, t.size, t.exchange, t.conditions) for t in trades if isinstance(t, Trade)] == [
        ("2026-11-24T14:30:00.000000000Z", Decimal("668.1"), Decimal("100.0"), "ARCA", ()),
        ("2026-11-24T14:30:00.000000000Z", Decimal("668.11"), Decimal("25.0"), "FINRA", ("I", "unreported")),
        ("2026-11-24T14:30:01.000000000Z", Decimal("668.09"), Decimal("300.0"), "NYSE", ("F", "T", "pastLimit")),
    ]
    assert [(q.bid_price, q.bid_size, q.ask_price, q.ask_size) for q in quotes if isinstance(q, Quote)] == [
        (Decimal("668.09"), Decimal("500.0"), Decimal("668.11"), Decimal("300.0")),
        (Decimal("668.1"), Decimal("200.0"), Decimal("668.11"), Decimal("100.0")),
    ]
    assert {(event.provider, event.stream, event.symbol) for event in sink.events} == {("ib", "ib.live", "SPY")}
    assert context.details(FeedState.CONNECTED) == [server.url]
    assert context.details(FeedState.SUBSCRIBED) == ["SPY"]
    assert [fields[-3:] for fields in server.requests("97")] == [["AllLast", "0", "0"], ["BidAsk", "0", "0"]]


@trio_test
async def test_depth_and_bars_of_a_future(tmp_path: Any) -> None:
    """A contract-file future: an empty snapshot starts the book, then the position-model depth, then a 5 s bar."""
    contracts = tmp_path / "contracts.toml"
    contracts.write_text('ESZ6 = "FUT:ES:202612:CME"\n')
    sink, _, server = await run(script(), ["ESZ6"], 7, data="depth,bars", contracts=str(contracts))
    snapshot, *depths, bar = sink.events
    assert isinstance(snapshot, Snapshot)
    assert (snapshot.symbol, snapshot.bids, snapshot.asks) == ("ESZ6", (), ())
    assert [(d.side, d.op, d.position, d.price, d.size) for d in depths if isinstance(d, Depth)] == [
        ("bid", "insert", 0, Decimal("6712.25"), Decimal("12.0")),
        ("ask", "insert", 0, Decimal("6712.5"), Decimal("9.0")),
        ("bid", "insert", 1, Decimal("6712.0"), Decimal("30.0")),
        ("bid", "update", 0, Decimal("6712.25"), Decimal("15.0")),
        ("bid", "delete", 1, Decimal("6712.0"), None),
    ]
    assert isinstance(bar, Bar)
    assert (bar.interval, bar.ts, bar.close, bar.vwap, bar.trade_count) == (
        "5s",
        "2026-11-24T14:30:00.000000000Z",
        Decimal("6712.5"),
        Decimal("6712.41"),
        57,
    )
    depth_request = server.requests("10")[0]
    assert depth_request[3:5] + depth_request[-3:-1] == ["649180695", "ES", "5", "0"]  # conId, symbol, rows, smart


@trio_test
async def test_delayed_top_of_book() -> None:
    """market-data=delayed sends reqMarketDataType(3) and quotes the ticker's top of book on the .top stream."""
    sink, _, server = await run(script(), ["EUR/USD"], 1, **{"market-data": "delayed"})
    (quote,) = sink.events
    assert isinstance(quote, Quote)
    assert (quote.stream, quote.bid_price, quote.bid_size, quote.ask_price, quote.ask_size) == (
        "ib.delayed.top",
        Decimal("1.15735"),
        Decimal("3000000.0"),
        Decimal("1.1574"),
        Decimal("2000000.0"),
    )
    assert server.requests("59") == [["59", "1", "3"]]


@trio_test
async def test_no_security_definition_exits_2_naming_the_symbol() -> None:
    """IB's error 200 for a symbol ends the run with exit 2 and a message naming it."""
    with pytest.raises(ProviderError) as raised:
        await run(script(), ["QQQ"], 1)
    assert raised.value.exit_code == 2
    assert str(raised.value) == (
        "ib: QQQ: no security definition (stock QQQ on SMART in USD): "
        "IB 200: No security definition has been found for the request"
    )


@trio_test
async def test_bad_symbol_exits_2_before_connecting() -> None:
    """A symbol the contract grammar cannot read is a usage error before any connection."""
    with pytest.raises(ProviderError) as raised:
        await run(script(), ["FUT:ES:26:CME"], 1)
    assert (raised.value.exit_code, str(raised.value)) == (
        2,
        "ib: FUT:ES:26:CME: expiry must be YYYYMM or YYYYMMDD (got '26')",
    )


NOT_SUBSCRIBED = {"error": [354, "Requested market data is not subscribed."]}


@trio_test
async def test_not_entitled_exits_77() -> None:
    """Error 354 on a subscription ends the run with exit 77 naming the symbol and the stream."""
    with pytest.raises(ProviderError) as raised:
        await run(scripted({"SPY AllLast": [NOT_SUBSCRIBED]}), ["SPY"], 1)
    assert (raised.value.exit_code, str(raised.value)) == (
        77,
        "ib: SPY trades: IB 354: Requested market data is not subscribed.",
    )


@trio_test
async def test_not_entitled_skip_keeps_the_other_streams() -> None:
    """With not-entitled=skip the refused stream is cancelled and said on stderr; the quotes go on."""
    replies = {
        "SPY AllLast": [NOT_SUBSCRIBED],
        "SPY BidAsk": [{"sleep": 0.1}, *script()["connections"][0]["replies"]["SPY BidAsk"]],
    }
    sink, context, server = await run(scripted(replies), ["SPY"], 2, **{"not-entitled": "skip"})
    assert [event.TYPE for event in sink.events] == ["quote", "quote"]
    assert "SPY trades: IB 354: Requested market data is not subscribed.; skipped (not-entitled=skip)" in (
        context.details(FeedState.CONNECTED)
    )
    assert len(server.requests("98")) == 1  # cancelTickByTickData


@trio_test
async def test_1101_data_lost_resubscribes_with_a_gap() -> None:
    """1101 (connectivity restored, data lost): integrity sequence_gap per symbol, then everything resubscribed."""
    lost = {"notice": [1101, "Connectivity between IB and TWS has been restored- data lost."]}
    sink, context, server = await run(
        scripted({"SPY AllLast#1": [SPY_LAST, lost], "SPY AllLast#2": [SPY_LAST_2]}), ["SPY"], 3, data="trades"
    )
    first, gap, second = sink.events
    assert isinstance(first, Trade)
    assert isinstance(second, Trade)
    assert isinstance(gap, Integrity)
    assert (first.price, gap.kind, second.price) == (Decimal("668.1"), "sequence_gap", Decimal("668.2"))
    assert gap.description.startswith("IB 1101: Connectivity between IB and TWS has been restored- data lost.")
    assert (len(server.requests("97")), len(server.requests("98"))) == (2, 1)
    assert any("resubscribing" in detail for detail in context.details(FeedState.CONNECTED))


@trio_test
async def test_317_resets_the_book() -> None:
    """Error 317 on depth: integrity book_reset and an empty snapshot, then the rebuilt book's depth."""
    reset = {"error": [317, "Market depth data has been RESET. Please empty deep book contents."]}
    insert = {"depth": [0, 0, 1, "6712.25", "12"]}
    sink, _, _ = await run(scripted({"SPY depth": [insert, reset, insert]}), ["SPY"], 5, data="depth")
    assert [event.TYPE for event in sink.events] == ["snapshot", "depth", "integrity", "snapshot", "depth"]
    integrity = sink.events[2]
    assert isinstance(integrity, Integrity)
    assert (integrity.kind, integrity.symbol) == ("book_reset", "SPY")


@trio_test
async def test_unknown_error_is_a_reject() -> None:
    """An error code mdc does not know is a reject line with IB's words; the data goes on."""
    odd = {"error": [9999, "Something IB has not documented"]}
    sink, context, _ = await run(scripted({"SPY AllLast": [odd, SPY_LAST]}), ["SPY"], 1, data="trades")
    assert [event.TYPE for event in sink.events] == ["trade"]
    assert [(reject.raw, reject.reason) for reject in context.rejects] == [
        ("error reqId=2 code=9999: Something IB has not documented", "SPY trades: IB error code mdc does not handle")
    ]


@trio_test
async def test_abrupt_close_reconnects_and_resubscribes() -> None:
    """TWS cutting the socket: disconnected, back off, reconnect, resubscribe (the contract qualified once)."""
    the_script = scripted({"SPY AllLast": [SPY_LAST, {"close": True}]}, {"replies": {"SPY AllLast": [SPY_LAST_2]}})
    sink, context, server = await run(the_script, ["SPY"], 2, data="trades")
    assert [event.price for event in sink.events if isinstance(event, Trade)] == [Decimal("668.1"), Decimal("668.2")]
    assert server.connections == 2
    assert context.details(FeedState.DISCONNECTED) == ["TWS closed the connection"]
    assert len(server.requests("9")) == 1


@trio_test
async def test_silent_connection_is_dropped_by_the_heartbeat() -> None:
    """A TWS that stops answering the heartbeat (reqCurrentTime) is dropped and reconnected."""
    the_script = scripted({"SPY AllLast": [SPY_LAST]}, {"replies": {"SPY AllLast": [SPY_LAST_2]}}, silent=True)
    sink, context, server = await run(the_script, ["SPY"], 2, resilience=fast(idle_timeout_s=0.3), data="trades")
    assert [event.TYPE for event in sink.events] == ["trade", "trade"]
    assert context.details(FeedState.DISCONNECTED) == ["silent connection (no answer to a heartbeat in 0.3 s)"]
    assert server.connections == 2


@trio_test
async def test_refused_connections_open_the_breaker() -> None:
    """A TWS that closes every connection at once: the breaker opens and the provider is unavailable (failover)."""
    resilience = fast(breaker=Breaker(threshold=2, cooldown_ns=60 * NS))
    with pytest.raises(ProviderUnavailable) as raised:
        await run({"connections": [{"refuse": True}]}, ["SPY"], 1, resilience=resilience)
    assert str(raised.value).startswith("ib: down after 2 failed attempts (")


@trio_test
async def test_symbol_changes_follow_the_config() -> None:
    """A new wanted set cancels the symbols gone and subscribes the new ones on the same connection."""
    the_script = scripted(
        {"SPY AllLast": [SPY_LAST], "AAPL AllLast": [{"last": [1795530610, "230.5", "10", "0", "", ""]}]}
    )
    the_script["contracts"]["AAPL"] = {"conId": 265598}
    context = Context(["SPY"])

    async def emit_then_change(sink: Sink) -> None:
        while not sink.events:  # noqa: ASYNC110 # the sink is the test's, not worth an event
            await trio.sleep(0.01)
        context.change(["AAPL"])

    async with serve(the_script) as server:
        sink = Sink(2)
        with trio.fail_after(15), sink.scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(emit_then_change, sink)
                await IbProvider().capture(request(["SPY"], server.url, data="trades"), sink, context)
    assert [event.symbol for event in sink.events] == ["SPY", "AAPL"]
    assert server.requests("98") == [["98", "2"]]
    assert server.connections == 1


@trio_test
async def test_silent_symbol_is_resubscribed() -> None:
    """A subscribed symbol silent past --stale-after in its session: integrity stale, resubscribed, data again."""
    the_script = scripted({"SPY AllLast#1": [], "SPY AllLast#2": [SPY_LAST]})
    sink, _, server = await run(the_script, ["SPY"], 2, resilience=fast(stale_after_s=0.3), data="trades")
    stale, trade = sink.events
    assert isinstance(stale, Integrity)
    assert isinstance(trade, Trade)
    assert (stale.kind, stale.symbol, trade.price) == ("stale", "SPY", Decimal("668.1"))
    assert len(server.requests("97")) == 2


@trio_test
async def test_slow_consumer_loses_nothing_and_keeps_order() -> None:
    """2,000 ticks into a consumer that dawdles: all arrive, in order (the loop thread waits, trio does not)."""
    ticks = [
        {"last": [1795530600 + n // 100, f"{600 + n / 100:.2f}", str(n + 1), "0", "ARCA", ""]} for n in range(2000)
    ]
    the_script = scripted({"SPY AllLast": ticks})
    async with serve(the_script) as server:
        sink = Sink(2000)

        async def slow(items: Any) -> None:
            await trio.sleep(0.002)
            await sink(items)

        with trio.fail_after(30), sink.scope:
            await IbProvider().capture(request(["SPY"], server.url, data="trades"), slow, Context(["SPY"]))
    assert [event.size for event in sink.events if isinstance(event, Trade)] == [Decimal(n) for n in range(1, 2001)]


@trio_test
async def test_cancellation_disconnects_and_joins_the_thread() -> None:
    """Cancelling the capture disconnects from TWS and leaves no loop thread behind."""
    await run(script(), ["SPY"], 1)
    assert [thread.name for thread in threading.enumerate() if thread.name == "mdc-ib"] == []


@trio_test
async def test_probe() -> None:
    """probe() connects and returns; against nothing it says the provider is unavailable."""
    async with serve(script()) as server:
        await IbProvider().probe(request(["SPY"], server.url), Context(["SPY"]))
    with pytest.raises(ProviderUnavailable):
        await IbProvider().probe(request(["SPY"], server.url), Context(["SPY"]))


async def _mdc_capture(bin_dir: Path, url: str, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    return await trio.run_process(
        [str(bin_dir / "mdc-capture"), "ib", *arguments, "--url", url, "--idle-timeout", "1"],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )


@trio_test
async def test_mdc_capture_command(bin_dir: Path) -> None:
    """mdc-capture ib SPY against the fake TWS: NDJSON on stdout, one status line on stderr, exit 0."""
    async with serve(script()) as server:
        with trio.fail_after(30):
            done = await _mdc_capture(bin_dir, server.url, "SPY", "--max-events", "5")
    lines = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert (done.returncode, [line["type"] for line in lines]) == (0, ["trade"] * 3 + ["quote"] * 2)
    assert lines[0]["price"] == 668.1
    assert done.stderr.decode() == f"mdc-capture: ib: connected ({server.url})\n"


@trio_test
async def test_mdc_capture_exit_codes(bin_dir: Path) -> None:
    """No security definition exits 2 and names the symbol; a refused subscription exits 77."""
    async with serve(scripted({"SPY AllLast": [NOT_SUBSCRIBED]})) as server:
        with trio.fail_after(30):
            unknown = await _mdc_capture(bin_dir, server.url, "QQQ")
            refused = await _mdc_capture(bin_dir, server.url, "SPY", "-o", "data=trades")
    assert unknown.returncode == 2
    assert "mdc-capture: ib: QQQ: no security definition (stock QQQ on SMART in USD)" in unknown.stderr.decode()
    assert refused.returncode == 77
    assert "ib: SPY trades: IB 354: Requested market data is not subscribed." in refused.stderr.decode()
