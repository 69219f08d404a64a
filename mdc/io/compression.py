"""Reading plain, gzip and Zstandard files as a stream of decompressed chunks, damage included.

The standard readers (``gzip.open``, zstandard's ``stream_reader``) throw away
what they decompressed from a read that runs into a torn end. Here each
compressed frame (gzip member, zstd frame) is decompressed as its bytes arrive,
so every complete frame, and whatever decompresses of a torn last one, is
handed over before the damage is reported. Files written in frames at each
flush (as the store will) therefore lose at most their last, unfinished frame.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, Protocol

import zstandard

CHUNK_BYTES: Final = 1 << 20
SUFFIXES: Final = (".gz", ".zst")


class DamagedStream(Exception):
    """The compressed data ends in the middle of a frame, or is corrupt."""


class _Decompressor(Protocol):
    @property
    def eof(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, /) -> bytes: ...


def _gzip() -> _Decompressor:
    return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)


def _zstd() -> _Decompressor:
    decompressor: _Decompressor = zstandard.ZstdDecompressor().decompressobj()
    return decompressor


def read_chunks(path: Path, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the decompressed contents of a file in chunks, by its name's ending.

    Args:
        path: a file; ``.gz`` and ``.zst`` are decompressed, anything else read as is.
        size: how much compressed input to read at a time.

    Yields:
        Decompressed bytes, in order.

    Raises:
        DamagedStream: after yielding all that could be recovered, when the data
            is corrupt or ends inside a frame.
        OSError: the file cannot be read.
    """
    new: Callable[[], _Decompressor] | None = (
        _gzip if path.name.endswith(".gz") else _zstd if path.name.endswith(".zst") else None
    )
    with path.open("rb") as file:
        if new is None:
            while chunk := file.read(size):
                yield chunk
            return
        decompressor = new()
        pending = False
        while raw := file.read(size):
            data = raw
            while data:
                try:
                    out = decompressor.decompress(data)
                except (zlib.error, zstandard.ZstdError) as error:
                    raise DamagedStream(f"corrupt compressed data ({error})") from error
                if out:
                    yield out
                if decompressor.eof:
                    data = decompressor.unused_data
                    decompressor = new()
                    pending = False
                else:
                    data = b""
                    pending = True
        if pending:
            raise DamagedStream("the compressed data ends in the middle of a frame (torn write?)")
