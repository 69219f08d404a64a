"""Where rejected lines go: a reject file (JSON records) or stderr (one line each)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, Final

import trio

from mdc.core.pipeline import Reject, describe_reject, encode_reject

STDERR_LIMIT: Final = 100
"""Without a reject file, at most this many rejects are described on stderr."""


class RejectSink:
    """Appends reject records to a file, or describes rejects on stderr.

    Args:
        prog: the command name for stderr lines.
        path: the reject file (appended to, created if missing), or None for stderr.
    """

    def __init__(self, prog: str, path: Path | None) -> None:
        self._prog = prog
        self._path = path
        self._file: BinaryIO | None = None
        self._described = 0

    async def write(self, rejects: list[Reject]) -> None:
        """Record a batch of rejects (flushed before returning)."""
        if not rejects:
            return
        if self._path is None:
            self._describe(rejects)
            return
        data = b"".join(encode_reject(reject) + b"\n" for reject in rejects)
        await trio.to_thread.run_sync(self._append, data)

    def _append(self, data: bytes) -> None:
        if self._file is None:
            assert self._path is not None  # noqa: S101 - write() checked it
            self._file = self._path.open("ab")
        self._file.write(data)
        self._file.flush()

    def _describe(self, rejects: list[Reject]) -> None:
        for reject in rejects:
            self._described += 1
            if self._described <= STDERR_LIMIT:
                sys.stderr.write(f"{self._prog}: {describe_reject(reject)}\n")
            elif self._described == STDERR_LIMIT + 1:
                sys.stderr.write(f"{self._prog}: more rejects not shown; use --rejects FILE to keep them all\n")
        sys.stderr.flush()

    async def close(self) -> None:
        """Close the reject file, if one was opened."""
        if self._file is not None:
            self._file.close()
            self._file = None
