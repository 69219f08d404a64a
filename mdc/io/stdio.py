"""Standard input and output for trio commands, without making the descriptors non-blocking.

Reads and writes run in trio's worker threads with plain blocking ``os.read``
and ``os.write``. That works the same for pipes, terminals and regular files
(epoll refuses regular files) and never flips ``O_NONBLOCK`` on a descriptor
that the shell and the other processes of the pipeline share. With chunks of a
megabyte the thread hop costs well under a microsecond per line.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Final

import trio

from mdc.core.framing import DEFAULT_MAX_LINE_BYTES, Frame, Framer, feed, finish

CHUNK_BYTES: Final = 1 << 20
STDIN: Final = 0
STDOUT: Final = 1


async def read_chunks(fd: int = STDIN, size: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """Yield chunks read from a descriptor until end of input.

    A pending read is abandoned when the caller is cancelled (Ctrl-C), so an idle
    ``stdin`` never keeps the command alive.

    Args:
        fd: the descriptor to read.
        size: the largest chunk.

    Yields:
        Non-empty chunks in order.
    """
    while True:
        chunk = await trio.to_thread.run_sync(os.read, fd, size, abandon_on_cancel=True)
        if not chunk:
            return
        yield chunk


async def read_frames(
    fd: int = STDIN, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, size: int = CHUNK_BYTES
) -> AsyncIterator[list[Frame]]:
    """Yield batches of framed lines (see :mod:`mdc.core.framing`) until end of input.

    Args:
        fd: the descriptor to read.
        max_line_bytes: longer lines come out as :class:`~mdc.core.framing.Oversize`.
        size: the largest chunk read at once.

    Yields:
        Batches of frames; the last one holds the unterminated tail, if any.
    """
    framer = Framer(max_line_bytes=max_line_bytes)
    async for chunk in read_chunks(fd, size):
        framer, frames = feed(framer, chunk)
        if frames:
            yield frames
    tail = finish(framer)
    if tail:
        yield tail


def write_all_blocking(fd: int, data: bytes | memoryview) -> None:
    """Write every byte, looping over short writes.

    Raises:
        BrokenPipeError: the reader went away (``| head``).
        OSError: any other write error (disk full ...).
    """
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class Output:
    """Buffered output to a descriptor, written from a worker thread.

    Writes are never abandoned: a cancelled caller still waits for the bytes it
    handed over to be written, so Ctrl-C loses nothing already produced.
    """

    def __init__(self, fd: int = STDOUT, buffer_bytes: int = 1 << 20) -> None:
        self._fd = fd
        self._parts: list[bytes] = []
        self._size = 0
        self._limit = buffer_bytes

    async def write(self, data: bytes) -> None:
        """Queue ``data`` and write out when the buffer is full."""
        if not data:
            return
        self._parts.append(data)
        self._size += len(data)
        if self._size >= self._limit:
            await self.flush()

    async def flush(self) -> None:
        """Write everything queued; shielded from cancellation."""
        if not self._parts:
            return
        data = b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(write_all_blocking, self._fd, data)
