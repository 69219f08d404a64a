"""A local Alpaca stock stream (market data v2) server that speaks the documented protocol.

    python -m tests.servers.alpaca --port 0 --script tests/plugins/alpaca/fixtures/session.json

prints the IEX feed's URL (``ws://127.0.0.1:PORT/v2/iex``) as its first line on
stdout, then says what it does on stderr and, with ``--log FILE``, as JSON lines
(never the secret). It serves ``/v2/iex``, ``/v2/sip``, ``/v2/delayed_sip``,
``/v2/test``, ``/v1beta1/boats`` and ``/v1beta1/overnight``; other paths are refused.

Each connection goes as docs.alpaca.markets ("WebSocket Stream", "Real-time
Stock Data") describes: ``[{"T":"success","msg":"connected"}]``, then
``{"action":"auth","key":..,"secret":..}`` answered ``authenticated`` or error
402 (``--key``/``--secret`` say what is accepted), 404 when no auth comes
within ``--auth-timeout``, 403 for a second auth, 401 for a subscribe before
auth, 400 for what is not a JSON action, 410 for an unknown channel. A
subscribe or unsubscribe is answered with the full ``subscription`` list
(``corrections`` and ``cancelErrors`` follow ``trades``). After the first
subscribe the script is replayed, each frame filtered to the channels and
symbols subscribed at that moment, then ``--messages`` synthetic trades and
quotes (-1: for ever) for the subscribed symbols, ``--batch`` per frame, as
fast as the client reads; on ``/v2/test`` only FAKEPACA is served.

A script is JSON: ``{"frames": [FRAME, ...], "repeat": N}``; a FRAME is a JSON
array of Alpaca messages, ``{"raw": TEXT}`` (sent verbatim) or ``{"sleep": SECONDS}``.

The first ``--scenario-connections`` connections (default: all) can misbehave:

* ``--error CODE``: the server sends that documented error where it belongs (402, 406, 408,
  409, 411 instead of ``authenticated``; 400, 401, 403, 405, 410 instead of a ``subscription``;
  404 right after ``connected``; 407, 500 after ``--error-after`` frames) and closes the
  connection, except after 400, 405 and 410, which leave the session as it was;
* ``--scenario abrupt-close``: after ``--close-after`` frames (default: the whole replay) the
  TCP connection is cut, with no WebSocket close;
* ``--scenario garbage``: frames that are not Alpaca messages come before the replay;
* ``--scenario silent``: after ``--close-after`` frames nothing more is sent and pings go
  unanswered, for ``--silent-for`` seconds, then the connection is cut;
* ``--scenario slow``: the script is sent ``--burst`` times as fast as possible, and the
  connection is cut once a frame waits ``--slow-after`` seconds to go out.

``--max-connections N`` refuses (406, then close) a session beyond N open at once.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import msgspec
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, WebSocketRequest

from tests.servers._alpaca_feed import CHANNELS, FEEDS, Script, filtered, synthetic
from tests.servers._line import Line, serve_websocket

ERRORS = {
    400: "invalid syntax",
    401: "not authenticated",
    402: "auth failed",
    403: "already authenticated",
    404: "auth timeout",
    405: "symbol limit exceeded",
    406: "connection limit exceeded",
    407: "slow client",
    408: "v2 not enabled",
    409: "insufficient subscription",
    410: "invalid subscribe action for this feed",
    411: "insufficient scope",
    500: "internal error",
}
STAGE = {404: "connect", 402: "auth", 406: "auth", 408: "auth", 409: "auth", 411: "auth", 407: "stream", 500: "stream"}
KEEPS_SESSION = (400, 405, 410)
SCENARIOS = ("normal", "abrupt-close", "garbage", "silent", "slow")
GARBAGE: tuple[str | bytes, ...] = (
    "<html>502 Bad Gateway</html>",
    '[{"T":"t","S":"AAPL"',
    '{"T":"t","S":"AAPL","i":1,"x":"V","p":126.55,"s":1,"t":"2021-02-22T15:51:44.208Z"}',
    '[{"T":"zz","S":"AAPL"}]',
    '[{"T":"t","S":"AAPL","i":2,"x":"V","p":"a lot","s":1,"t":"2021-02-22T15:51:44.208Z"}]',
    '[{"T":"q","S":"AAPL","bp":1,"bs":1,"ap":2,"as":1,"t":"yesterday"}]',
    '[{"T":"o","S":"BTC/USD","t":"2021-02-22T15:51:44.208Z","b":[{"p":65128.1,"s":1.6542}],"a":[]}]',
    '[42,{"T":"t","S":"AAPL","i":3,"x":"V","p":126.56,"s":2,"t":"2021-02-22T15:51:44.300Z"}]',
    b"\x00\xffbinary",
)
_OPEN: dict[str, int] = {"authenticated": 0}


def log(options: argparse.Namespace, number: int, what: str, **details: Any) -> None:
    """A line on stderr, and a JSON line in ``--log`` (never a secret)."""
    sys.stderr.write(f"alpaca-server: connection {number}: {what}\n")
    sys.stderr.flush()
    if options.log is not None:
        with options.log.open("a", encoding="utf-8") as stream:
            stream.write(json.dumps({"connection": number, "event": what.split(" ", maxsplit=1)[0], **details}) + "\n")


class Session:
    """One client connection."""

    def __init__(self, options: argparse.Namespace, connection: WebSocketConnection, line: Line, feed: str) -> None:
        self.options = options
        self.connection = connection
        self.line = line
        self.number = line.number
        self.feed = feed
        misbehaves = line.number <= options.scenario_connections
        self.scenario = options.scenario if misbehaves else "normal"
        self.error: int | None = options.error if misbehaves else None
        self.authenticated = False
        self.counted = False
        self.channels: dict[str, set[str]] = {channel: set() for channel in CHANNELS}
        self.subscribed = trio.Event()

    async def send(self, *messages: dict[str, Any]) -> None:
        await self.connection.send_message(json.dumps(list(messages), separators=(",", ":")))

    async def fail(self, code: int) -> None:
        """Send a documented error; close unless the docs say the session goes on."""
        log(self.options, self.number, f"error {code}", code=code)
        await self.send({"T": "error", "code": code, "msg": ERRORS[code]})
        if code not in KEEPS_SESSION:
            await self.connection.aclose()
            raise ConnectionClosed(None)

    async def run(self) -> None:
        log(self.options, self.number, f"connect {self.feed} ({self.scenario})", feed=self.feed)
        await self.send({"T": "success", "msg": "connected"})
        if self.error is not None and STAGE.get(self.error) == "connect":
            await self.fail(self.error)
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self.follow_client, nursery)
                await self.subscribed.wait()
                await self.play()
                await trio.sleep_forever()  # stay open (pings answered) until the client leaves
        finally:
            if self.counted:
                _OPEN["authenticated"] -= 1

    async def follow_client(self, nursery: trio.Nursery) -> None:
        nursery.start_soon(self.auth_deadline)
        while True:
            text = await self.connection.get_message()
            try:
                request = json.loads(text)
            except ValueError:
                request = None
            action = request.get("action") if isinstance(request, dict) else None
            if action == "auth":
                await self.auth(request)  # type: ignore[arg-type]
            elif action in ("subscribe", "unsubscribe"):
                await self.change(action, request)  # type: ignore[arg-type]
            else:
                await self.fail(400)

    async def auth_deadline(self) -> None:
        await trio.sleep(self.options.auth_timeout)
        if not self.authenticated:
            await self.fail(404)

    async def auth(self, request: dict[str, Any]) -> None:
        if self.authenticated:
            await self.fail(403)
            return
        accepted = request.get("key") == self.options.key and request.get("secret") == self.options.secret
        log(self.options, self.number, f"auth {'accepted' if accepted else 'refused'}", accepted=accepted)
        if not accepted:
            await self.fail(402)
        if self.error is not None and STAGE.get(self.error) == "auth":
            await self.fail(self.error)
        if self.options.max_connections is not None and _OPEN["authenticated"] >= self.options.max_connections:
            await self.fail(406)
        self.authenticated = self.counted = True
        _OPEN["authenticated"] += 1
        await self.send({"T": "success", "msg": "authenticated"})

    async def change(self, action: str, request: dict[str, Any]) -> None:
        if not self.authenticated:
            await self.fail(401)
            return
        asked = {key: value for key, value in request.items() if key != "action"}
        if any(key not in CHANNELS or not isinstance(value, list) for key, value in asked.items()):
            await self.fail(410 if all(isinstance(value, list) for value in asked.values()) else 400)
            return
        if self.error is not None and STAGE.get(self.error, "subscribe") == "subscribe":
            await self.fail(self.error)
            return
        log(self.options, self.number, f"{action} {json.dumps(asked, sort_keys=True)}", channels=asked)
        for channel, symbols in asked.items():
            if action == "subscribe":
                self.channels[channel].update(map(str, symbols))
            else:
                self.channels[channel].difference_update(map(str, symbols))
        trades = sorted(self.channels["trades"])
        current = {channel: sorted(symbols) for channel, symbols in self.channels.items()}
        await self.send({"T": "subscription", **current, "corrections": trades, "cancelErrors": trades})
        self.subscribed.set()

    async def play(self) -> None:
        options = self.options
        if self.scenario == "garbage":
            for text in GARBAGE:
                await self.connection.send_message(text)
        sent = 0
        repeat = options.burst if self.scenario == "slow" else options.script.repeat
        frames = itertools.chain(
            (frame for _ in range(repeat) for frame in options.frames),
            synthetic(self.channels, self.feed, options.messages, options.batch, options.seed),
        )
        for frame in frames:
            if self.error is not None and STAGE.get(self.error) == "stream" and sent >= options.error_after:
                await self.fail(self.error)
            if self.scenario in ("abrupt-close", "silent") and sent >= options.close_after:
                break
            if isinstance(frame, dict) and "sleep" in frame:
                await trio.sleep(float(frame["sleep"]))
                continue
            match frame:
                case dict():
                    text = frame.get("raw")
                case bytes():
                    text = filtered(frame, self.channels)
                case _:
                    text = frame  # synthetic, made for these subscriptions
            if text is None:
                continue
            with trio.move_on_after(options.slow_after if self.scenario == "slow" else float("inf")) as scope:
                await self.connection.send_message(text)
            if scope.cancelled_caught:
                log(options, self.number, f"slow client: a frame waited {options.slow_after} s; cutting")
                await self.line.aclose()
                return
            sent += 1
            if options.interval:
                await trio.sleep(options.interval)
        log(options, self.number, f"sent {sent} frames", frames=sent)
        if self.scenario == "silent":
            log(options, self.number, "silent")
            self.line.frozen = True
            with trio.move_on_after(options.silent_for):
                await self.line.cut.wait()
        if self.scenario in ("abrupt-close", "silent"):
            log(options, self.number, "cut")
            await self.line.aclose()


async def serve(options: argparse.Namespace) -> None:
    """Listen and serve until killed."""
    lines: dict[str, Line] = {}

    async def handle(request: WebSocketRequest) -> None:
        path = request.path.split("?")[0].strip("/")
        if path not in FEEDS:
            await request.reject(404, body=b"no such feed\n")
            return
        connection = await request.accept()
        line = lines.pop(str(connection.remote))
        session = Session(options, connection, line, FEEDS[path])
        try:
            await session.run()
        except* (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            log(options, line.number, "closed", authenticated=session.authenticated)

    await serve_websocket(handle, lines, options.host, options.port, "alpaca", "/v2/iex")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m tests.servers.alpaca", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (the URL on stdout says which)")
    parser.add_argument("--script", type=Path, help="the frames to replay after the first subscribe")
    parser.add_argument("--key", default="mdc-test-key", help="the key id accepted")
    parser.add_argument("--secret", default="mdc-test-secret", help="the secret key accepted")
    parser.add_argument("--messages", type=int, default=0, help="synthetic messages after the script (-1: for ever)")
    parser.add_argument("--batch", type=int, default=20, help="synthetic messages per frame")
    parser.add_argument("--seed", type=int, default=0, help="synthetic prices' random seed")
    parser.add_argument("--interval", type=float, default=0.0, metavar="SECONDS", help="pause after each frame")
    parser.add_argument("--scenario", choices=SCENARIOS, default="normal")
    parser.add_argument("--scenario-connections", type=int, default=1 << 30, metavar="N")
    parser.add_argument("--error", type=int, choices=sorted(ERRORS), help="send this error where it belongs")
    parser.add_argument("--error-after", type=int, default=0, metavar="FRAMES", help="407, 500: after this many")
    parser.add_argument("--close-after", type=int, default=1 << 60, metavar="FRAMES")
    parser.add_argument("--max-connections", type=int, metavar="N", help="refuse (406) sessions beyond N at once")
    parser.add_argument("--auth-timeout", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--silent-for", type=float, default=60.0, metavar="SECONDS")
    parser.add_argument("--burst", type=int, default=2000, help="slow: times the script is sent")
    parser.add_argument("--slow-after", type=float, default=1.0, metavar="SECONDS")
    parser.add_argument("--log", type=Path, help="append what happens here, as JSON lines")
    options = parser.parse_args(argv)
    options.script = msgspec.json.decode(options.script.read_bytes(), type=Script) if options.script else Script()
    options.frames = options.script.replayed()
    return options


def main() -> None:
    """Run the server until interrupted."""
    options = parse_arguments()
    with contextlib.suppress(KeyboardInterrupt):
        trio.run(serve, options)


if __name__ == "__main__":
    main()
