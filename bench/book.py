"""L2 books: the collector (``mdc.core.book``) in one process, and ``mdc-book`` end to end.

``python -m bench.book [--events N] [--skip-e2e]`` makes one depth stream per
depth model with the simulator (``mdc-capture sim SPY AAPL MSFT --depth-model
level|position``, seeded, N events of which its depth and snapshot lines are
kept: about 58% of them depth changes and 0.6% snapshots, on books of 10
levels a side, where half the changes move the best bid or ask), then
measures, for each model:

The collector, best of five in one process, over the decoded events in
batches of 4,000 (about what one 1 MiB read of ``mdc-book`` holds), with the
garbage collector set as ``mdc-book`` sets it:

* the baseline: a bare book, the list and bisect work of every change
  (price levels: a bisection in a sorted list of prices, then an insert, a
  replacement or a removal; positions: a list insert, assignment or
  deletion) and nothing else: no outputs, no checks, one dict of books;
* ``apply`` with a snapshot every 100 events of a book (``--every 100``):
  the changes, a quote whenever the top changes, the snapshots;
* ``apply`` with the default policy, a snapshot whenever anything within the
  top 10 levels changes (on these books: after every change).

The figure is depth changes per second (the snapshots in the stream are
applied too, and not counted).

``mdc-book`` end to end: the file on stdin, the output to /dev/null, best of
three minus the start-up time on empty input (as ``python -m bench`` times
every command), against ``bench.floor`` over the same file (msgspec decode
and re-encode of each line, nothing else); ``bench.floor --typed`` (mdc's
own codec, which every mdc command pays before doing its job) is shown too.

Ratios are the baseline's time over the measured one (1.00 = as fast as the baseline).
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from bench._process import best
from mdc.core.book import BookState, Emission, apply
from mdc.core.codec import decode_fast
from mdc.core.events import Depth, MarketEvent, Snapshot

BIN = Path(sys.executable).parent
SIM = ["SPY", "AAPL", "MSFT", "--seed", "11", "--start", "2026-11-24T14:30:00Z", "--rate", "max"]
MODELS = ("level", "position")
BATCH = 4_000
EVERY = 100


def depth_stream(path: Path, model: str, events: int) -> int:
    """Write the simulator's depth and snapshot lines for ``model`` to ``path``; the number of depth lines."""
    argv = [str(BIN / "mdc-capture"), "sim", *SIM, "--max-events", str(events), "--depth-model", model]
    output = subprocess.run(argv, capture_output=True, check=True).stdout
    kept = [line for line in output.split(b"\n") if line.startswith((b'{"type":"depth"', b'{"type":"snapshot"'))]
    path.write_bytes(b"\n".join(kept) + b"\n")
    return sum(1 for line in kept if line.startswith(b'{"type":"depth"'))


def _bare_book(batches: Sequence[Sequence[MarketEvent]]) -> None:
    """The list and bisect work of every change, nothing else (the baseline)."""
    books: dict[tuple[str, str, str], tuple[list[Decimal], list[Decimal], list[object], list[object]]] = {}
    for batch in batches:
        for event in batch:
            key = (event.provider, event.stream, event.symbol)
            book = books.get(key)
            if book is None:
                book = books[key] = ([], [], [], [])
            if type(event) is Snapshot:
                book[0][:] = sorted(price for price, _ in event.bids)
                book[1][:] = sorted(price for price, _ in event.asks)
                book[2][:] = list(event.bids)
                book[3][:] = list(event.asks)
                continue
            if type(event) is not Depth:
                continue
            bid = event.side == "bid"
            if event.position is None:  # price level: a sorted list of prices, bisected
                prices = book[0] if bid else book[1]
                index = bisect_left(prices, event.price)
                found = index < len(prices) and prices[index] == event.price
                if event.op == "delete" or not event.size:
                    if found:
                        del prices[index]
                elif not found:
                    prices.insert(index, event.price)
            else:  # position: the feed's rows
                rows = book[2] if bid else book[3]
                if event.op == "insert":
                    rows.insert(event.position, (event.price, event.size))
                elif event.op == "update":
                    rows[event.position] = (event.price, event.size)
                else:
                    del rows[event.position]


def _best(work: Callable[[], object], repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        work()
        timings.append(time.perf_counter() - began)
    return min(timings)


def collector(path: Path, model: str, changes: int) -> list[tuple[str, str, str]]:
    """Rows for ``apply`` over one stream, against the bare book."""
    lines = path.read_bytes().split(b"\n")[:-1]
    events: list[MarketEvent] = [event for event in map(decode_fast, lines) if event is not None]
    batches = [events[start : start + BATCH] for start in range(0, len(events), BATCH)]

    def books(emission: Emission) -> Callable[[], object]:
        def run() -> None:
            state = BookState(emission)
            for batch in batches:
                state, _ = apply(state, batch)

        return run

    gc.collect()
    gc.freeze()  # as mdc-book does: the decoded events live through the run, and no cycles are made
    threshold = gc.get_threshold()
    gc.set_threshold(50_000, 20, 10)
    try:
        floor = _best(lambda: _bare_book(batches))
        rows = [(f"book ({model}): bare book, list + bisect only", f"{changes / floor:,.0f} upd/s", "1.00")]
        for label, emission in (
            (f"book ({model}): apply, --every {EVERY}", Emission(every=EVERY)),
            (f"book ({model}): apply, on change (default)", Emission()),
        ):
            seconds = _best(books(emission))
            rows.append((label, f"{changes / seconds:,.0f} upd/s", f"{floor / seconds:.2f}"))
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
    return rows


def end_to_end(path: Path, model: str, changes: int) -> list[tuple[str, str, str]]:
    """Rows for ``mdc-book < path > /dev/null``, against bench.floor over the same file."""
    floor_s = best([sys.executable, "-m", "bench.floor"], path)
    typed_s = best([sys.executable, "-m", "bench.floor", "--typed"], path)
    typed = (f"{changes / typed_s:,.0f} ev/s", f"{floor_s / typed_s:.2f}")
    rows = [
        (f"mdc-book ({model}): floor, msgspec decode+encode", f"{changes / floor_s:,.0f} ev/s", "1.00"),
        (f"mdc-book ({model}):   mdc codec decode+encode", *typed),
    ]
    for label, options in (
        (f"mdc-book ({model}) --every {EVERY}", ["--every", str(EVERY)]),
        (f"mdc-book ({model}), on change (default)", []),
    ):
        seconds = best([str(BIN / "mdc-book"), "-q", *options], path)
        rows.append((label, f"{changes / seconds:,.0f} ev/s", f"{floor_s / seconds:.2f}"))
    return rows


def run(events: int = 400_000, *, e2e: bool = True) -> list[tuple[str, str, str]]:
    """Every row: (what, figure, ratio to its baseline)."""
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="mdc-bench-book-") as work:
        for model in MODELS:
            path = Path(work) / f"depth-{model}.ndjson"
            changes = depth_stream(path, model, events)
            rows += collector(path, model, changes)
            if e2e:
                rows += end_to_end(path, model, changes)
    return rows


def main() -> None:
    """Print the rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=400_000, help="simulator events per stream (about 58%% depth)")
    parser.add_argument("--skip-e2e", action="store_true", help="the collector only")
    args = parser.parse_args()
    rows = run(args.events, e2e=not args.skip_e2e)
    width = max(len(row[0]) for row in rows)
    print(f"{'benchmark':<{width}}  {'throughput':>16}  ratio to baseline")
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure:>16}  {ratio}")


if __name__ == "__main__":
    main()
