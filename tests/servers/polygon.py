"""A local Polygon (Massive) stocks WebSocket server that speaks the documented protocol.

    python -m tests.servers.polygon --port 0 --script tests/plugins/polygon/fixtures/session.json

prints the URL it listens on (``ws://127.0.0.1:PORT/stocks``) as its first line
on stdout, then logs what it does to stderr (never the API key). Each
connection goes as Polygon's documentation says: the ``connected`` greeting,
``{"action":"auth","params":KEY}`` answered ``auth_success`` (or
``auth_failed`` when ``--key`` is given and differs, or ``auth_timeout`` when
no auth comes within ``--auth-timeout``), then every topic of a
``subscribe`` confirmed on its own (``subscribed to: T.SPY``). After the first
subscribe the script's frames are replayed, each filtered to the topics
subscribed at that moment (status messages always pass).

A script is JSON: ``{"frames": [FRAME, ...], "repeat": N}``, where a FRAME is
a JSON array of Polygon messages, ``{"raw": TEXT}`` (sent verbatim) or
``{"sleep": SECONDS}``.

``--scenario`` makes the first ``--scenario-connections`` connections (default:
all) misbehave the way real servers and networks do:

* ``not-entitled``: ``auth_failed`` with Polygon's "Your plan doesn't include websocket access" words;
* ``max-connections``: after ``auth_success``, the ``max_connections`` status, then a close (1008);
* ``abrupt-close``: after the replay, the TCP connection is cut (no WebSocket close);
* ``garbage``: frames that are not Polygon messages come before the replay;
* ``silent``: after the subscription is confirmed, nothing more is sent and pings go unanswered;
* ``slow``: the script is sent ``--burst`` times as fast as possible, and the connection is cut
  as soon as one frame waits more than ``--slow-after`` seconds to go out (Polygon drops a client
  whose server-side buffer fills up).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest

from tests.servers._line import Line, serve_websocket

SCENARIOS = ("normal", "not-entitled", "max-connections", "abrupt-close", "garbage", "silent", "slow")
CONNECTED = {"ev": "status", "status": "connected", "message": "Connected Successfully"}
GARBAGE: tuple[str | bytes, ...] = (
    "this is not JSON",
    '[{"ev":"T","sym":"SPY"',
    '{"ev":"T","sym":"SPY","p":590.1,"s":1,"t":1767623400000}',
    '[{"ev":"T","sym":"SPY","p":"a lot","s":1,"t":1767623400000}]',
    '[{"ev":"XQ","sym":"SPY"}]',
    b"\x00\xffbinary",
)
NOT_ENTITLED = "Your plan doesn't include websocket access. Visit https://polygon.io/pricing to upgrade."
MAX_CONNECTIONS = (
    "Maximum number of websocket connections exceeded. You have reached the connection limit for your account."
)


class _Tag(msgspec.Struct):
    ev: str = ""
    sym: str = ""


class Script(msgspec.Struct):
    """A replay script (see the module docstring)."""

    frames: list[msgspec.Raw] = []
    repeat: int = 1


_TAG = msgspec.json.Decoder(_Tag)
_ELEMENTS = msgspec.json.Decoder(list[msgspec.Raw])


def log(text: str) -> None:
    """One line on stderr."""
    sys.stderr.write(f"polygon-server: {text}\n")
    sys.stderr.flush()


def frame_text(frame: Any, topics: set[str]) -> str | bytes | None:
    """A script frame as sent to a client subscribed to ``topics``; None when nothing of it is for them."""
    if isinstance(frame, dict):
        return frame.get("raw")
    raws = _ELEMENTS.decode(frame)
    kept = []
    for raw in raws:
        tag = _TAG.decode(raw)
        if tag.ev == "status" or f"{tag.ev}.{tag.sym}" in topics or f"{tag.ev}.*" in topics:
            kept.append(bytes(raw).decode())
    return "[" + ",".join(kept) + "]" if kept else None


class Session:
    """One client connection."""

    def __init__(self, options: argparse.Namespace, connection: WebSocketConnection, line: Line) -> None:
        self.options = options
        self.connection = connection
        self.line = line
        self.number = line.number
        self.scenario = options.scenario if line.number <= options.scenario_connections else "normal"
        self.topics: set[str] = set()
        self.subscribed = trio.Event()

    async def status(self, status: str, message: str) -> None:
        await self.connection.send_message(json.dumps([{"ev": "status", "status": status, "message": message}]))

    async def run(self) -> None:
        log(f"connection {self.number}: open ({self.scenario})")
        await self.connection.send_message(json.dumps([CONNECTED]))
        if not await self.authenticate():
            return
        if self.scenario == "max-connections":
            await self.status("max_connections", MAX_CONNECTIONS)
            log(f"connection {self.number}: max_connections, closing")
            await self.connection.aclose(code=1008, reason="max connections")
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self.follow_client)
            await self.subscribed.wait()
            await self.play()
            nursery.cancel_scope.cancel()

    async def authenticate(self) -> bool:
        with trio.move_on_after(self.options.auth_timeout):
            while True:
                request = json.loads(await self.connection.get_message())
                if isinstance(request, dict) and request.get("action") == "auth":
                    break
                log(f"connection {self.number}: ignored {request!r} before auth")
        if not isinstance(request, dict) or request.get("action") != "auth":
            await self.status("auth_timeout", "No authentication request received.")
            await self.connection.aclose(code=1008)
            return False
        key = request.get("params")
        if self.scenario == "not-entitled":
            await self.status("auth_failed", NOT_ENTITLED)
        elif not isinstance(key, str) or not key or (self.options.key is not None and key != self.options.key):
            await self.status("auth_failed", "authentication failed")
        else:
            await self.status("auth_success", "authenticated")
            log(f"connection {self.number}: authenticated")
            return True
        log(f"connection {self.number}: auth failed, closing")
        await self.connection.aclose(code=1008, reason="authentication failed")
        return False

    async def follow_client(self) -> None:
        while True:
            request = json.loads(await self.connection.get_message())
            action = request.get("action") if isinstance(request, dict) else None
            topics = [topic.strip() for topic in str(request.get("params", "")).split(",") if topic.strip()]
            if action == "subscribe":
                log(f"connection {self.number}: subscribe {','.join(topics)}")
                for topic in topics:
                    self.topics.add(topic)
                    await self.status("success", f"subscribed to: {topic}")
                if self.scenario == "silent":
                    self.line.frozen = True
                    log(f"connection {self.number}: silent from now on")
                self.subscribed.set()
            elif action == "unsubscribe":
                log(f"connection {self.number}: unsubscribe {','.join(topics)}")
                for topic in topics:
                    self.topics.discard(topic)
                    await self.status("success", f"unsubscribed to: {topic}")
            else:
                log(f"connection {self.number}: ignored {request!r}")

    async def play(self) -> None:
        if self.scenario == "silent":
            with trio.move_on_after(self.options.silent_for):
                await self.line.cut.wait()
            await self.line.aclose()
            return
        if self.scenario == "garbage":
            for text in GARBAGE:
                await self.connection.send_message(text)
        repeat = self.options.burst if self.scenario == "slow" else self.options.script_repeat
        sent = 0
        for _ in range(repeat):
            for frame in self.options.frames:
                if isinstance(frame, dict) and "sleep" in frame:
                    await trio.sleep(float(frame["sleep"]))
                    continue
                text = frame_text(frame, self.topics)
                if text is None:
                    continue
                with trio.move_on_after(self.options.slow_after if self.scenario == "slow" else float("inf")) as scope:
                    await self.connection.send_message(text)
                if scope.cancelled_caught:
                    log(f"connection {self.number}: slow consumer: a frame waited {self.options.slow_after} s, cutting")
                    await self.line.aclose()
                    return
                sent += 1
        log(f"connection {self.number}: sent {sent} frames")
        if self.scenario == "abrupt-close":
            log(f"connection {self.number}: cutting the connection")
            await self.line.aclose()
            return
        await trio.sleep_forever()  # stay open (pings answered) until the client leaves


async def serve(options: argparse.Namespace) -> None:
    """Listen and serve until killed."""
    lines: dict[str, Line] = {}

    async def handle(request: WebSocketRequest) -> None:
        if not request.path.split("?")[0].rstrip("/").endswith("/stocks"):
            await request.reject(404, body=b"no such cluster\n")
            return
        connection = await request.accept()
        line = lines.pop(str(connection.remote))
        try:
            await Session(options, connection, line).run()
        except* (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            log(f"connection {line.number}: closed by the client")
        finally:
            lines.pop(repr(line), None)

    await serve_websocket(handle, lines, options.host, options.port, "polygon", "/stocks")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.servers.polygon", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the URL on stdout says which)")
    parser.add_argument("--script", type=Path, help="the frames to replay after the first subscribe")
    parser.add_argument("--key", help="the only API key accepted (default: any non-empty key)")
    parser.add_argument("--scenario", choices=SCENARIOS, default="normal")
    parser.add_argument("--scenario-connections", type=int, default=1 << 30, metavar="N")
    parser.add_argument("--auth-timeout", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--silent-for", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--burst", type=int, default=2000, help="slow: times the script is sent")
    parser.add_argument("--slow-after", type=float, default=1.0, metavar="SECONDS")
    options = parser.parse_args(argv)
    script = msgspec.json.decode(options.script.read_bytes(), type=Script) if options.script else Script()
    # arrays stay raw text, so that replay sends numbers exactly as the script writes them
    options.frames = [
        bytes(frame) if bytes(frame).lstrip()[:1] == b"[" else json.loads(bytes(frame)) for frame in script.frames
    ]
    options.script_repeat = script.repeat
    return options


def main() -> None:
    """Run the server until interrupted."""
    options = parse_arguments()
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(serve, options)


if __name__ == "__main__":
    main()
