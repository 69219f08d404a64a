"""A reference server for the example feed, for tests and demos.

    python -m mdc_provider_example.server --port 8765 --token secret --rate 100

prints the URL it listens on as its first line, then serves until killed.
Each subscribed symbol gets a trade and a quote in turn, ``--rate`` messages
per second per symbol (0: as fast as the client reads). Every client request
is logged as one JSON line to ``--log`` (for tests to check what a client did).
Faults for testing clients: ``--close-after N`` closes each of the first
``--close-times`` connections after N data messages; ``--mute SYMBOL`` never
sends that symbol; ``--symbol-limit N`` refuses subscriptions beyond N
symbols; ``--busy N`` refuses the first N connections as over the limit;
``--garbage-every N`` sends a line that is not JSON every N messages.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import time
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TextIO

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest, serve_websocket


class Feed:
    """The server's state: options, counters, and the log of client requests."""

    def __init__(self, options: argparse.Namespace, log: TextIO | None) -> None:
        self.options = options
        self.log = log
        self.connections = 0
        self.closed = 0
        self.seq: dict[str, int] = {}
        self.price: dict[str, Decimal] = {}

    def record(self, connection: int, what: str, **details: object) -> None:
        """Log one client request (or a fault the server caused)."""
        if self.log is not None:
            self.log.write(json.dumps({"connection": connection, "what": what, **details}) + "\n")
            self.log.flush()

    def message(self, symbol: str, index: int) -> str:
        """The next data message for ``symbol``: a trade on even rounds, a quote on odd ones."""
        price = self.price.setdefault(symbol, Decimal("100.00") + len(symbol))
        price = self.price[symbol] = max(Decimal("1.00"), price + Decimal((-1, 0, 1)[index % 3]) / 100)
        now = time.time_ns()
        if index % 2 == 0:
            seq = self.seq[symbol] = self.seq.get(symbol, 0) + 1  # trades are numbered per symbol
            return f'{{"ev":"trade","sym":"{symbol}","seq":{seq},"px":{price},"qty":100,"t":{now}}}'
        bid, ask = price - Decimal("0.01"), price + Decimal("0.01")
        return f'{{"ev":"quote","sym":"{symbol}","bid":{bid},"bsz":300,"ask":{ask},"asz":200,"t":{now}}}'


async def serve(feed: Feed, request: WebSocketRequest) -> None:
    """One client's connection."""
    feed.connections += 1
    number = feed.connections
    websocket = await request.accept()
    options = feed.options
    if number <= options.busy:
        await websocket.send_message(json.dumps({"ev": "error", "code": "busy", "msg": "too many connections"}))
        await websocket.aclose()
        return
    subscribed: list[str] = []
    try:
        await websocket.send_message('{"ev":"welcome"}')
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stream, feed, number, websocket, subscribed)
            while True:
                asked = json.loads(await websocket.get_message())
                op = asked.get("op")
                if op == "auth":
                    ok = asked.get("token") == options.token
                    feed.record(number, "auth", ok=ok)
                    if not ok:
                        error = {"ev": "error", "code": "auth_failed", "msg": "authentication failed"}
                        await websocket.send_message(json.dumps(error))
                        await websocket.aclose()
                        return
                    await websocket.send_message('{"ev":"authorized"}')
                elif op == "subscribe":
                    symbols = [symbol for symbol in asked["symbols"] if symbol not in subscribed]
                    feed.record(number, "subscribe", symbols=asked["symbols"])
                    if options.symbol_limit and len(subscribed) + len(symbols) > options.symbol_limit:
                        error = {"ev": "error", "code": "symbol_limit", "msg": "symbol limit exceeded"}
                        await websocket.send_message(json.dumps(error))
                        continue
                    subscribed.extend(symbols)
                    await websocket.send_message(json.dumps({"ev": "subscribed", "symbols": subscribed}))
                elif op == "unsubscribe":
                    feed.record(number, "unsubscribe", symbols=asked["symbols"])
                    subscribed[:] = [symbol for symbol in subscribed if symbol not in asked["symbols"]]
    except* ConnectionClosed:  # the client went away (or the server closed on purpose)
        feed.record(number, "closed")


async def _stream(feed: Feed, number: int, websocket: WebSocketConnection, subscribed: list[str]) -> None:
    options = feed.options
    interval = 0.0 if options.rate == 0 else 1 / options.rate
    sent = 0
    for index in itertools.count():
        live = [symbol for symbol in subscribed if symbol not in options.mute]
        if not live:
            await trio.sleep(0.01)
            continue
        for symbol in live:
            if options.garbage_every and sent and sent % options.garbage_every == 0:
                await websocket.send_message("<html>502 Bad Gateway</html>")
            await websocket.send_message(feed.message(symbol, index))
            sent += 1
            if options.close_after and sent >= options.close_after and feed.closed < options.close_times:
                feed.closed += 1
                feed.record(number, "server_close", after=sent)
                await websocket.aclose(code=1011, reason="server going away")
                return
        await trio.sleep(interval)


def main(argv: list[str] | None = None) -> None:
    """Parse the options and serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m mdc_provider_example.server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default="secret-token")
    parser.add_argument("--rate", type=float, default=50.0, help="messages per second per symbol; 0 = flat out")
    parser.add_argument("--log", type=Path, help="append every client request to this file as JSON lines")
    parser.add_argument("--close-after", type=int, default=0)
    parser.add_argument("--close-times", type=int, default=1)
    parser.add_argument("--mute", default="", type=lambda text: set(filter(None, text.split(","))))
    parser.add_argument("--symbol-limit", type=int, default=0)
    parser.add_argument("--busy", type=int, default=0)
    parser.add_argument("--garbage-every", type=int, default=0)
    options = parser.parse_args(argv)
    trio.run(_main, options)


async def _main(options: argparse.Namespace) -> None:
    with options.log.open("a") if options.log else contextlib.nullcontext() as log:
        feed = Feed(options, log)
        async with trio.open_nursery() as nursery:
            server = await nursery.start(serve_websocket, partial(serve, feed), options.host, options.port, None)
            sys.stdout.write(f"ws://{options.host}:{server.port}/feed\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
