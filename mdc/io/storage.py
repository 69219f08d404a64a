"""The crash-safe store: WAL first, sinks second, commit points, recovery, idempotency.

Everything under ``{root}/.mdc/`` belongs to the store:

* ``lock``: held (flock) by the one process writing the store;
* ``store.json``: the layout, partitioning, format and compression, fixed at creation;
* ``wal/``: the write-ahead log (:mod:`mdc.io.wal`);
* ``commit.msgpack``: the commit point, written atomically;
* ``staging/``: open Parquet partitions, as JSONL, until they are finalised.

**Writing.** A batch of valid events is first checked against the
:class:`~mdc.core.dedup.DedupIndex` (an event already stored is skipped and
counted), then appended to the WAL: before the first event of a commit interval
that goes to a given file, an *open* record notes that file's current length.
Only then do the sinks append, in whole compressed frames.

**Committing.** The sinks end their frames and fsync the files they touched,
the WAL is synced, and the commit point (WAL position + dedup index) is
replaced atomically. WAL segments wholly before it are deleted.

**Recovering.** On start, the records after the commit point are replayed:
each *open* record truncates its file back to the length it had when the
interval began (cutting whatever part of the interval had reached it before
the crash), and the events are appended again. Each event is thus stored
exactly once. A torn WAL tail is cut off and reported; damage anywhere else
stops the store with a message and touches nothing.

**Acknowledging.** An input line is acknowledged once it is on stable storage
as far as the sync mode promises (``every``: fsynced record by record;
``batch``: after the next fsync; ``none``: written to the OS, which survives the
process but not the machine), or once it was rejected or found to be a
duplicate. ``mdc-store --ack-fd N`` writes the count of acknowledged input lines
to descriptor N after each advance.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

import msgspec
import xxhash
from attrs import define, evolve, field, frozen

from mdc.core.codec import decode_line
from mdc.core.dedup import DEFAULT_WINDOW, DedupIndex
from mdc.core.errors import Violation
from mdc.core.events import MarketEvent
from mdc.core.layout import Layout, Partitioning

from .atomic import write_atomically
from .compression import Codec, Compression
from .sinks import Format, Sink, SinkConfig, make_sink
from .wal import KIND_EVENT, KIND_OPEN, Checksum, Position, SyncMode, WalCorrupt, WalWriter, read, tail

STATE_DIR: Final = ".mdc"
STORE_FORMAT_VERSION: Final = 1


class StoreError(Exception):
    """The store cannot be opened or written; the message says where and why."""


@frozen
class StoreConfig:
    """How a store is written.

    Attributes:
        sink: layout, partitioning, format and compression (fixed at creation, but for compression).
        sync: when the WAL is fsynced.
        sync_records: under batch sync, fsync after this many records.
        sync_ms: under batch sync, fsync after this many milliseconds.
        checksum: the WAL record checksum.
        segment_bytes: WAL segment size.
        dedup_window: unsequenced events remembered for idempotency.
        commit_records: commit after this many records.
        commit_seconds: commit after this many seconds.
    """

    sink: SinkConfig = field(factory=SinkConfig)
    sync: SyncMode = SyncMode.BATCH
    sync_records: int = 10_000
    sync_ms: float = 50.0
    checksum: Checksum = Checksum.XXH3
    segment_bytes: int = 64 << 20
    dedup_window: int = DEFAULT_WINDOW
    commit_records: int = 500_000
    commit_seconds: float = 1.0


@define
class Stats:
    """What the store did in this run (for the summary line)."""

    stored: int = 0
    duplicates: int = 0
    recovered: int = 0
    torn_bytes: int = 0
    commits: int = 0


class Store:
    """An open store: one writer, its WAL, its sinks and its commit point.

    Use :meth:`open` (which locks and recovers) and :meth:`close`.
    """

    def __init__(self, root: Path, config: StoreConfig, sink: Sink, lock_fd: int) -> None:
        self.root = root
        self.config = config
        self.sink = sink
        self._lock_fd = lock_fd
        self.state = root / STATE_DIR
        self.stats = Stats()
        self.dedup = DedupIndex(config.dedup_window)
        self.wal: WalWriter | None = None
        self._committed = Position(0, 0)
        self._since_commit = 0
        self._committed_at = time.monotonic()
        self._pending_acks: deque[tuple[Position, int]] = deque()
        self.acknowledged = 0

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, root: Path, config: StoreConfig, clock: Callable[[], int] = time.time_ns) -> Store:
        """Open (or create) a store: check the root, take the lock, recover.

        Args:
            root: the store's root directory.
            config: how to write it.
            clock: the wall clock in ns (for retention); tests pass their own.

        Raises:
            StoreError: the root is a file, cannot be created or written, is
                held by another writer, was created with another layout, or
                its WAL is damaged.
        """
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root}: the store root exists and is not a directory")
        if root.is_dir() and not os.access(root, os.W_OK | os.X_OK):
            raise StoreError(f"{root}: the store root is not writable")
        try:
            (root / STATE_DIR).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StoreError(f"{root}: cannot create the store root: {error.strerror}") from error
        lock_fd = _lock(root)
        try:
            sink_config = _settle_config(root, config.sink)
            store = cls(root, evolve(config, sink=sink_config), make_sink(root, sink_config, clock), lock_fd)
            store._recover()
        except BaseException:
            os.close(lock_fd)
            raise
        return store

    def _recover(self) -> None:
        commit = _read_commit(self.state / "commit.msgpack")
        start = Position(0, 0)
        if commit is not None:
            start, saved = commit
            self.dedup = DedupIndex.from_builtins(saved, self.config.dedup_window)
        wal_dir = self.state / "wal"
        wal_dir.mkdir(exist_ok=True)
        try:
            end, torn = tail(wal_dir, start)  # reads every record first: damage stops us before any file is touched
            replayed = self._replay(wal_dir, start)
        except WalCorrupt as error:
            raise StoreError(
                f"{error}; nothing was changed, the WAL needs attention before the store can go on"
            ) from error
        self.stats.recovered = replayed
        self.stats.torn_bytes = torn
        self.wal = WalWriter(
            wal_dir,
            end,
            checksum=self.config.checksum,
            sync=self.config.sync,
            batch_records=self.config.sync_records,
            batch_ms=self.config.sync_ms,
            segment_bytes=self.config.segment_bytes,
        )
        self._committed = start
        self.sink.recover()
        from .tiering import finish_interrupted  # noqa: PLC0415 - tiering builds on this module

        finish_interrupted(self.root)
        if replayed or torn or commit is None:
            self.commit()

    def _replay(self, wal_dir: Path, start: Position) -> int:
        batch: list[tuple[MarketEvent, bytes]] = []
        replayed = 0
        for record in read(wal_dir, start):
            if record.kind == KIND_OPEN:
                opened = json.loads(record.payload)
                self.sink.truncate(opened["path"], opened["length"])
                continue
            event = decode_line(record.payload).value_or(None)
            if event is None:  # cannot happen for records this code wrote; never guess
                raise StoreError(f"{wal_dir}: a WAL record at {record.end} is not an event")
            self.dedup.admit(*_dedup_key(event, record.payload))
            batch.append((event, record.payload))
            replayed += 1
            if len(batch) >= 4096:
                self.sink.append(batch)
                batch = []
        if batch:
            self.sink.append(batch)
        return replayed

    # ------------------------------------------------------------------ writing

    @property
    def refusal(self) -> Callable[[MarketEvent], Violation | None] | None:
        """What the store's format refuses besides the envelope rules (Parquet: inexact decimals), or None."""
        return self.sink.refusal

    def write(self, accepted: Iterable[tuple[MarketEvent, bytes]], lines_handled: int) -> None:
        """Store a batch of valid events (each with its line as it should be stored).

        Duplicates are skipped and counted; the rest go to the WAL, then to the sinks.

        Args:
            accepted: valid events, in input order.
            lines_handled: the input lines this batch accounts for (stored,
                duplicate or rejected), acknowledged once the batch is durable.
        """
        assert self.wal is not None  # noqa: S101 - set by open()
        fresh: list[tuple[MarketEvent, bytes]] = []
        for event, line in accepted:
            if self.dedup.admit(*_dedup_key(event, line)):
                fresh.append((event, line))
            else:
                self.stats.duplicates += 1
        if fresh:
            records = [(KIND_OPEN, _open_payload(path, length)) for path, length in self.sink.opening(fresh)]
            opens = len(records)
            records += [(KIND_EVENT, line) for _, line in fresh]
            self.wal.append(records)
            if opens and self.config.sync is SyncMode.BATCH:
                # A file's noted length must be on disk before the file grows, or a machine crash could
                # leave appended events that recovery cannot cut back (once per file per commit interval).
                self.wal.sync()
            self.sink.append(fresh)
            self.stats.stored += len(fresh)
            self._since_commit += len(fresh)
        self._pending_acks.append((self.wal.position, lines_handled))
        self._advance_acks()
        if self._since_commit and (
            self._since_commit >= self.config.commit_records
            or time.monotonic() - self._committed_at >= self.config.commit_seconds
        ):
            self.commit()

    def tick(self) -> None:
        """Housekeeping between batches: a due batch sync, a due commit."""
        assert self.wal is not None  # noqa: S101 - set by open()
        self.wal.sync_if_due()
        self._advance_acks()
        if self._since_commit and time.monotonic() - self._committed_at >= self.config.commit_seconds:
            self.commit()

    def _advance_acks(self) -> None:
        assert self.wal is not None  # noqa: S101 - set by open()
        synced = self.wal.synced
        while self._pending_acks and self._pending_acks[0][0] <= synced:
            self.acknowledged += self._pending_acks.popleft()[1]

    def commit(self) -> None:
        """Make everything written durable in the sinks and move the commit point."""
        assert self.wal is not None  # noqa: S101 - set by open()
        self.sink.flush(sync=True)
        self.wal.sync()
        position = self.wal.position
        payload = msgspec.msgpack.encode(
            {
                "version": STORE_FORMAT_VERSION,
                "wal": [position.segment, position.offset],
                "dedup": self.dedup.to_builtins(),
            }
        )
        write_atomically(self.state / "commit.msgpack", payload)
        self._committed = position
        self.wal.delete_before(position)
        self.sink.end_interval()
        self.sink.after_commit()
        self._since_commit = 0
        self._committed_at = time.monotonic()
        self.stats.commits += 1
        self._advance_acks()

    def close(self) -> None:
        """Commit, finalise staged Parquet partitions (the input has ended), release everything (the lock last)."""
        try:
            if self.wal is not None:
                self.commit()
                self.sink.finish()
                self.wal.close()
            self.sink.close()
        finally:
            os.close(self._lock_fd)

    def abandon(self) -> None:
        """Release the lock without committing (after an I/O error; recovery sorts it out next time)."""
        with contextlib.suppress(OSError):
            self.sink.close()
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


def open_existing(root: Path) -> Store:
    """Open a store with the settings it was created with (for maintenance: tier, compact).

    Raises:
        StoreError: there is no store at ``root``, or it cannot be opened.
    """
    path = root / STATE_DIR / "store.json"
    try:
        saved = json.loads(path.read_text())
        sink = SinkConfig(
            layout=Layout(saved["layout"]),
            partitioning=Partitioning(saved["partition"]),
            format=Format(saved["format"]),
            compression=Compression(Codec(saved["compression"]), int(saved["level"])),
            float_prices=bool(saved["float_prices"]),
        )
    except FileNotFoundError:
        raise StoreError(f"{root}: no mdc store here (no {STATE_DIR}/store.json)") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StoreError(f"{path}: cannot read the store settings: {error}") from error
    return Store.open(root, StoreConfig(sink=sink))


def _dedup_key(event: MarketEvent, line: bytes) -> tuple[tuple[str, str, str, str] | None, int | None, int, str]:
    digest = xxhash.xxh3_64_intdigest(line)
    if event.seq is None:
        return None, None, digest, event.ts
    return (event.provider, event.stream, event.symbol, event.TYPE), event.seq, digest, event.ts


def _open_payload(path: str, length: int) -> bytes:
    return json.dumps({"path": path, "length": length}, separators=(",", ":")).encode()


def _lock(root: Path) -> int:
    path = root / STATE_DIR / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise StoreError(
                f"{root}: another mdc-store (pid {holder}) is writing this store; only one may write a store at a time"
            ) from None
        raise
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _settle_config(root: Path, wanted: SinkConfig) -> SinkConfig:
    """Create store.json, or check the store was made with the same layout, partitioning and format.

    Compression may change between runs (new files get the new ending); when
    ``wanted`` leaves it unset (None), the store keeps the one it has.
    """
    path = root / STATE_DIR / "store.json"
    if path.exists():
        try:
            saved = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise StoreError(f"{path}: cannot read the store settings: {error}") from error
        clashes = [
            f"{name} {saved.get(name)} (asked for {value})"
            for name, value in wanted.fixed_settings().items()
            if saved.get(name) != value
        ]
        if clashes:
            raise StoreError(f"{root}: this store was created with " + ", ".join(clashes) + "; use another root")
        if wanted.compression is None:
            try:
                wanted = evolve(wanted, compression=Compression(Codec(saved["compression"]), int(saved["level"])))
            except (KeyError, ValueError, TypeError) as error:
                raise StoreError(f"{path}: cannot read the store's compression: {error}") from error
    if wanted.compression is None:
        wanted = evolve(wanted, compression=Compression(Codec.NONE))
    document = {"format_version": STORE_FORMAT_VERSION, **wanted.settings()}
    write_atomically(path, (json.dumps(document, indent=2) + "\n").encode())
    return wanted


class _Commit(msgspec.Struct):
    version: int
    wal: tuple[int, int]
    dedup: dict[str, object]


def _read_commit(path: Path) -> tuple[Position, dict[str, object]] | None:
    """The committed WAL position and the saved dedup index, or None for a new store."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        commit = msgspec.msgpack.decode(data, type=_Commit)
    except msgspec.DecodeError as error:
        raise StoreError(
            f"{path}: the commit point is damaged ({error}); it is only ever replaced atomically"
        ) from error
    if commit.version != STORE_FORMAT_VERSION:
        raise StoreError(f"{path}: commit point version {commit.version} is not one this mdc reads")
    return Position(*commit.wal), commit.dedup


__all__ = ["STATE_DIR", "Stats", "Store", "StoreConfig", "StoreError", "open_existing"]
