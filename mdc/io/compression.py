"""Compressed store files: codecs and profiles, frame-wise appending, damage-tolerant reading, recompression.

Every compressed file is a sequence of complete frames (gzip members, zstd
frames, lz4 frames; each format reads concatenated frames as one stream).
:class:`FramedAppender` writes one frame per flush, so the file's length after
a flush is a frame boundary: a crash loses at most the frame being written, and
truncating back to a recorded length leaves a readable file.

The standard readers (``gzip.open``, zstandard's ``stream_reader``) throw away
what they decompressed from a read that runs into a torn end. :func:`read_chunks`
decompresses each frame as its bytes arrive, so every complete frame, and
whatever decompresses of a torn last one, is handed over before the damage is
reported.
"""

from __future__ import annotations

import contextlib
import enum
import os
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Final, Protocol

import lz4.frame
import xxhash
import zstandard
from attrs import Factory, field, frozen

from .atomic import atomic_write_path

CHUNK_BYTES: Final = 1 << 20
FRAME_BYTES: Final = 4 << 20
"""How much input :func:`recompress` puts in one frame."""


class Codec(enum.Enum):
    """A compression format, by the name ``--compress`` takes."""

    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"
    LZ4 = "lz4"

    @property
    def ending(self) -> str:
        """The file name ending of a store file in this format (``.jsonl.zst`` ...)."""
        return ".jsonl" + _EXTENSIONS[self]


_EXTENSIONS: Final = MappingProxyType({Codec.NONE: "", Codec.GZIP: ".gz", Codec.ZSTD: ".zst", Codec.LZ4: ".lz4"})
SUFFIXES: Final = (".gz", ".zst", ".lz4")
"""Name endings that :func:`read_chunks` decompresses."""
DEFAULT_LEVELS: Final = MappingProxyType({Codec.NONE: 0, Codec.GZIP: 6, Codec.ZSTD: 3, Codec.LZ4: 1})
LEVELS: Final = MappingProxyType(
    # lz4 levels 0-2 are all its fast mode, 3-16 its high-compression mode.
    {Codec.NONE: range(0, 1), Codec.GZIP: range(1, 10), Codec.ZSTD: range(1, 23), Codec.LZ4: range(0, 17)}
)
"""The levels each codec accepts."""


def codec_of(path: Path) -> Codec:
    """The format of a file, by its name's ending (``.gz``, ``.zst``, ``.lz4``, anything else plain).

    Args:
        path: a file name.

    Returns:
        Its codec.
    """
    return next((codec for codec, ext in _EXTENSIONS.items() if ext and path.name.endswith(ext)), Codec.NONE)


def _default_level(compression: Compression) -> int:
    return DEFAULT_LEVELS[compression.codec]


def _check_level(compression: Compression, _: object, level: int) -> None:
    levels = LEVELS[compression.codec]
    if level not in levels:
        raise ValueError(f"{compression.codec.value} level must be {levels.start}..{levels.stop - 1} (got {level})")


@frozen
class Compression:
    """A codec and its level (the codec's default level when left out).

    Attributes:
        codec: the format.
        level: how hard to compress, in the codec's own scale (``none`` takes 0).

    Raises:
        ValueError: the level is outside the codec's range.
    """

    codec: Codec
    level: int = field(default=Factory(_default_level, takes_self=True), validator=_check_level)

    @property
    def ending(self) -> str:
        """The file name ending of files written this way."""
        return self.codec.ending

    def __str__(self) -> str:
        return self.codec.value if self.codec is Codec.NONE else f"{self.codec.value}-{self.level}"


PROFILES: Final[Mapping[str, Compression]] = MappingProxyType(
    {
        "realtime": Compression(Codec.LZ4, 1),
        "warm": Compression(Codec.ZSTD, 6),
        "cold": Compression(Codec.ZSTD, 19),
        "high-volume": Compression(Codec.ZSTD, 3),
        "portable": Compression(Codec.GZIP, 6),
    }
)
"""Named codec and level pairs for ``--profile``."""
PROFILE_DESCRIPTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "realtime": "lz4-1: the least CPU per event; for live capture on a busy machine",
        "warm": "zstd-6: smaller files at a moderate CPU cost; for recent days still read often",
        "cold": "zstd-19: the smallest files, slow to write, fast to read; for archiving finished days",
        "high-volume": "zstd-3: a good ratio at line rate; for capturing many busy symbols",
        "portable": "gzip-6: readable by every tool (zcat, pandas, spark) without extra libraries",
    }
)


class BadCompression(ValueError):
    """The codec, level and profile asked for are unknown, out of range or disagree."""


def parse_compression(codec: str | None, level: int | None, profile: str | None) -> Compression:
    """The compression that ``--compress``, ``--level`` and ``--profile`` ask for.

    A profile may be combined with ``--compress`` and ``--level`` only when they
    name the profile's own codec and level. With nothing given, files are plain.

    Args:
        codec: ``none``, ``gzip``, ``zstd`` or ``lz4``, or None.
        level: the codec's level, or None for its default.
        profile: a name from :data:`PROFILES`, or None.

    Returns:
        The compression to write with.

    Raises:
        BadCompression: an unknown name, a level out of range, or a profile that
            the other options contradict (the message lists the choices).

    >>> str(parse_compression("zstd", None, None)), str(parse_compression(None, None, "cold"))
    ('zstd-3', 'zstd-19')
    """
    chosen = None if codec is None else _codec(codec)
    if profile is not None:
        if profile not in PROFILES:
            choices = "; ".join(f"{name} ({text})" for name, text in PROFILE_DESCRIPTIONS.items())
            raise BadCompression(f"unknown profile {profile!r}; choose from {choices}")
        wanted = PROFILES[profile]
        if (chosen is not None and chosen is not wanted.codec) or (level is not None and level != wanted.level):
            asked = " ".join(
                f"--{name} {value}" for name, value in (("compress", codec), ("level", level)) if value is not None
            )
            raise BadCompression(
                f"--profile {profile} means {wanted} and cannot be combined with {asked};"
                " give either the profile or --compress/--level"
            )
        return wanted
    if chosen is None:
        if level is not None:
            raise BadCompression(f"--level {level} needs --compress gzip, zstd or lz4 (or a --profile)")
        return Compression(Codec.NONE)
    if chosen is Codec.NONE and level is not None:
        raise BadCompression(f"--compress none takes no --level (got {level})")
    try:
        return Compression(chosen) if level is None else Compression(chosen, level)
    except ValueError as error:
        raise BadCompression(str(error)) from error


def _codec(name: str) -> Codec:
    try:
        return Codec(name)
    except ValueError:
        choices = ", ".join(codec.value for codec in Codec)
        raise BadCompression(f"unknown compression {name!r}; choose from {choices}") from None


# ---------------------------------------------------------------- writing


def _frame(compression: Compression, data: bytes) -> bytes:
    """One complete frame holding ``data``, with its format's integrity check."""
    match compression.codec:
        case Codec.NONE:
            return data
        case Codec.GZIP:
            # wbits 31 writes a gzip member (mtime 0, no name), which gzip.compress also does.
            return zlib.compress(data, compression.level, wbits=31)
        case Codec.ZSTD:
            # A fresh context per frame: a kept level-19 context holds tens of MiB per open file,
            # and one-shot compression lets zstd size its tables to the frame.
            frame: bytes = zstandard.ZstdCompressor(level=compression.level, write_checksum=True).compress(data)
            return frame
        case Codec.LZ4:
            # lz4 frames have no checksum unless asked; without one corruption decompresses silently.
            frame = lz4.frame.compress(data, compression_level=compression.level, content_checksum=True)
            return frame


class FramedAppender:
    """Appends to a file in complete frames: one gzip member, zstd frame or lz4 frame per flush.

    Data passed to :meth:`write` is held in memory until :meth:`flush`, which
    compresses it as one frame and appends that with ``O_APPEND`` writes. Bytes
    already in the file are never rewritten, so a file that ends with complete
    frames stays one readable stream. Memory holds the data since the last
    flush. Not thread-safe: use one appender from one thread at a time. As a
    context manager it closes (flushing) on the way out, except when the block
    raised: then the pending frame is dropped.

    Args:
        path: the file (created when missing; its directory must exist). Readers
            pick the codec by the name's ending, so name it with :attr:`Compression.ending`.
        compression: how to write.

    Raises:
        OSError: the file cannot be opened.
    """

    def __init__(self, path: Path, compression: Compression) -> None:
        self.path = path
        self.compression = compression
        self._pending: list[bytes] = []
        self._buffered = 0
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)

    def __enter__(self) -> FramedAppender:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if error is not None:
            # The block failed: its unfinished frame is dropped, like an aborted transaction.
            self._pending.clear()
            self._buffered = 0
        self.close()

    @property
    def buffered(self) -> int:
        """How many bytes were written since the last flush (held in memory)."""
        return self._buffered

    def write(self, data: bytes) -> None:
        """Add data to the current frame; nothing reaches the file before :meth:`flush`.

        Args:
            data: bytes to store (lines with their newlines, for a store).

        Raises:
            ValueError: the appender is closed.
        """
        self._check_open()
        if data:
            self._pending.append(data)
            self._buffered += len(data)

    def flush(self) -> None:
        """End the current frame and append it to the file (nothing happens when no data is pending).

        On a failed write the file is cut back to where the frame began, when it
        can be, and the data stays pending so a later flush can retry it.

        Raises:
            OSError: the frame could not be written.
            ValueError: the appender is closed.
        """
        fd = self._check_open()
        if not self._pending:
            return
        frame = _frame(self.compression, b"".join(self._pending))
        start = os.fstat(fd).st_size
        try:
            view = memoryview(frame)
            while view:
                view = view[os.write(fd, view) :]
        except OSError:
            # Leave the file ending on a frame boundary if we can; the caller gets the original error.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
        self._pending.clear()
        self._buffered = 0

    def size(self) -> int:
        """The file's size in bytes: a frame boundary, unless a failed flush could not be undone.

        Raises:
            OSError: the file cannot be examined.
            ValueError: the appender is closed.
        """
        return os.fstat(self._check_open()).st_size

    def sync(self) -> None:
        """Make what was flushed durable (``fsync``); pending data is not flushed by this.

        Raises:
            OSError: the file system reports an error.
            ValueError: the appender is closed.
        """
        os.fsync(self._check_open())

    def close(self) -> None:
        """Flush the pending frame and close the file (without fsync; call :meth:`sync` first for that).

        Closing twice does nothing. The file is closed even when the flush fails.

        Raises:
            OSError: the last frame could not be written.
        """
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _check_open(self) -> int:
        if self._fd is None:
            raise ValueError(f"{self.path}: the appender is closed")
        return self._fd


# ---------------------------------------------------------------- reading


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


def _lz4() -> _Decompressor:
    decompressor: _Decompressor = lz4.frame.LZ4FrameDecompressor()
    return decompressor


_READERS: Final[Mapping[Codec, Callable[[], _Decompressor]]] = MappingProxyType(
    {Codec.GZIP: _gzip, Codec.ZSTD: _zstd, Codec.LZ4: _lz4}
)
# lz4.frame reports every LZ4F error (bad magic, bad checksum, bad block) as a RuntimeError.
_CORRUPT: Final = (zlib.error, zstandard.ZstdError, RuntimeError)


def read_chunks(path: Path, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the decompressed contents of a file in chunks, by its name's ending.

    Args:
        path: a file; ``.gz``, ``.zst`` and ``.lz4`` are decompressed, anything else read as is.
        size: how much compressed input to read at a time.

    Yields:
        Decompressed bytes, in order.

    Raises:
        DamagedStream: after yielding all that could be recovered, when the data
            is corrupt or ends inside a frame.
        OSError: the file cannot be read.
    """
    new = _READERS.get(codec_of(path))
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
                except _CORRUPT as error:
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


# ---------------------------------------------------------------- recompression


@frozen
class ContentDigest:
    """What a file holds once decompressed, to compare files across codecs.

    Attributes:
        records: how many lines (a last line without its newline counts too).
        checksum: the xxh3_64 of the decompressed bytes.
    """

    records: int
    checksum: int


class _Digester:
    def __init__(self) -> None:
        self._hash = xxhash.xxh3_64()
        self._newlines = 0
        self._last = b"\n"

    def update(self, data: bytes) -> None:
        if data:
            self._hash.update(data)
            self._newlines += data.count(b"\n")
            self._last = data[-1:]

    def digest(self) -> ContentDigest:
        return ContentDigest(self._newlines + (self._last != b"\n"), int(self._hash.intdigest()))


def content_digest(path: Path) -> ContentDigest:
    """Count the lines of a file and checksum its decompressed contents.

    Args:
        path: a plain or compressed file.

    Returns:
        Its digest (equal for files holding the same bytes, whatever their codec).

    Raises:
        DamagedStream: the file is corrupt or torn.
        OSError: the file cannot be read.
    """
    digester = _Digester()
    for chunk in read_chunks(path):
        digester.update(chunk)
    return digester.digest()


def recompress(src: Path, dst: Path, target: Compression) -> ContentDigest:
    """Write the contents of ``src`` to ``dst`` in another codec, atomically and in constant memory.

    ``dst`` is written under a temporary name in its directory, in frames of
    :data:`FRAME_BYTES` of input, fsynced, and renamed into place (replacing any
    file there); on any error it is left as it was. ``src`` may be ``dst``.

    Args:
        src: the file to read.
        dst: the file to write; its name must end as ``target`` writes.
        target: the codec and level to write with.

    Returns:
        The digest of what was written (compare it with :func:`content_digest` of ``src``).

    Raises:
        ValueError: ``dst``'s name does not match ``target``.
        DamagedStream: ``src`` is corrupt or torn (nothing is written).
        OSError: reading or writing failed.
    """
    if codec_of(dst) is not target.codec:
        raise ValueError(f"{dst}: a {target} file needs a name ending in {target.ending}")
    digester = _Digester()
    with atomic_write_path(dst) as temp, FramedAppender(temp, target) as appender:
        for chunk in read_chunks(src, size=1 << 18):
            digester.update(chunk)
            view = memoryview(chunk)
            while view:
                room = FRAME_BYTES - appender.buffered
                appender.write(bytes(view[:room]))
                view = view[room:]
                if appender.buffered >= FRAME_BYTES:
                    appender.flush()
        appender.flush()
        appender.sync()
    return digester.digest()
