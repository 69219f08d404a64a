"""A fake TWS: enough of the TWS API socket protocol for ib_async to connect, qualify and subscribe.

    python -m tests.servers.ib --port 0 --script tests/plugins/ib/fixtures/session.json

prints the URL it listens on (``tws://127.0.0.1:PORT``) as its first line on
stdout, then logs each request to stderr. What it speaks, from IB's TWS API
documentation and the message layouts of ib_async 2.1.0's client and decoder
(the text protocol, server version 178):

* the handshake: ``API\\0`` and a length-prefixed ``v157..178`` answered with the
  server version and a connection time; ``startApi`` (71) answered with
  ``nextValidId`` (9) and ``managedAccounts`` (15), then the script's
  ``on_connect`` actions;
* ``reqPositions`` (61) -> ``positionEnd`` (62); ``reqCurrentTime`` (49) ->
  ``currentTime`` (the client's heartbeat; unanswered when ``silent``);
* ``reqContractDetails`` (9) -> ``contractDetails`` (10) + ``contractDetailsEnd``
  (52) for a symbol in the script's ``contracts``, else error 200;
* ``reqTickByTickData`` (97, AllLast / BidAsk), ``reqMktDepth`` (10),
  ``reqRealTimeBars`` (50) and ``reqMktData`` (1) -> the script's replies for
  ``"SYMBOL KIND"`` (KIND: AllLast, BidAsk, depth, bars, top); the n-th such
  request of a connection takes ``"SYMBOL KIND#n"`` when the script has it;
* everything else (cancels, ``reqMarketDataType``) is logged and not answered.

A script is JSON: ``{"accounts": "DU0000001", "contracts": {SYMBOL: {...}},
"connections": [CONNECTION, ...]}``; connection i follows ``connections[i]``
(the last one for all later). A CONNECTION is ``{"refuse": bool, "silent":
bool, "on_connect": [ACTION ...], "replies": {"SPY AllLast": [ACTION ...]}}``.
An ACTION is one of (numbers as IB writes them, best given as strings)::

    {"last": [time, price, size, mask, exchange, conditions]}   tick-by-tick AllLast (99, type 2)
    {"bidask": [time, bid, ask, bid_size, ask_size, mask]}      tick-by-tick BidAsk (99, type 3)
    {"depth": [position, operation, side, price, size]}         updateMktDepth (12)
    {"depth_l2": [position, maker, operation, side, price, size, smart]}  updateMktDepthL2 (13)
    {"bar": [time, open, high, low, close, volume, wap, count]} realtimeBar (50)
    {"price": [tick_type, price, size, mask]}                    tickPrice (1)
    {"size": [tick_type, size]}                                  tickSize (2)
    {"error": [code, message]}                                   error (4) for the request
    {"notice": [code, message]}                                  error (4) with reqId -1
    {"sleep": seconds}                                           pause
    {"close": true}                                              cut the connection
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from functools import partial
from pathlib import Path
from typing import Any

import trio

SERVER_VERSION = 178
CONTRACT_FIELDS = 12
KIND_OF = {"1": "top", "10": "depth", "50": "bars"}


class _Closed(Exception):
    """The script cut the connection."""


class FakeTws:
    """The server's state: the script, what it received, how many connections it took.

    Args:
        script: the parsed script (see the module docstring).
        log: print each request to stderr.
    """

    def __init__(self, script: dict[str, Any], *, log: bool = False) -> None:
        self.script = script
        self.log = log
        self.received: list[list[str]] = []
        self.connections = 0
        self.port = 0

    @property
    def url(self) -> str:
        """``tws://127.0.0.1:PORT``."""
        return f"tws://127.0.0.1:{self.port}"

    def requests(self, message_id: str) -> list[list[str]]:
        """The messages received with that message id, in order."""
        return [fields for fields in self.received if fields and fields[0] == message_id]

    async def handle(self, stream: trio.SocketStream) -> None:
        """Serve one connection until the client or the script closes it."""
        index = self.connections
        self.connections += 1
        plan = _connection_plan(self.script, index)
        try:
            if plan.get("refuse"):
                return
            await _Session(self, stream, plan).run()
        except (trio.BrokenResourceError, trio.ClosedResourceError, _Closed):
            pass
        finally:
            await stream.aclose()


class _Session:
    def __init__(self, server: FakeTws, stream: trio.SocketStream, plan: dict[str, Any]) -> None:
        self.server = server
        self.stream = stream
        self.plan = plan
        self.buffer = b""
        self.counts: Counter[str] = Counter()
        self.batch: list[bytes] | None = None  # while replying: the messages to send in one write

    async def run(self) -> None:
        if await self.read_exact(4) != b"API\0":
            return
        await self.read_message()  # v157..178
        await self.send(str(SERVER_VERSION), time.strftime("%Y%m%d %H:%M:%S UTC", time.gmtime()))
        while True:
            fields = await self.read_message()
            if fields is None:
                return
            self.server.received.append(fields)
            if self.server.log:
                print("<<", ",".join(fields), file=sys.stderr, flush=True)  # noqa: T201
            await self.answer(fields)

    async def answer(self, fields: list[str]) -> None:
        match fields[0]:
            case "71":
                await self.send("9", "1", "1")
                await self.send("15", "1", self.server.script.get("accounts", "DU0000001"))
                await self.act(self.plan.get("on_connect", []), "-1")
            case "61":
                await self.send("62", "1")
            case "49":
                if not self.plan.get("silent"):
                    await self.send("49", "1", str(int(time.time())))
            case "9":
                await self.details(fields[2], fields[3 : 3 + CONTRACT_FIELDS])
            case "97":
                kind = fields[2 + CONTRACT_FIELDS]
                await self.replies(fields[1], fields[3], kind)
            case "10" | "50" | "1":
                await self.replies(fields[2], fields[4], KIND_OF[fields[0]])

    async def details(self, request_id: str, contract: list[str]) -> None:
        symbol, sec_type = contract[1], contract[2]
        known = self.server.script.get("contracts", {}).get(symbol)
        if known is None or known.get("secType", "STK") != sec_type:
            await self.send("4", "2", request_id, "200", "No security definition has been found for the request", "")
            return
        values = {
            "conId": "0",
            "secType": sec_type,
            "lastTradeDateOrContractMonth": contract[3],
            "strike": contract[4],
            "right": contract[5],
            "exchange": contract[7],
            "currency": contract[9],
            "localSymbol": symbol,
            "tradingClass": symbol,
            "minTick": "0.01",
            "multiplier": contract[6],
            "primaryExchange": contract[8],
            "longName": symbol,
            **{key: str(value) for key, value in known.items()},
        }
        order = ("symbol", "secType", "lastTradeDateOrContractMonth", "strike", "right", "exchange", "currency")
        await self.send(
            "10",
            request_id,
            symbol,
            *(values.get(key, "") for key in order[1:]),
            values["localSymbol"],
            "",  # marketName
            values["tradingClass"],
            values["conId"],
            values["minTick"],
            values["multiplier"],
            "LMT,MKT",  # orderTypes
            values["exchange"],  # validExchanges
            "1",  # priceMagnifier
            "0",  # underConId
            values["longName"],
            values["primaryExchange"],
            "",  # contractMonth
            *("", "", ""),  # industry, category, subcategory
            "US/Eastern",
            *("", ""),  # tradingHours, liquidHours
            *("", ""),  # evRule, evMultiplier
            "0",  # no secIds
            "1",  # aggGroup
            *("", "", ""),  # underSymbol, underSecType, marketRuleIds
            "",  # realExpirationDate
            "COMMON",  # stockType
            *("1", "1", "1"),  # minSize, sizeIncrement, suggestedSizeIncrement
        )
        await self.send("52", "1", request_id)

    async def replies(self, request_id: str, symbol: str, kind: str) -> None:
        key = f"{symbol} {kind}"
        self.counts[key] += 1
        table = self.plan.get("replies", {})
        actions = table.get(f"{key}#{self.counts[key]}")
        if actions is None and self.counts[key] == 1:
            actions = table.get(key, [])
        await self.act(actions or [], request_id)

    async def act(self, actions: list[dict[str, Any]], request_id: str) -> None:
        """Send a reply's messages in one write, as TWS sends what it has at once (a sleep or close splits it)."""
        self.batch = []
        try:
            await self._act(actions, request_id)
        finally:
            await self.flush()

    async def flush(self) -> None:
        batch, self.batch = self.batch, None
        if batch:
            await self.stream.send_all(b"".join(batch))

    async def _act(self, actions: list[dict[str, Any]], request_id: str) -> None:
        for action in actions:
            ((name, value),) = action.items()
            args = [str(item) for item in value] if isinstance(value, list) else []
            match name:
                case "last":
                    await self.send("99", request_id, "2", *args)
                case "bidask":
                    await self.send("99", request_id, "3", *args)
                case "depth":
                    await self.send("12", "1", request_id, *args)
                case "depth_l2":
                    await self.send("13", "1", request_id, *args)
                case "bar":
                    await self.send("50", "3", request_id, *args)
                case "price":
                    await self.send("1", "6", request_id, *args)
                case "size":
                    await self.send("2", "6", request_id, *args)
                case "error":
                    await self.send("4", "2", request_id, *args, "")
                case "notice":
                    await self.send("4", "2", "-1", *args, "")
                case "sleep":
                    await self.flush()
                    await trio.sleep(float(value))
                    self.batch = []
                case "close":
                    await self.flush()
                    raise _Closed
                case _:
                    raise ValueError(f"unknown action {name!r}")

    async def send(self, *fields: str) -> None:
        body = "".join(field + "\0" for field in fields).encode()
        if self.batch is not None:
            self.batch.append(struct.pack(">I", len(body)) + body)
        else:
            await self.stream.send_all(struct.pack(">I", len(body)) + body)

    async def read_exact(self, count: int) -> bytes | None:
        while len(self.buffer) < count:
            data = await self.stream.receive_some(65536)
            if not data:
                return None
            self.buffer += data
        chunk, self.buffer = self.buffer[:count], self.buffer[count:]
        return chunk

    async def read_message(self) -> list[str] | None:
        prefix = await self.read_exact(4)
        if prefix is None:
            return None
        body = await self.read_exact(struct.unpack(">I", prefix)[0])
        if body is None:
            return None
        fields = body.decode(errors="replace").split("\0")
        return fields[:-1] if fields and fields[-1] == "" else fields


def _connection_plan(script: dict[str, Any], index: int) -> dict[str, Any]:
    connections: list[dict[str, Any]] = script.get("connections", [{}]) or [{}]
    return connections[min(index, len(connections) - 1)]


@asynccontextmanager
async def serve(script: dict[str, Any], *, port: int = 0, log: bool = False) -> AsyncIterator[FakeTws]:
    """Run a fake TWS on 127.0.0.1 (port 0: a free one) for the duration of the block."""
    server = FakeTws(script, log=log)
    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(partial(trio.serve_tcp, server.handle, port, host="127.0.0.1"))
        server.port = listeners[0].socket.getsockname()[1]
        yield server
        nursery.cancel_scope.cancel()


async def _main(port: int, script: dict[str, Any]) -> None:
    async with serve(script, port=port, log=True) as server:
        print(server.url, flush=True)  # noqa: T201
        await trio.sleep_forever()


def main() -> None:
    """Run the fake TWS until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--script", type=Path, help="a JSON script (default: accept, answer, send nothing)")
    arguments = parser.parse_args()
    script = json.loads(arguments.script.read_text()) if arguments.script else {}
    with suppress(KeyboardInterrupt):
        trio.run(_main, arguments.port, script)


if __name__ == "__main__":
    main()
