"""Polygon stocks WebSocket parsing and normalisation, against a bare decode of the same bytes.

``python -m bench.polygon [--messages N]`` builds frames as Polygon's stocks
cluster sends them (JSON arrays of 1 to 40 messages: mostly quotes, then
trades, a few second and minute aggregates, 50 symbols, prices with cents and
sub-penny digits) and times, best of three in one process:

* the baseline: ``msgspec.json.Decoder().decode`` of every frame (untyped, to
  dicts and floats) -- the least any parser pays to read the bytes;
* ``parse_frame``: typed decode into Decimals and mdc events;
* ``PolygonProtocol.received``: the same plus the protocol's reaction (what
  mdc's WebSocket runner calls for each frame);
* that plus ``encode_event`` of every event (the NDJSON mdc-capture writes).

The ratio is the baseline's time over the measured one (1.00 = as fast as the
bare decode).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable

import msgspec
from mdc_provider_polygon.parse import parse_frame
from mdc_provider_polygon.protocol import PolygonProtocol

from mdc.core.codec import encode_event

SYMBOLS = [f"S{index:02d}" for index in range(48)] + ["SPY", "BRK.B"]
START_MS = 1_767_623_400_000
STREAM = "polygon.stocks"


def frames(messages: int, seed: int = 7) -> list[bytes]:
    """Frames holding ``messages`` messages in all, as the stocks cluster sends them."""
    rng = random.Random(seed)
    built: list[bytes] = []
    made = 0
    clock = START_MS
    while made < messages:
        batch = []
        for _ in range(min(rng.randint(1, 40), messages - made)):
            clock += rng.randint(0, 3)
            symbol = rng.choice(SYMBOLS)
            cents = rng.randint(10_000, 60_000)
            price, tape, seq = f"{cents // 100}.{cents % 100:02d}", rng.randint(1, 3), rng.randint(1, 10**8)
            kind = rng.random()
            if kind < 0.78:
                ask = cents + rng.randint(1, 5)
                sides = (
                    f'"bx":{rng.randint(1, 21)},"bp":{price},"bs":{rng.randint(1, 9)},'
                    f'"ax":{rng.randint(1, 21)},"ap":{ask // 100}.{ask % 100:02d},"as":{rng.randint(1, 9)}'
                )
                batch.append(f'{{"ev":"Q","sym":"{symbol}",{sides},"c":1,"i":[604],"t":{clock},"q":{seq},"z":{tape}}}')
            elif kind < 0.97:
                sub_penny = price + "25" if rng.random() < 0.2 else price
                trade = (
                    f'"i":"{rng.randint(1, 10**14)}","x":{rng.randint(1, 21)},"p":{sub_penny},'
                    f'"s":{rng.choice((1, 5, 100, 200, 300))},"c":[{rng.choice(("12,37", "14,41", "37"))}]'
                )
                batch.append(f'{{"ev":"T","sym":"{symbol}",{trade},"t":{clock},"q":{seq},"z":{tape}}}')
            else:
                second = clock - clock % 1000
                low = cents - rng.randint(1, 9)
                ohlc = f'"o":{price},"c":{price},"h":{price}9,"l":{low // 100}.{low % 100:02d}'
                extra = f'"av":{rng.randint(10**5, 10**7)},"op":{price},"vw":{price}12,"a":{price}3'
                extra += f',"z":{rng.randint(1, 500)}'
                batch.append(
                    f'{{"ev":"{"A" if kind < 0.99 else "AM"}","sym":"{symbol}","v":{rng.randint(1, 50_000)},{extra},'
                    f'{ohlc},"s":{second},"e":{second + 1000}}}'
                )
        built.append(("[" + ",".join(batch) + "]").encode())
        made += len(batch)
    return built


def best(work: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        times.append(time.perf_counter() - began)
    return min(times)


def run(messages: int = 200_000) -> list[tuple[str, str, str]]:
    """Rows of (what, throughput, ratio to the bare decode measured in this run)."""
    data = frames(messages)
    decoder = msgspec.json.Decoder()
    received_ns = START_MS * 1_000_000

    def bare() -> None:
        for frame in data:
            decoder.decode(frame)

    def parsed() -> None:
        for frame in data:
            parse_frame(frame, received_ns, STREAM)

    def reacted() -> None:
        protocol = PolygonProtocol(api_key="bench", stream=STREAM, channels=("T", "Q"))
        for frame in data:
            protocol.received(frame, received_ns)

    def encoded() -> None:
        protocol = PolygonProtocol(api_key="bench", stream=STREAM, channels=("T", "Q"))
        for frame in data:
            for event in protocol.received(frame, received_ns).events:
                encode_event(event)

    baseline = best(bare)
    rows = [("polygon: msgspec decode of the frames (untyped)", f"{messages / baseline:,.0f} msg/s", "1.00")]
    for label, work in [
        ("polygon: parse_frame (typed, Decimal, mdc events)", parsed),
        ("polygon: PolygonProtocol.received", reacted),
        ("polygon: received + encode_event (NDJSON)", encoded),
    ]:
        seconds = best(work)
        rows.append((label, f"{messages / seconds:,.0f} msg/s", f"{baseline / seconds:.2f}"))
    return rows


def main() -> None:
    """Print the rows as a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.polygon")
    parser.add_argument("--messages", type=int, default=200_000)
    rows = run(parser.parse_args().messages)
    width = max(len(row[0]) for row in rows)
    print(f"{'benchmark':<{width}}  {'throughput':>16}  ratio to bare decode")
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure:>16}  {ratio}")


if __name__ == "__main__":
    main()
