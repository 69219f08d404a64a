"""Alpaca stock stream: parsing and normalisation, and mdc-capture end to end from the local server.

``python -m bench.alpaca [--messages N] [--events N]`` measures two things.

Parsing, best of five in one process, over frames built as Alpaca's stock
stream sends them (JSON arrays of 1 to 40 data points: mostly quotes and
trades, some bars, statuses, LULDs, corrections and cancels; 50 symbols;
prices with cents and sub-penny digits; RFC 3339 times with their trailing
zeros cut, as Go writes them):

* the baseline: ``msgspec.json.Decoder().decode`` of every frame (untyped, to
  dicts and floats), the least any parser pays to read the bytes;
* ``parse_frame``: typed decode into Decimals and mdc events;
* ``AlpacaProtocol.received``: the same plus the protocol's reaction (what
  mdc's WebSocket runner calls for each frame);
* that plus ``encode_event`` of every event (the NDJSON mdc-capture writes).

End to end: the local server (``tests/servers/alpaca.py``) replays a script
of its own synthetic trades and quotes for four symbols (100,000 messages in
frames of 50, made once by ``tests.servers._alpaca_feed.synthetic`` and
repeated) as fast as the client reads, into ``mdc-capture alpaca ...
--backpressure block > /dev/null``. A script, because making the messages one
by one in Python would leave the server the slowest of the two processes. The
rate is the difference between a long and a short run (which removes start-up
and the handshake), best of two; the drops come from ``--status-file`` of the
long runs. The baseline is a bare trio-websocket client (reading as mdc's
runner does) that authenticates, subscribes and decodes every frame to dicts,
against the same server.

Ratios are the baseline's time over the measured one (1.00 = as fast as the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
import trio
from mdc_provider_alpaca.parse import Streams, parse_frame
from mdc_provider_alpaca.protocol import AlpacaProtocol
from trio_websocket import open_websocket_url

from mdc.core.codec import encode_event
from mdc.core.timestamps import from_ns
from mdc.io.feed import MESSAGE_QUEUE, RECEIVE_BYTES
from tests.servers._alpaca_feed import synthetic

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SYMBOLS = [f"S{index:02d}" for index in range(48)] + ["SPY", "BRK.B"]
START_NS = 1_767_623_400_000_000_000
KEY, SECRET = "bench-key", "bench-secret"
CAPTURED = ["SPY", "AAPL", "MSFT", "NVDA"]
SCRIPT_MESSAGES = 100_000


def _time(nanos: int) -> str:
    text = from_ns(nanos)
    fraction = text[20:29].rstrip("0")
    return f"{text[:19]}.{fraction}Z" if fraction else f"{text[:19]}Z"


def _price(cents: int, sub_penny: bool = False) -> str:  # noqa: FBT001, FBT002
    text = f"{cents // 100}.{cents % 100:02d}"
    return text + "25" if sub_penny else text.rstrip("0").rstrip(".")


def _message(rng: random.Random, clock: int, trade_id: int) -> str:
    symbol = rng.choice(SYMBOLS)
    cents = rng.randint(1_000, 60_000)
    head = f'"S":"{symbol}","t":"{_time(clock)}"'
    kind = rng.random()
    if kind < 0.70:
        sides = (
            f'"bx":"V","bp":{_price(cents)},"bs":{rng.randint(1, 9)},"ax":"Q","ap":{_price(cents + rng.randint(1, 5))}'
        )
        return f'{{"T":"q",{head},{sides},"as":{rng.randint(1, 9)},"c":["R"],"z":"C"}}'
    if kind < 0.95:
        price = _price(cents, rng.random() < 0.1)
        return f'{{"T":"t",{head},"i":{trade_id},"x":"V","p":{price},"s":{rng.randint(1, 500)},"c":["@"],"z":"C"}}'
    if kind < 0.98:
        low, high = _price(cents - 7), _price(cents + 9)
        bar = f'"o":{_price(cents)},"h":{high},"l":{low},"c":{_price(cents + 2)},"v":{rng.randint(100, 90_000)}'
        return f'{{"T":"{rng.choice("bud")}",{head},{bar},"n":{rng.randint(1, 900)},"vw":{_price(cents)}1}}'
    if kind < 0.99:
        return f'{{"T":"s",{head},"sc":"H","sm":"Trading Halt","rc":"T12","rm":"","z":"C"}}'
    if kind < 0.995:
        return f'{{"T":"l",{head},"u":{_price(cents + 500)},"d":{_price(cents - 500)},"i":"B","z":"C"}}'
    if kind < 0.998:
        sizes = f'"os":{rng.randint(1, 500)},"cs":{rng.randint(1, 500)}'
        ids = f'"oi":{trade_id - 9},"ci":{trade_id}'
        prices = f'"op":{_price(cents)},"cp":{_price(cents + 1)}'
        return f'{{"T":"c",{head},"x":"M",{ids},{prices},{sizes},"oc":["@"],"cc":["@"],"z":"B"}}'
    return f'{{"T":"x",{head},"i":{trade_id - 3},"x":"D","p":{_price(cents)},"s":100,"a":"C","z":"C"}}'


def frames(messages: int, seed: int = 7) -> list[bytes]:
    """Frames holding ``messages`` messages in all, as the stock stream sends them."""
    rng = random.Random(seed)
    built: list[bytes] = []
    made, clock = 0, START_NS
    while made < messages:
        batch = []
        for _ in range(min(rng.randint(1, 40), messages - made)):
            clock += rng.randint(1, 2_000_000)
            made += 1
            batch.append(_message(rng, clock, made))
        built.append(("[" + ",".join(batch) + "]").encode())
    return built


def _best(work: Callable[[], object], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        timings.append(time.perf_counter() - began)
    return min(timings)


def parsing(messages: int) -> list[tuple[str, str, str]]:
    """Rows for parse and normalise, against a bare decode of the same frames."""
    data = frames(messages)
    streams = Streams.of("sip")
    decoder = msgspec.json.Decoder()
    protocol = AlpacaProtocol(feed="sip", channels=("trades",), key_id="k", secret_key="s")  # noqa: S106 - unused
    events = sum(len(parse_frame(frame, START_NS, streams).events) for frame in data)
    assert events == messages, (events, messages)

    def bare() -> None:
        for frame in data:
            decoder.decode(frame)

    def parsed() -> None:
        for frame in data:
            parse_frame(frame, START_NS, streams)

    def received() -> None:
        for frame in data:
            protocol.received(frame, START_NS)

    def encoded() -> None:
        for frame in data:
            for event in protocol.received(frame, START_NS).events:
                encode_event(event)

    floor = _best(bare)
    rows = [(f"alpaca: bare msgspec decode to dicts, {messages:,} messages", f"{messages / floor:,.0f} msg/s", "1.00")]
    for label, work in (
        ("alpaca: parse_frame (typed decode, Decimals, events)", parsed),
        ("alpaca: AlpacaProtocol.received (what the runner calls)", received),
        ("alpaca:   + encode_event (the NDJSON written)", encoded),
    ):
        seconds = _best(work)
        rows.append((label, f"{messages / seconds:,.0f} msg/s", f"{floor / seconds:.2f}"))
    return rows


@contextmanager
def _server(*arguments: str) -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.servers.alpaca", "--port", "0", "--key", KEY, "--secret", SECRET, *arguments],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _script(path: Path, events: int) -> Path:
    """A server script holding 100,000 synthetic trades and quotes, repeated to cover ``events``."""
    wanted = set(CAPTURED)
    made = list(synthetic({"trades": wanted, "quotes": wanted}, "sip", SCRIPT_MESSAGES, 50, 7))
    repeat = events // SCRIPT_MESSAGES + 1
    path.write_text(f'{{"repeat":{repeat},"frames":[{",".join(made)}]}}')
    return path


def _capture(url: str, events: int, status: Path) -> tuple[float, int]:
    """Seconds of one ``mdc-capture`` run of ``events`` events, and the events it dropped."""
    argv = [str(BIN / "mdc-capture"), "alpaca", *CAPTURED, "--url", url]
    argv += ["--max-events", str(events), "--backpressure", "block", "--status-file", str(status)]
    env = {**os.environ, "APCA_API_KEY_ID": KEY, "APCA_API_SECRET_KEY": SECRET}
    began = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=600)
    seconds = time.perf_counter() - began
    return seconds, int(json.loads(status.read_text())["dropped"])


async def _bare_client(url: str, events: int) -> None:
    decoder = msgspec.json.Decoder()
    async with open_websocket_url(
        url, max_message_size=16 << 20, message_queue_size=MESSAGE_QUEUE, receive_buffer_size=RECEIVE_BYTES
    ) as connection:
        await connection.get_message()
        await connection.send_message(json.dumps({"action": "auth", "key": KEY, "secret": SECRET}))
        await connection.get_message()
        await connection.send_message(json.dumps({"action": "subscribe", "trades": CAPTURED, "quotes": CAPTURED}))
        await connection.get_message()
        seen = 0
        while seen < events:
            seen += len(decoder.decode(await connection.get_message()))


def _bare(url: str, events: int) -> float:
    began = time.perf_counter()
    trio.run(_bare_client, url, events)
    return time.perf_counter() - began


def end_to_end(events: int) -> list[tuple[str, str, str]]:
    """Rows for the local server -> mdc-capture -> /dev/null, against a bare client of the same server."""
    short = max(events // 10, 1_000)
    with tempfile.TemporaryDirectory(prefix="mdc-bench-alpaca-") as work:
        script = _script(Path(work) / "script.json", events)
        status = Path(work) / "status.json"
        with _server("--script", str(script)) as url:
            _capture(url, short, status)  # warm up caches and the server
            long_runs = [_capture(url, events, status) for _ in range(2)]
            short_s = min(_capture(url, short, status)[0] for _ in range(2))
            capture_s = min(seconds for seconds, _ in long_runs) - short_s
            dropped = sum(count for _, count in long_runs)
            bare_s = min(_bare(url, events) for _ in range(2)) - min(_bare(url, short) for _ in range(2))
    measured = events - short
    return [
        ("alpaca e2e: bare trio-websocket client, decode to dicts", f"{measured / bare_s:,.0f} msg/s", "1.00"),
        (
            f"alpaca e2e: mdc-capture --backpressure block > /dev/null, {events:,}",
            f"{measured / capture_s:,.0f} ev/s",
            f"{bare_s / capture_s:.2f}",
        ),
        ("alpaca e2e: events dropped (--status-file, both long runs)", f"{dropped}", ""),
    ]


def run(messages: int = 200_000, events: int = 200_000) -> list[tuple[str, str, str]]:
    """Every row: (what, figure, ratio to its baseline)."""
    return parsing(messages) + end_to_end(events)


def main() -> None:
    """Print the rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.alpaca", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000, help="messages parsed")
    parser.add_argument("--events", type=int, default=200_000, help="events captured end to end")
    parser.add_argument("--skip-e2e", action="store_true", help="parsing only")
    args = parser.parse_args()
    rows = parsing(args.messages) if args.skip_e2e else run(args.messages, args.events)
    width = max(len(row[0]) for row in rows)
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure:>16}  {ratio}")


if __name__ == "__main__":
    main()
