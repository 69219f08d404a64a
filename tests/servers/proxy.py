"""A TCP proxy that misbehaves on request: the network faults live feeds meet.

    with FaultProxy(upstream_port) as proxy:
        url = f"ws://127.0.0.1:{proxy.port}/feed"
        ...
        proxy.freeze()   # bytes stop flowing both ways; the sockets stay open (a silent connection)
        proxy.thaw()     # new and frozen connections flow again
        proxy.cut()      # every open connection is closed at once, with no WebSocket goodbye

It runs its own trio loop in a thread, so synchronous tests (which run
mdc commands as subprocesses) can drive it. Run by hand:
``python -m tests.servers.proxy UPSTREAM_PORT [--port N]`` (no faults then).
"""

from __future__ import annotations

import argparse
import threading
from types import TracebackType

import trio


class FaultProxy:
    """A proxy from 127.0.0.1:``port`` to 127.0.0.1:``upstream_port``.

    Args:
        upstream_port: where the real server listens.
        port: where to listen (0 picks a free port; see :attr:`port`).
    """

    def __init__(self, upstream_port: int, port: int = 0) -> None:
        self.upstream_port = upstream_port
        self.port = port
        self.connections = 0
        self._ready = threading.Event()
        self._token: trio.lowlevel.TrioToken | None = None
        self._thawed: trio.Event | None = None
        self._scopes: list[trio.CancelScope] = []
        self._stop: trio.Event | None = None
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the proxy did not start")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._call(lambda: self._stop.set() if self._stop is not None else None)
        self._thread.join(10)

    def freeze(self) -> None:
        """Stop forwarding in both directions, keeping every socket open."""
        self._call(self._freeze)

    def thaw(self) -> None:
        """Forward again."""
        self._call(lambda: self._thawed.set() if self._thawed is not None else None)

    def cut(self) -> None:
        """Close every open connection abruptly."""
        self._call(lambda: [scope.cancel() for scope in self._scopes])

    def _freeze(self) -> None:
        if self._thawed is not None and self._thawed.is_set():
            self._thawed = trio.Event()

    def _call(self, function: object) -> None:
        assert self._token is not None
        trio.from_thread.run_sync(function, trio_token=self._token)  # type: ignore[arg-type]

    async def _main(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._thawed = trio.Event()
        self._thawed.set()
        self._stop = trio.Event()
        listeners = await trio.open_tcp_listeners(self.port, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self._handle, listeners)
            self._ready.set()
            await self._stop.wait()
            nursery.cancel_scope.cancel()

    async def _handle(self, client: trio.SocketStream) -> None:
        self.connections += 1
        with trio.CancelScope() as scope:
            self._scopes.append(scope)
            try:
                async with (
                    client,
                    await trio.open_tcp_stream("127.0.0.1", self.upstream_port) as server,
                    trio.open_nursery() as nursery,
                ):
                    nursery.start_soon(self._pump, client, server, nursery.cancel_scope)
                    nursery.start_soon(self._pump, server, client, nursery.cancel_scope)
            except* (OSError, trio.BrokenResourceError, trio.ClosedResourceError):
                pass  # either side went away: so does the other
            finally:
                self._scopes.remove(scope)

    async def _pump(self, source: trio.SocketStream, target: trio.SocketStream, done: trio.CancelScope) -> None:
        while data := await source.receive_some(65536):
            assert self._thawed is not None
            await self._thawed.wait()
            await target.send_all(data)
        done.cancel()  # one side closed: close the other


def main() -> None:
    """Run a fault-free proxy until interrupted (prints its port)."""
    parser = argparse.ArgumentParser(prog="python -m tests.servers.proxy")
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--port", type=int, default=0)
    options = parser.parse_args()
    with FaultProxy(options.upstream_port, options.port) as proxy:
        print(proxy.port, flush=True)  # noqa: T201 - the port is the program's output
        threading.Event().wait()


if __name__ == "__main__":
    main()
