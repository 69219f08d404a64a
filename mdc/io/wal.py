"""The write-ahead log: every event goes here, durably, before any sink sees it.

A WAL is a directory of numbered segment files ``{number:020d}.wal``. A
segment starts with a 16-byte header (``MDCWAL01``, the checksum algorithm,
reserved zeros) and holds records, each framed as::

    u32 little-endian  payload length
    u8                 kind (1 = event line, 2 = file about to be appended to)
    checksum           xxh3-64 of the payload seeded with the kind (8 bytes), or SHA-256 of kind + payload (32)
    payload

Segments rotate by size. A reader stops at the first record whose frame is
incomplete or whose checksum does not match: in the last segment that is a
torn tail from a crash (reported and cut off, never read as data); anywhere
else it is corruption, and the store refuses to go on until someone looks.

Positions are ``(segment, offset)`` pairs; everything before a committed
position has reached the sinks, and whole segments before it are deleted.
"""

from __future__ import annotations

import enum
import hashlib
import os
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import xxhash
from attrs import frozen

MAGIC: Final = b"MDCWAL01"
HEADER_BYTES: Final = 16
DEFAULT_SEGMENT_BYTES: Final = 64 << 20
_LENGTH: Final = struct.Struct("<IB")
KIND_EVENT: Final = 1
KIND_OPEN: Final = 2


class Checksum(enum.Enum):
    """How records are checked."""

    XXH3 = 1
    SHA256 = 2

    @property
    def size(self) -> int:
        """Bytes of the checksum in each record."""
        return 8 if self is Checksum.XXH3 else 32

    def digest(self, kind: int, payload: bytes) -> bytes:
        """The checksum of a record's kind and payload."""
        if self is Checksum.XXH3:
            return xxhash.xxh3_64_digest(payload, seed=kind)  # the kind as seed: no copy of the payload
        return hashlib.sha256(bytes((kind,)) + payload).digest()


class SyncMode(enum.Enum):
    """When the WAL is fsynced (``--sync``)."""

    NONE = "none"
    """Never explicitly: survives the process dying, not the machine."""
    BATCH = "batch"
    """After every N records or T milliseconds, whichever comes first."""
    EVERY = "every"
    """After every record."""


@frozen(order=True)
class Position:
    """A place in the WAL: a segment number and a byte offset in it."""

    segment: int
    offset: int


@frozen
class Record:
    """One record read back.

    Attributes:
        kind: ``KIND_EVENT`` or ``KIND_OPEN``.
        payload: its bytes.
        end: the position just after it.
    """

    kind: int
    payload: bytes
    end: Position


class WalCorrupt(Exception):
    """A record before the last segment's tail is damaged; the store must not guess."""


def segment_path(directory: Path, number: int) -> Path:
    """The file of segment ``number``."""
    return directory / f"{number:020d}.wal"


def segment_numbers(directory: Path) -> list[int]:
    """The segments present, in order."""
    numbers = []
    for path in directory.glob("*.wal"):
        if path.stem.isdigit():
            numbers.append(int(path.stem))
    return sorted(numbers)


class WalWriter:
    """Appends records to the WAL, rotating segments and syncing per the policy.

    Args:
        directory: the WAL directory (created when missing).
        start: the position to append at (the end of the log after recovery).
        checksum: the record checksum for new segments.
        sync: the sync mode.
        batch_records: under ``BATCH``, fsync after this many records.
        batch_ms: under ``BATCH``, fsync when this many milliseconds have passed since the last one.
        segment_bytes: rotate to a new segment beyond this size.
    """

    def __init__(
        self,
        directory: Path,
        start: Position,
        *,
        checksum: Checksum = Checksum.XXH3,
        sync: SyncMode = SyncMode.BATCH,
        batch_records: int = 10_000,
        batch_ms: float = 50.0,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.checksum = checksum
        self.sync_mode = sync
        self.batch_records = batch_records
        self.batch_ms = batch_ms
        self.segment_bytes = segment_bytes
        self._segment = start.segment
        self._fd = -1
        self._offset = 0
        self._open(start)
        self._unsynced = 0
        self._synced_at = time.monotonic()
        self.synced = Position(self._segment, self._offset)
        """Everything before this position is on stable storage (as far as the sync mode promises)."""

    def _open(self, start: Position) -> None:
        path = segment_path(self.directory, start.segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(self._fd).st_size
        if size < HEADER_BYTES:  # new, or created just before a crash that tore its header
            os.ftruncate(self._fd, 0)
            header = MAGIC + bytes([self.checksum.value]) + bytes(HEADER_BYTES - len(MAGIC) - 1)
            _write_all(self._fd, header)
            os.fsync(self._fd)
            _fsync_directory(self.directory)
            size = HEADER_BYTES
        else:
            self.checksum = _read_header(path)
        if size != max(start.offset, HEADER_BYTES):
            os.ftruncate(self._fd, max(start.offset, HEADER_BYTES))
            size = max(start.offset, HEADER_BYTES)
        self._segment = start.segment
        self._offset = size

    @property
    def position(self) -> Position:
        """Where the next record goes."""
        return Position(self._segment, self._offset)

    def append(self, records: list[tuple[int, bytes]]) -> Position:
        """Write records (kind, payload) and sync as the mode says.

        Under ``EVERY`` each record is written and fsynced on its own;
        otherwise the batch is written at once.

        Args:
            records: the records, in order.

        Returns:
            The position after the last record.

        Raises:
            OSError: the write failed (a disk-full error leaves at most a torn
                record at the tail, which recovery cuts off).
        """
        if self._offset >= self.segment_bytes:
            self._rotate()
        frames = [self._frame(kind, payload) for kind, payload in records]
        if self.sync_mode is SyncMode.EVERY:
            for frame in frames:
                _write_all(self._fd, frame)
                os.fsync(self._fd)
                self._offset += len(frame)
            self.synced = self.position
            return self.position
        data = b"".join(frames)
        _write_all(self._fd, data)
        self._offset += len(data)
        self._unsynced += len(frames)
        if self.sync_mode is SyncMode.NONE:
            self.synced = self.position
        elif self._unsynced >= self.batch_records or self._due():
            self.sync()
        return self.position

    def _frame(self, kind: int, payload: bytes) -> bytes:
        return b"".join((_LENGTH.pack(len(payload), kind), self.checksum.digest(kind, payload), payload))

    def _due(self) -> bool:
        return (time.monotonic() - self._synced_at) * 1000 >= self.batch_ms

    def sync_if_due(self) -> bool:
        """Under ``BATCH``, fsync when records wait and the time is up; True when it synced."""
        if self.sync_mode is SyncMode.BATCH and self._unsynced and self._due():
            self.sync()
            return True
        return False

    def sync(self) -> None:
        """Fsync what has been written."""
        if self._unsynced or self.synced != self.position:
            os.fsync(self._fd)
        self._unsynced = 0
        self._synced_at = time.monotonic()
        self.synced = self.position

    def _rotate(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        self._open(Position(self._segment + 1, 0))

    def delete_before(self, position: Position) -> int:
        """Delete the segments entirely before ``position`` (they are committed); returns how many."""
        removed = 0
        for number in segment_numbers(self.directory):
            if number < position.segment and number != self._segment:
                segment_path(self.directory, number).unlink(missing_ok=True)
                removed += 1
        if removed:
            _fsync_directory(self.directory)
        return removed

    def close(self) -> None:
        """Sync and close."""
        if self._fd >= 0:
            self.sync()
            os.close(self._fd)
            self._fd = -1


def read(directory: Path, start: Position) -> Iterator[Record]:
    """Yield the records from ``start`` to the end of the log.

    Stops quietly at a torn or damaged tail of the *last* segment (the caller
    learns where the good data ends from the last record's ``end``, or from
    ``start`` when there is none).

    Args:
        directory: the WAL directory.
        start: where to begin (a committed position).

    Yields:
        Records in order.

    Raises:
        WalCorrupt: a damaged record in a segment that is not the last, or a
            bad segment header.
    """
    numbers = [number for number in segment_numbers(directory) if number >= start.segment]
    for index, number in enumerate(numbers):
        path = segment_path(directory, number)
        last = index == len(numbers) - 1
        offset = start.offset if number == start.segment else HEADER_BYTES
        data = path.read_bytes()
        if len(data) < HEADER_BYTES:
            if last:
                return
            raise WalCorrupt(f"{path}: segment shorter than its header")
        checksum = _checksum_of(data[:HEADER_BYTES], path)
        offset = max(offset, HEADER_BYTES)
        size = checksum.size
        while offset < len(data):
            head = data[offset : offset + 5]
            if len(head) < 5:
                break
            length, kind = _LENGTH.unpack(head)
            body_start = offset + 5 + size
            end = body_start + length
            if end > len(data):
                break
            payload = data[body_start:end]
            if checksum.digest(kind, payload) != data[offset + 5 : body_start] or kind not in (
                KIND_EVENT,
                KIND_OPEN,
            ):
                break
            offset = end
            yield Record(kind, payload, Position(number, offset))
        if offset < len(data) and not last:
            raise WalCorrupt(f"{path}: damaged record at byte {offset} in a segment that is not the last")


def tail(directory: Path, start: Position) -> tuple[Position, int]:
    """Where the good log ends, and how many bytes after it are torn or damaged.

    Args:
        directory: the WAL directory.
        start: a committed position to scan from.

    Returns:
        (end of the last good record, bytes of torn tail in the last segment).
    """
    end = Position(start.segment, max(start.offset, HEADER_BYTES))
    for record in read(directory, start):
        end = record.end
    numbers = segment_numbers(directory)
    if not numbers:
        return Position(start.segment, max(start.offset, HEADER_BYTES)), 0
    last = numbers[-1]
    size = segment_path(directory, last).stat().st_size
    if end.segment < last:
        end = Position(last, HEADER_BYTES)
    return end, max(0, size - max(end.offset, HEADER_BYTES))


def _checksum_of(header: bytes, path: Path) -> Checksum:
    if header[: len(MAGIC)] != MAGIC:
        raise WalCorrupt(f"{path}: not an mdc WAL segment (bad magic)")
    try:
        return Checksum(header[len(MAGIC)])
    except ValueError:
        raise WalCorrupt(f"{path}: unknown checksum algorithm {header[len(MAGIC)]}") from None


def _read_header(path: Path) -> Checksum:
    with path.open("rb") as file:
        return _checksum_of(file.read(HEADER_BYTES), path)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
