"""The thread bridge: ib_async's asyncio loop in one long-lived thread, its output delivered into trio.

ib_async is built on asyncio; mdc is built on trio. Rather than mixing the two
in one thread, the provider runs one asyncio event loop in one thread of its
own (:class:`LoopThread`) for the whole capture, reconnects included, and the
two sides talk in one direction each:

* trio -> asyncio: :meth:`LoopThread.call` (``call_soon_threadsafe``), which
  never blocks the trio side;
* asyncio -> trio: :class:`Outbox`, a ``trio.from_thread.run`` of a bounded
  memory channel's ``send``. It blocks the *asyncio* thread while the channel
  is full, so a slow consumer slows the reading of the TWS socket (TCP pushes
  back on TWS) and nothing is lost or reordered here; what happens when stdout
  cannot keep up is decided further on, by mdc-capture's queue and its
  ``--backpressure`` policy, as for every provider.

Stopping closes the channel's receiving end first (a blocked send then fails
at once instead of waiting for room), then stops the loop and joins the thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

import trio

T = TypeVar("T")


class LoopThread:
    """One thread running an asyncio event loop until :meth:`close`.

    Args:
        name: the thread's name (shows in debuggers and thread dumps).
    """

    def __init__(self, name: str = "mdc-ib") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            self.loop.close()

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def call(self, function: Callable[..., object], *args: object) -> None:
        """Run ``function(*args)`` soon on the loop's thread (returns at once)."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(function, *args)

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run a coroutine on the loop; its future resolves when it ends."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    async def close(self) -> None:
        """Stop the loop (pending tasks are cancelled and awaited) and join the thread, shielded from cancellation."""
        with trio.CancelScope(shield=True):
            self.call(self.loop.stop)
            await trio.to_thread.run_sync(self._thread.join)


class Outbox(Generic[T]):
    """The loop thread's way into trio: blocking sends into a bounded trio memory channel.

    Args:
        send: the channel's sending end (trio side).
        token: the trio run to call into (``trio.lowlevel.current_trio_token()``).
    """

    def __init__(self, send: trio.MemorySendChannel[T], token: trio.lowlevel.TrioToken) -> None:
        self._send = send
        self._token = token
        self.closed = False

    def put(self, message: T) -> bool:
        """Deliver one message, waiting for room (call it from the loop thread only).

        Returns:
            False once the trio side has gone (the message is dropped: nobody reads any more).
        """
        if self.closed:
            return False
        try:
            trio.from_thread.run(self._send.send, message, trio_token=self._token)
        except (trio.RunFinishedError, trio.BrokenResourceError, trio.ClosedResourceError, trio.Cancelled):
            self.closed = True
            return False
        return True
