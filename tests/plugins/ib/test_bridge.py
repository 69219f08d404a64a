"""The thread bridge: the asyncio loop thread -> trio, in order, with backpressure, and clean stops."""

from __future__ import annotations

import threading

import pytest
import trio
from mdc_provider_ib.bridge import LoopThread, Outbox

from tests.plugins.ib._support import trio_test

pytestmark = pytest.mark.timeout(30)


def _produce(outbox: Outbox[int], count: int, results: list[bool]) -> None:
    results.extend(outbox.put(number) for number in range(count))


@trio_test
async def test_messages_arrive_in_order() -> None:
    """Messages put on the loop thread arrive in trio in the order they were put."""
    thread = LoopThread()
    send, receive = trio.open_memory_channel[int](4)
    results: list[bool] = []
    try:
        thread.call(_produce, Outbox(send, trio.lowlevel.current_trio_token()), 500, results)
        received = [await receive.receive() for _ in range(500)]
    finally:
        await thread.close()
    assert received == list(range(500))
    assert results == [True] * 500


@trio_test
async def test_slow_consumer_holds_the_loop_thread_not_trio() -> None:
    """With a full channel the loop thread waits; trio keeps running other tasks and nothing is lost."""
    thread = LoopThread()
    send, receive = trio.open_memory_channel[int](2)
    ticks = 0
    results: list[bool] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.sleep(0.001)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            thread.call(_produce, Outbox(send, trio.lowlevel.current_trio_token()), 50, results)
            received = []
            for _ in range(50):
                await trio.sleep(0.002)  # a slow consumer
                received.append(await receive.receive())
            nursery.cancel_scope.cancel()
    finally:
        await thread.close()
    assert received == list(range(50))
    assert ticks >= 50  # trio was never blocked while the producer waited


@trio_test
async def test_closing_the_channel_frees_a_blocked_producer() -> None:
    """A producer blocked on a full channel is released when trio closes it: put says False, no deadlock."""
    thread = LoopThread()
    send, receive = trio.open_memory_channel[int](1)
    results: list[bool] = []
    thread.call(_produce, Outbox(send, trio.lowlevel.current_trio_token()), 10, results)
    assert await receive.receive() == 0
    await trio.sleep(0.05)  # the producer is now blocked on the full channel
    receive.close()
    with trio.fail_after(5):
        await thread.close()
    assert results[:2] == [True, True]
    assert results[2:] == [False] * 8


@trio_test
async def test_close_joins_the_thread_even_when_cancelled() -> None:
    """LoopThread.close stops the loop and joins its thread inside a cancelled scope."""
    before = threading.active_count()
    thread = LoopThread()
    with trio.CancelScope() as scope:
        scope.cancel()
        await thread.close()
    assert not thread.alive
    assert thread.loop.is_closed()
    assert threading.active_count() == before
