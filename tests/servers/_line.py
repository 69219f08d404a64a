"""The TCP side of the local WebSocket servers: connections a scenario can freeze or cut.

trio-websocket's server is given :class:`Listener` instead of trio's socket
listeners; each connection it accepts is a :class:`Line`, found again by the
handler through ``lines[str(connection.remote)]``.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Awaitable, Callable

import trio
from trio_websocket import WebSocketRequest, WebSocketServer


class Line(trio.abc.Stream):
    """A TCP connection the server can freeze (a silent peer: no data, no pongs) or cut (no WebSocket close)."""

    def __init__(self, inner: trio.abc.Stream, number: int, name: str) -> None:
        self.inner = inner
        self.number = number
        self.name = name
        self.frozen = False
        self.cut = trio.Event()

    def __repr__(self) -> str:  # trio-websocket names a non-socket peer by its repr: the handler finds it so
        return f"{self.name}-line-{self.number}"

    async def _hang(self) -> None:
        await self.cut.wait()
        raise trio.BrokenResourceError("connection cut")

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        if self.frozen:
            await self._hang()
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        if self.frozen:
            await self._hang()
        data = await self.inner.receive_some(max_bytes)
        if self.frozen:  # a ping that arrives now goes unanswered
            await self._hang()
        return data

    async def aclose(self) -> None:
        self.cut.set()
        await self.inner.aclose()


class Listener(trio.abc.Listener[Line]):
    """Hands out numbered :class:`Line` streams and remembers them for the handler."""

    def __init__(self, inner: trio.SocketListener, lines: dict[str, Line], name: str) -> None:
        self.inner = inner
        self.lines = lines
        self.name = name
        self.count = itertools.count(1)

    async def accept(self) -> Line:
        line = Line(await self.inner.accept(), next(self.count), self.name)
        self.lines[repr(line)] = line
        return line

    async def aclose(self) -> None:
        await self.inner.aclose()


async def serve_websocket(  # noqa: PLR0917
    handler: Callable[[WebSocketRequest], Awaitable[None]],
    lines: dict[str, Line],
    host: str,
    port: int,
    name: str,
    path: str,
) -> None:
    """Serve WebSocket ``handler`` on ``host:port`` (0: any free port) over :class:`Line` connections.

    ``name`` (``alpaca``) names the connections; the URL to connect to, ending in ``path``
    (``/v2/iex``), goes to stdout first, for the tests and examples that start the server.
    """
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = listeners[0].socket.getsockname()[1]
    server = WebSocketServer(handler, [Listener(listener, lines, name) for listener in listeners])  # type: ignore[list-item]
    sys.stdout.write(f"ws://{host}:{bound}{path}\n")
    sys.stdout.flush()
    await server.run()
