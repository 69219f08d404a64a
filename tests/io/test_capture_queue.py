"""The capture shell's queue (block and drop-oldest) and its session (status, rejects, symbols, hours)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import trio
import trio.testing
from hypothesis import given
from hypothesis import strategies as st

from mdc.core.events import Integrity, MarketEvent, Trade
from mdc.core.provider import FeedState, ProviderReject, RawLine
from mdc.core.timestamps import from_ns, is_canonical
from mdc.io.capture import DEFAULT_QUEUE, REJECT_PREVIEW, EventQueue, Session
from mdc.io.config import TradingHours

T = TypeVar("T")
Item = MarketEvent | RawLine
NEW_YORK_MONDAY_NOON = int(dt.datetime(2024, 1, 8, 17, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000_000
NEW_YORK_MONDAY_NIGHT = int(dt.datetime(2024, 1, 9, 3, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000_000
SATURDAY_NOON = int(dt.datetime(2024, 1, 13, 17, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000_000


def run(function: Callable[[], Awaitable[T]]) -> T:
    """Run an async test body under trio and return its result."""
    return trio.run(function)


def trade(seq: int, symbol: str = "SPY", provider: str = "alpaca", stream: str = "alpaca.iex") -> Trade:
    ts = from_ns(1_704_724_200_000_000_000 + seq)
    return Trade(
        symbol=symbol,
        ts=ts,
        ts_recv=ts,
        provider=provider,
        stream=stream,
        seq=seq,
        price=Decimal("470.25"),
        size=Decimal(100),
    )


def lines(count: int) -> list[Item]:
    return [str(number).encode() for number in range(count)]


async def take_all(queue: EventQueue) -> list[Item]:
    """Everything the queue gives until it is closed and drained."""
    taken: list[Item] = []
    while batch := await queue.take():
        taken.extend(batch)
    return taken


# ---------------------------------------------------------------- EventQueue: block


def test_the_default_capacity_is_fifty_thousand() -> None:
    """A queue made without arguments holds 50,000 items and blocks."""
    queue = EventQueue()
    assert (queue.capacity, DEFAULT_QUEUE, queue.drop_oldest) == (50_000, 50_000, False)


def test_block_makes_the_producer_wait_when_full() -> None:
    """Under block, a put beyond capacity stops with the queue full and nothing dropped."""

    async def main() -> tuple[int, bool, int]:
        queue = EventQueue(3)
        finished = trio.Event()

        async def produce() -> None:
            await queue.put(lines(5))
            finished.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            await trio.testing.wait_all_tasks_blocked()
            state = (len(queue), finished.is_set(), queue.dropped_total)
            nursery.cancel_scope.cancel()
        return state

    assert run(main) == (3, False, 0)


def test_block_resumes_the_producer_when_the_consumer_takes() -> None:
    """Taking makes room: the waiting producer finishes, and the items come out whole and in order."""

    async def main() -> tuple[list[Item], list[Item], bool]:
        queue = EventQueue(3)
        finished = trio.Event()

        async def produce() -> None:
            await queue.put(lines(5))
            finished.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            await trio.testing.wait_all_tasks_blocked()
            first = await queue.take()
            await trio.testing.wait_all_tasks_blocked()
            second = await queue.take()
        return first, second, finished.is_set()

    assert run(main) == (lines(5)[:3], lines(5)[3:], True)


@given(
    st.integers(min_value=1, max_value=8),
    st.lists(st.integers(min_value=0, max_value=12), max_size=12),
)
def test_block_loses_nothing_and_keeps_order(capacity: int, batch_sizes: list[int]) -> None:
    """Whatever the capacity and batches, a blocking queue hands over every item in order."""
    items = lines(sum(batch_sizes))

    async def main() -> tuple[list[Item], int]:
        queue = EventQueue(capacity)
        taken: list[Item] = []

        async def produce() -> None:
            start = 0
            for size in batch_sizes:
                await queue.put(items[start : start + size])
                start += size
            queue.close()

        async def consume() -> None:
            taken.extend(await take_all(queue))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            nursery.start_soon(produce)
        return taken, queue.dropped_total

    assert run(main) == (items, 0)


def test_take_waits_for_a_put() -> None:
    """take() on an empty queue waits until items arrive."""

    async def main() -> list[Item]:
        queue = EventQueue(10)
        taken: list[Item] = []

        async def consume() -> None:
            taken.extend(await queue.take())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await trio.testing.wait_all_tasks_blocked()
            assert taken == []
            await queue.put(lines(2))
        return taken

    assert run(main) == lines(2)


# ---------------------------------------------------------------- EventQueue: drop-oldest


def test_drop_oldest_never_makes_the_producer_wait() -> None:
    """Under drop-oldest, a put beyond capacity returns at once and the newest items stay."""

    async def main() -> tuple[int, int, list[Item]]:
        queue = EventQueue(3, drop_oldest=True)
        with trio.fail_after(1):
            await queue.put(lines(10))
        return len(queue), queue.dropped_total, await queue.take()

    assert run(main) == (3, 7, lines(10)[7:])


def test_drops_come_out_first_as_integrity_events() -> None:
    """The next take() starts with one `integrity dropped` event whose `received` is the count."""
    trades = [trade(seq) for seq in range(5)]

    async def main() -> list[Item]:
        queue = EventQueue(2, drop_oldest=True)
        await queue.put(trades)
        return await queue.take()

    dropped, *kept = run(main)
    assert kept == trades[3:]
    assert isinstance(dropped, Integrity)
    assert (dropped.kind, dropped.symbol, dropped.provider, dropped.stream) == (
        "dropped",
        "SPY",
        "alpaca",
        "alpaca.iex",
    )
    assert (dropped.expected, dropped.received) == (0, 3)
    assert dropped.description.startswith("3 events dropped")


def test_one_integrity_event_per_provider_stream_and_symbol() -> None:
    """Drops are counted per (provider, stream, symbol), one event each, sorted by that key."""
    trades = [
        trade(1, "SPY"),
        trade(2, "AAPL"),
        trade(3, "SPY"),
        trade(4, "SPY", provider="polygon", stream="polygon.stocks"),
        trade(5, "SPY", stream="alpaca.sip"),
        trade(6, "MSFT"),
    ]

    async def main() -> list[Item]:
        queue = EventQueue(1, drop_oldest=True)
        await queue.put(trades)
        return await queue.take()

    *dropped, kept = run(main)
    assert kept == trades[-1]
    assert [(event.provider, event.stream, event.symbol, event.received) for event in dropped] == [
        ("alpaca", "alpaca.iex", "AAPL", 1),
        ("alpaca", "alpaca.iex", "SPY", 2),
        ("alpaca", "alpaca.sip", "SPY", 1),
        ("polygon", "polygon.stocks", "SPY", 1),
    ]


def test_drops_are_reported_once() -> None:
    """After a take() reported the drops, the next one carries no integrity events."""

    async def main() -> list[Item]:
        queue = EventQueue(1, drop_oldest=True)
        await queue.put([trade(1), trade(2)])
        await queue.take()
        await queue.put([trade(3)])
        return await queue.take()

    assert run(main) == [trade(3)]


def test_dropped_raw_lines_are_counted_but_not_reported() -> None:
    """A raw line has no symbol: dropping it counts in dropped_total without an integrity event."""

    async def main() -> tuple[int, list[Item]]:
        queue = EventQueue(1, drop_oldest=True)
        await queue.put([b"junk", b"more junk"])
        return queue.dropped_total, await queue.take()

    assert run(main) == (1, [b"more junk"])


@given(
    st.integers(min_value=1, max_value=6),
    st.lists(st.tuples(st.sampled_from(["SPY", "AAPL"]), st.sampled_from(["alpaca", "polygon"])), max_size=20),
)
def test_drop_oldest_keeps_the_newest_and_counts_the_rest(capacity: int, keys: list[tuple[str, str]]) -> None:
    """Filling past capacity keeps the last `capacity` items; the counts of what went match the drop events."""
    trades = [trade(seq, symbol, provider, f"{provider}.x") for seq, (symbol, provider) in enumerate(keys)]
    gone = trades[: max(0, len(trades) - capacity)]

    async def main() -> tuple[int, list[Item]]:
        queue = EventQueue(capacity, drop_oldest=True)
        await queue.put(trades)
        queue.close()
        return queue.dropped_total, await take_all(queue)

    dropped_total, taken = run(main)
    reports = [item for item in taken if isinstance(item, Integrity)]
    assert dropped_total == len(gone)
    assert taken[len(reports) :] == trades[len(gone) :]
    assert {(event.provider, event.symbol): event.received for event in reports} == dict(
        Counter((event.provider, event.symbol) for event in gone)
    )


# ---------------------------------------------------------------- EventQueue: close


def test_close_lets_take_drain_then_return_nothing() -> None:
    """After close(), take() still hands over what is left, then returns []."""

    async def main() -> tuple[list[Item], list[Item], list[Item]]:
        queue = EventQueue(10)
        await queue.put(lines(2))
        queue.close()
        return await queue.take(), await queue.take(), await queue.take()

    assert run(main) == (lines(2), [], [])


def test_close_wakes_a_waiting_take() -> None:
    """A take() waiting on an empty queue returns [] when the queue is closed."""

    async def main() -> list[Item] | None:
        queue = EventQueue(10)
        taken: list[list[Item]] = []

        async def consume() -> None:
            taken.append(await queue.take())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await trio.testing.wait_all_tasks_blocked()
            queue.close()
        return taken[0]

    assert run(main) == []


# ---------------------------------------------------------------- Session


class ClockedSession(Session):
    """A session whose clock is set by the test."""

    def __init__(
        self,
        now_ns: int = NEW_YORK_MONDAY_NOON,
        symbols: Sequence[str] = ("SPY", "AAPL"),
        hours: dict[str, TradingHours] | None = None,
        status_file: Path | None = None,
    ) -> None:
        self.said: list[str] = []
        self.clock = now_ns
        super().__init__(symbols, {"alpaca": {"key_id": "AKID"}}, hours or {}, self.said.append, status_file)

    def now_ns(self) -> int:
        return self.clock


def test_report_keeps_each_providers_state_and_reconnects() -> None:
    """Status holds per provider its last state and how often it disconnected."""
    session = ClockedSession()
    for state in (FeedState.CONNECTING, FeedState.CONNECTED, FeedState.DISCONNECTED, FeedState.CONNECTED):
        session.report("alpaca", state)
    session.report("polygon", FeedState.DISCONNECTED, "refused")
    providers = session.status["providers"]
    assert isinstance(providers, dict)
    assert {name: (entry["state"], entry["reconnects"]) for name, entry in providers.items()} == {
        "alpaca": ("connected", 1),
        "polygon": ("disconnected", 1),
    }
    assert providers["polygon"]["detail"] == "refused"
    assert providers["alpaca"]["since"] == from_ns(NEW_YORK_MONDAY_NOON)


def test_report_says_only_connected_authenticated_and_disconnected() -> None:
    """Routine states (connecting, subscribed) are recorded silently; the others make a line."""
    session = ClockedSession()
    for state in FeedState:
        session.report("alpaca", state)
    session.report("alpaca", FeedState.DISCONNECTED, "idle for 30 s")
    assert session.said == [
        "alpaca: connected",
        "alpaca: authenticated",
        "alpaca: disconnected",
        "alpaca: disconnected (idle for 30 s)",
    ]


def test_reject_counts_and_says_the_raw_message() -> None:
    """A reject adds one to the count and writes one line with the reason and the raw message."""
    session = ClockedSession()
    session.reject("alpaca", ProviderReject(raw='{"T":"?"}', reason="unknown message type"))
    assert (session.status["rejects"], session.said) == (
        1,
        ['alpaca: rejected message: unknown message type: {"T":"?"}'],
    )


def test_reject_cuts_a_long_raw_message_at_300_characters() -> None:
    """A raw message over 300 characters is shown as its first 300 and an ellipsis."""
    session = ClockedSession()
    session.reject("alpaca", ProviderReject(raw="x" * 299 + "yz", reason="bad"))
    session.reject("alpaca", ProviderReject(raw="w" * 300, reason="bad"))
    assert REJECT_PREVIEW == 300
    assert session.said == [
        "alpaca: rejected message: bad: " + "x" * 299 + "y...",
        "alpaca: rejected message: bad: " + "w" * 300,
    ]
    assert session.status["rejects"] == 2


def test_reject_escapes_control_characters_so_each_stays_one_line() -> None:
    """A binary or multi-line frame is shown with its control characters escaped, on one line."""
    session = ClockedSession()
    session.reject("polygon", ProviderReject(raw="\x00\x01ab\ncd\ufffd\x1b[31m", reason="not JSON"))
    assert session.said == ["polygon: rejected message: not JSON: \\x00\\x01ab\\ncd\ufffd\\x1b[31m"]


def test_change_symbols_returns_added_and_removed() -> None:
    """A reload says which symbols were added and which removed, sorted, and status follows."""
    session = ClockedSession(symbols=["SPY", "AAPL", "MSFT"])
    assert session.change_symbols(["SPY", "TSLA", "BRK/B"]) == (["BRK/B", "TSLA"], ["AAPL", "MSFT"])
    assert (session.symbols(), session.status["symbols"]) == (
        frozenset({"SPY", "TSLA", "BRK/B"}),
        ["BRK/B", "SPY", "TSLA"],
    )


def test_change_symbols_wakes_a_waiter_with_the_new_symbols() -> None:
    """A task waiting in symbols_changed() gets the new set after a change."""

    async def main() -> frozenset[str]:
        session = ClockedSession()
        seen: list[frozenset[str]] = []

        async def watch() -> None:
            seen.append(await session.symbols_changed())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await trio.testing.wait_all_tasks_blocked()
            session.change_symbols(["SPY", "QQQ"])
        return seen[0]

    assert run(main) == frozenset({"SPY", "QQQ"})


def test_the_same_symbols_are_no_change() -> None:
    """Setting the same symbols returns nothing added or removed and wakes no one."""

    async def main() -> tuple[tuple[list[str], list[str]], bool]:
        session = ClockedSession(symbols=["SPY", "AAPL"])
        woken = trio.Event()

        async def watch() -> None:
            await session.symbols_changed()
            woken.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch)
            await trio.testing.wait_all_tasks_blocked()
            result = session.change_symbols(["AAPL", "SPY"])
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        return result, woken.is_set()

    assert run(main) == (([], []), False)


def test_write_status_writes_the_documented_keys(tmp_path: Path) -> None:
    """The status file is JSON with started, symbols, providers, active, events, dropped, rejects, rate, updated."""
    path = tmp_path / "status.json"
    session = ClockedSession(status_file=path)
    session.report("alpaca", FeedState.CONNECTED)
    session.status["active"] = "alpaca"
    session.write_status(events=1234, dropped=5, rate=812.349)
    status = json.loads(path.read_text())
    assert set(status) == {
        "started",
        "symbols",
        "providers",
        "active",
        "events",
        "dropped",
        "rejects",
        "events_per_s",
        "updated",
    }
    assert (status["symbols"], status["active"], status["events"], status["dropped"], status["rejects"]) == (
        ["AAPL", "SPY"],
        "alpaca",
        1234,
        5,
        0,
    )
    assert (status["events_per_s"], status["updated"]) == (812.3, from_ns(NEW_YORK_MONDAY_NOON))
    assert status["providers"]["alpaca"]["state"] == "connected"
    assert is_canonical(status["started"])


def test_write_status_replaces_the_file_atomically(tmp_path: Path) -> None:
    """A reader of the old file keeps the old whole file; the path shows the new one; no temporary is left."""
    path = tmp_path / "status.json"
    session = ClockedSession(status_file=path)
    session.write_status(events=1, dropped=0, rate=1.0)
    with path.open() as old:
        session.write_status(events=2, dropped=0, rate=2.0)
        assert json.load(old)["events"] == 1
    assert json.loads(path.read_text())["events"] == 2
    assert [entry.name for entry in tmp_path.iterdir()] == ["status.json"]


def test_write_status_without_a_file_only_updates_status(tmp_path: Path) -> None:
    """With no status file, the counters are still updated and nothing is written."""
    session = ClockedSession()
    session.write_status(events=7, dropped=1, rate=0.04)
    assert (session.status["events"], session.status["dropped"], session.status["events_per_s"]) == (7, 1, 0.0)


def test_credentials_are_looked_up_per_provider() -> None:
    """A provider gets its own credentials, and an empty mapping when it has none."""
    session = ClockedSession()
    assert (session.credentials("alpaca"), session.credentials("polygon")) == ({"key_id": "AKID"}, {})


def test_in_session_defaults_to_us_equity_hours() -> None:
    """A symbol without hours is open on a weekday at noon New York time and closed at night and on Saturday."""
    assert [ClockedSession(now).in_session("SPY") for now in (NEW_YORK_MONDAY_NOON, NEW_YORK_MONDAY_NIGHT)] == [
        True,
        False,
    ]
    assert not ClockedSession(SATURDAY_NOON).in_session("SPY")


def test_in_session_uses_the_hours_given() -> None:
    """A symbol's configured hours decide, not the default."""
    hours = {"SPY": TradingHours(open_minute=0, close_minute=60, zone="UTC")}
    assert (ClockedSession(NEW_YORK_MONDAY_NOON, hours=hours).in_session("SPY"), hours["SPY"].is_open(0)) == (
        False,
        True,
    )
    assert ClockedSession(NEW_YORK_MONDAY_NIGHT, hours={"SPY": TradingHours(always=True)}).in_session("SPY")


def test_a_symbol_with_a_slash_is_always_open() -> None:
    """Crypto and FX pairs (`BTC/USD`) are in session at night and on weekends."""
    assert all(ClockedSession(now).in_session("BTC/USD") for now in (NEW_YORK_MONDAY_NIGHT, SATURDAY_NOON))


def test_given_hours_override_the_slash_rule() -> None:
    """A pair with configured hours follows them."""
    hours = {"EUR/USD": TradingHours(open_minute=0, close_minute=60, zone="UTC")}
    assert not ClockedSession(SATURDAY_NOON, hours=hours).in_session("EUR/USD")
